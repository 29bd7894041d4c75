"""Where an F&O write meets the ERP's business logic: the one call site into ``sandbox.erp_logic``.

The service itself maintains only what the OData layer maintains in the real product (the
contact person's ``LastEditDateTime`` and computed name). Everything an integration sees the
ERP *decide* — a new order's status, line amounts, tax, charges, header totals, cascading
deletes — is ``sandbox.erp_logic``'s, called here inside the write's transaction.
"""

from __future__ import annotations

from typing import Any

from sandbox import erp_logic
from sandbox.schema import Entity
from sandbox.store import utc_now


def run(stage: str, service: Any, entity: Entity, before: dict | None, values: dict | None) -> dict | None:
    """Apply the rules of one write stage: ``create``/``update`` return the values to store;
    ``created``/``updated``/``delete``/``deleted`` are side effects inside the same transaction."""
    if stage in ("create", "update"):
        values = dict(values or {})
        _service_fields(entity, before, values)
    out = getattr(erp_logic, f"finops_{stage}")(service.store, entity.set_name, before, values)
    if stage in ("create", "update") and out is not None:
        values = out
    return values


def _service_fields(entity: Entity, before: dict | None, values: dict[str, Any]) -> None:
    if entity.set_name != "ContactPersons":
        return
    values["LastEditDateTime"] = utc_now()
    if "FirstName" in values or "LastName" in values or before is None:
        first = values.get("FirstName", (before or {}).get("FirstName")) or ""
        last = values.get("LastName", (before or {}).get("LastName")) or ""
        values["ContactPersonName"] = f"{first} {last}".strip() or None
