"""One HTTP request per planned record: method, URL, conditional headers and body.

Dataverse: every write is a ``PATCH`` to the record's key URL (the GUID, or the alternate key),
which is an upsert, so a retried or resumed create never duplicates a record. ``If-Match: <etag>``
guards updates (a record changed since extraction answers 412 instead of being overwritten),
``If-None-Match: *`` makes a create-only write refuse an existing record.

F&O has no upsert: a create is a ``POST`` to the collection with the full key in the body; the
executor tolerates "already exists" on a retried attempt (the first attempt went through) by
turning it into a ``PATCH``. Updates are ``PATCH`` with ``If-Match``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reverse_etl.keys import crm_key_segment, erp_key_segment
from reverse_etl.plan import WriteRow

# Dataverse entity set → primary key column (fact sheet §4); used for $select and lookups
CRM_PRIMARY_KEYS: dict[str, str] = {
    "accounts": "accountid",
    "contacts": "contactid",
    "products": "productid",
    "pricelevels": "pricelevelid",
    "productpricelevels": "productpricelevelid",
    "quotes": "quoteid",
    "quotedetails": "quotedetailid",
    "salesorders": "salesorderid",
    "salesorderdetails": "salesorderdetailid",
    "invoices": "invoiceid",
    "invoicedetails": "invoicedetailid",
    "transactioncurrencies": "transactioncurrencyid",
    "uoms": "uomid",
    "uomschedules": "uomscheduleid",
    "systemusers": "systemuserid",
    "businessunits": "businessunitid",
}

# Dataverse state for a deactivated record when the model gives no explicit payload
CRM_INACTIVE = {"statecode": 1, "statuscode": 2}


@dataclass
class Operation:
    """A request for one record, relative to the service root, plus bookkeeping for the executor."""

    row: WriteRow
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    kind: str  # 'create' | 'update' | 'deactivate' | 'create_as_update' (F&O "exists" on retry)
    tries: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def system(self) -> str:
        return self.row.target_system


def crm_primary_key(entity_set: str) -> str:
    return CRM_PRIMARY_KEYS.get(entity_set) or entity_set.rstrip("s") + "id"


def _without_keys(payload: dict[str, Any], key: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in key}


def build_crm(row: WriteRow, key: dict[str, Any], mode: str) -> Operation:
    """``key`` is ``row.target_key`` with references already resolved to GUIDs."""
    path = crm_key_segment(row.target_set, key)
    headers: dict[str, str] = {"Content-Type": "application/json"}
    # alternate-key columns come from the URL; repeating them in the body is not allowed on update
    body = _without_keys(dict(row.payload), key)
    if row.operation == "create":
        # ask for the new GUID back so children and couplings need no extra lookup
        headers["Prefer"] = "return=representation"
        path += f"?$select={crm_primary_key(row.target_set)}"
        if mode == "create_only":
            headers["If-None-Match"] = "*"
    else:
        # never let an update or deactivation create a record: If-Match always
        headers["If-Match"] = row.etag or "*"
        if row.operation == "deactivate" and not body:
            body = dict(CRM_INACTIVE)
    return Operation(row=row, method="PATCH", path=path, headers=headers, body=body, kind=row.operation)


def build_erp(row: WriteRow, mode: str) -> Operation:
    key = row.target_key
    headers: dict[str, str] = {"Content-Type": "application/json"}
    if row.operation == "create":
        body = {**key, **_without_keys(dict(row.payload), key)}
        return Operation(row=row, method="POST", path=row.target_set, headers=headers, body=body, kind="create")
    headers["If-Match"] = row.etag or "*"
    return Operation(
        row=row,
        method="PATCH",
        path=erp_key_segment(row.target_set, key),
        headers=headers,
        body=_without_keys(dict(row.payload), key),
        kind=row.operation,
    )


def erp_create_as_update(op: Operation) -> Operation:
    """The retry of a F&O create whose first attempt already went through: a guarded PATCH."""
    key = op.row.target_key
    return Operation(
        row=op.row,
        method="PATCH",
        path=erp_key_segment(op.row.target_set, key),
        headers={"Content-Type": "application/json", "If-Match": "*"},
        body=_without_keys(dict(op.row.payload), key),
        kind="create_as_update",
        tries=op.tries,
    )
