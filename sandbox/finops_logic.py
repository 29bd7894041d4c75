"""Where an F&O write meets the ERP's business logic: the one call site into ``sandbox.erp_logic``.

The service itself maintains only what the OData layer maintains in the real product (the
contact person's ``LastEditDateTime`` and computed name). Everything an integration sees the
ERP *decide* — a new order's status, line amounts, tax, charges, header totals, cascading
deletes — is ``sandbox.erp_logic``'s, called here inside the write's transaction.
"""

from __future__ import annotations

import importlib
from typing import Any

from sandbox.schema import Entity
from sandbox.store import utc_now


def _erp_logic():
    try:
        return importlib.import_module("sandbox.erp_logic")
    except ModuleNotFoundError as exc:  # the demo-data area ships it; the service still serves without it
        if exc.name != "sandbox.erp_logic":
            raise
        return None


def run(stage: str, service: Any, entity: Entity, before: dict | None, values: dict | None) -> dict | None:
    """Apply the rules of one write stage; ``create``/``update`` return the values to store."""
    if stage in ("create", "update"):
        values = dict(values or {})
        _service_fields(entity, before, values)
    logic = _erp_logic()
    hook = getattr(logic, f"finops_{stage}", None) if logic else None
    if hook is not None:
        out = hook(service.store, entity.set_name, before, values)
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
