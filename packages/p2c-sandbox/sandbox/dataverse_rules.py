"""What the Dataverse service does to a row on write, independent of HTTP.

Payload checks (types, max length, required columns), computed columns (``fullname``; line
``baseamount``/``extendedamount``; header totals from lines), ``statecode``/``statuscode`` pairs
and the defaults of a new row (state, owner). Errors are :class:`DataverseError`, rendered by the
app as ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Any

from sandbox.odata_http import ServiceError
from sandbox.schema import Col, Entity

NAMESPACE = "Microsoft.Dynamics.CRM"

# codes the service uses (see shared/api/dataverse.md §3)
VALIDATION = "0x80044331"
ODATA = "0x80060888"
NOT_EXIST = "0x80040217"
DUPLICATE_KEY = "0x80060892"
DUPLICATE_ID = "0x80040237"
EXPIRED_VERSION = "0x80044352"

# store meta: the systemuser calling the API (the integration's application user), who owns the
# rows it creates without an owner
DEFAULT_OWNER_META = "crm_default_owner"


class DataverseError(ServiceError):
    """A Dataverse refusal: ``code`` is its hex error code."""


def bad(message: str, code: str = ODATA) -> DataverseError:
    return DataverseError(400, code, message)


# Valid (statecode → statuscodes) per entity set; the first status is the state's default.
STATES: dict[str, dict[int, tuple[int, ...]]] = {
    "accounts": {0: (1,), 1: (2,)},
    "contacts": {0: (1,), 1: (2,)},
    "transactioncurrencies": {0: (1,), 1: (2,)},
    "uomschedules": {0: (1,), 1: (2,)},
    "products": {0: (1,), 1: (2,), 2: (0,), 3: (3,)},
    "pricelevels": {0: (100001,), 1: (100002,)},
    "quotes": {0: (1, 2), 1: (2, 3), 2: (4,), 3: (5, 6, 7)},
    "salesorders": {0: (1, 2), 1: (3,), 2: (4,), 3: (100001, 100002), 4: (100003,)},
    "invoices": {0: (1, 2, 4, 5, 6), 1: (3,), 2: (100001, 100002), 3: (100003,)},
}
STATE_NAMES: dict[str, tuple[str, ...]] = {
    "products": ("Active", "Retired", "Draft", "UnderRevision"),
    "quotes": ("Draft", "Active", "Won", "Closed"),
    "salesorders": ("Active", "Submitted", "Canceled", "Fulfilled", "Invoiced"),
    "invoices": ("Active", "Closed", "Paid", "Canceled"),
}

# SystemRequired / ApplicationRequired columns a create must set (documented in shared/api)
REQUIRED: dict[str, tuple[str, ...]] = {
    "accounts": ("name",),
    "contacts": ("lastname",),
    "products": ("name", "productnumber", "_defaultuomid_value", "_defaultuomscheduleid_value"),
    "pricelevels": ("name", "_transactioncurrencyid_value"),
    "productpricelevels": ("_pricelevelid_value", "_productid_value", "_uomid_value", "amount"),
    "quotes": ("name", "_customerid_value"),
    "salesorders": ("name", "_customerid_value"),
    "invoices": ("name", "_customerid_value"),
    "quotedetails": ("_quoteid_value", "quantity"),
    "salesorderdetails": ("_salesorderid_value", "quantity"),
    "invoicedetails": ("_invoiceid_value", "quantity"),
    "transactioncurrencies": ("currencyname", "isocurrencycode"),
    "uoms": ("name", "_uomscheduleid_value"),
    "uomschedules": ("name",),
}

LINES = {"quotedetails": "quotes", "salesorderdetails": "salesorders", "invoicedetails": "invoices"}
HEADER_LOOKUP = {"quotedetails": "_quoteid_value", "salesorderdetails": "_salesorderid_value",
                 "invoicedetails": "_invoiceid_value"}


def coerce(e: Entity, col: Col, value: Any) -> Any:
    """A JSON value checked against the column's type, in the store's form."""
    if value is None:
        return None
    t = col.type
    try:
        if t == "string":
            if not isinstance(value, str):
                raise TypeError
            if col.max_length and len(value) > col.max_length:
                raise bad(
                    f"A validation error occurred. The length of the '{col.name}' attribute of the '{e.type_name}' "
                    f"entity exceeded the maximum allowed length of '{col.max_length}'.",
                    VALIDATION,
                )
            return value
        if t == "guid":
            return str(uuid.UUID(value)) if isinstance(value, str) else _type_error()
        if t in ("int", "bigint"):
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    return int(value)
                raise TypeError
            return value
        if t == "decimal":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError
            return float(value)
        if t == "bool":
            if not isinstance(value, bool):
                raise TypeError
            return value
        if t == "datetime":
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=timezone.utc)
            return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if t == "date":
            return date.fromisoformat(value[:10]).isoformat()
    except DataverseError:
        raise
    except (TypeError, ValueError, AttributeError):
        pass
    edm = {"string": "Edm.String", "guid": "Edm.Guid", "int": "Edm.Int32", "bigint": "Edm.Int64",
           "decimal": "Edm.Decimal", "bool": "Edm.Boolean", "datetime": "Edm.DateTimeOffset", "date": "Edm.Date"}[t]
    raise bad(f"Cannot convert the literal '{value}' to the expected type '{edm}'.")


def _type_error() -> Any:
    raise TypeError


def check_state(e: Entity, row: dict[str, Any], changes: dict[str, Any]) -> None:
    """Fill or check ``statecode``/``statuscode`` so they form a valid pair (mutates ``changes``)."""
    states = STATES.get(e.set_name)
    if not states or ("statecode" not in changes and "statuscode" not in changes):
        return
    state = changes.get("statecode", row.get("statecode"))
    status = changes.get("statuscode")
    if "statecode" in changes and status is None:
        if state not in states:
            raise bad(f"{state} is not a valid state code on {e.type_name}.", VALIDATION)
        changes["statuscode"] = states[state][0]
        return
    if "statecode" not in changes:  # status alone: the state follows from it
        for s, statuses in states.items():
            if status in statuses:
                changes["statecode"] = s
                return
        raise bad(f"{status} is not a valid status code on {e.type_name}.", VALIDATION)
    if state not in states or status not in states[state]:
        names = STATE_NAMES.get(e.set_name, ("Active", "Inactive"))
        sname = names[state] if isinstance(state, int) and 0 <= state < len(names) else str(state)
        raise bad(
            f"{status} is not a valid status code for state code {e.type_name.capitalize()}State.{sname} "
            f"on {e.type_name}.",
            VALIDATION,
        )


def check_required(e: Entity, row: dict[str, Any]) -> None:
    for name in REQUIRED.get(e.set_name, ()):
        if row.get(name) in (None, ""):
            shown = name[1:-6] if name.startswith("_") and name.endswith("_value") else name
            raise bad(
                f"A validation error occurred. The value for the required attribute '{shown}' of the "
                f"'{e.type_name}' entity must be provided.",
                VALIDATION,
            )


def computed(e: Entity, row: dict[str, Any], changes: dict[str, Any]) -> None:
    """Set the computed columns of a row being written (mutates ``changes``)."""
    merged = {**row, **changes}
    if e.set_name == "contacts" and ({"firstname", "lastname"} & changes.keys() or not row):
        changes["fullname"] = " ".join(p for p in (merged.get("firstname"), merged.get("lastname")) if p) or None
    if e.set_name in LINES:
        qty = merged.get("quantity") or 0.0
        price = merged.get("priceperunit") or 0.0
        base = round(qty * price, 4)
        changes["baseamount"] = base
        changes["extendedamount"] = round(base - (merged.get("manualdiscountamount") or 0.0) + (merged.get("tax") or 0.0), 4)


def header_totals(lines: list[dict[str, Any]], header: dict[str, Any]) -> dict[str, Any]:
    """Totals of a quote/order/invoice from its lines, as the service recalculates them."""
    detail = round(sum((ln["baseamount"] or 0.0) - (ln["manualdiscountamount"] or 0.0) for ln in lines), 4)
    tax = round(sum(ln["tax"] or 0.0 for ln in lines), 4)
    total = round(detail - (header.get("discountamount") or 0.0) + (header.get("freightamount") or 0.0) + tax, 4)
    return {"totallineitemamount": detail, "totaltax": tax, "totalamount": total}


# instance annotations (Prefer: odata.include-annotations)
FORMATTED = "OData.Community.Display.V1.FormattedValue"
LOOKUP_LOGICAL = "Microsoft.Dynamics.CRM.lookuplogicalname"
ASSOCIATED_NAV = "Microsoft.Dynamics.CRM.associatednavigationproperty"
