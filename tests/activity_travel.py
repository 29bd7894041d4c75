"""Did a day of ``p2c sandbox activity`` reach the other system? Read through both systems' APIs.

``untravelled(sandbox, changes)`` takes the day's change log (the last entry of the sandbox's
``activity.json``) and returns what has not travelled, per kind of change (empty lists: all did):

* new CRM accounts exist as ERP customers, new CRM orders as ERP sales orders;
* CRM edits of an account's phone and city are the ERP customer's;
* ERP edits of a customer's credit limit (a field the ERP owns) are the CRM account's;
* orders the ERP invoiced are ``Invoiced`` in the CRM, with the ERP's totals.

Edits made on both sides the same day (the log's conflicts) settle by the merge rules, not by
travelling, and an account deactivated that day may be held back: both are left out.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import quote

CRM_TO_ERP_FIELDS = {"telephone1": "PrimaryContactPhone", "address1_city": "AddressCity"}
ERP_TO_CRM_FIELDS = {"CreditLimit": "creditlimit"}


def erp_rows(http, collection: str, flt: str) -> list[dict]:
    response = http.get(f"{collection}?cross-company=true&$filter={quote(flt)}")
    response.raise_for_status()
    return response.json()["value"]


def erp_has(http, collection: str, key_field: str, value: str) -> bool:
    return len(erp_rows(http, collection, f"{key_field} eq '{_literal(value)}'")) == 1


def crm_rows(http, entity_set: str, flt: str) -> list[dict]:
    response = http.get(f"{entity_set}?$filter={quote(flt)}")
    response.raise_for_status()
    return response.json()["value"]


def _literal(value: str) -> str:
    return value.replace("'", "''")


def _last_edits(changes: list[dict], system: str, entity_set: str, fields: dict[str, str]) -> dict[tuple, Any]:
    """``{(company, natural key, field): value}``: the day's last plain edit of each field."""
    held = {(c["company"], c["natural_key"]) for c in changes if c.get("conflict") or c["action"] == "deactivate"}
    edits = {}
    for c in changes:
        if c["system"] == system and c["entity_set"] == entity_set and c["action"] == "update":
            for field, value in (c.get("fields") or {}).items():
                if field in fields and (c["company"], c["natural_key"]) not in held:
                    edits[(c["company"], c["natural_key"], field)] = value
    return edits


def untravelled(sandbox, changes: list[dict]) -> dict[str, list]:
    """What of the day's ``changes`` the other system does not hold (see the module docstring)."""
    created: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for c in changes:
        created[(c["entity_set"], c["action"])].append(c)
    missing: dict[str, list] = {}
    with sandbox.client("erp") as erp, sandbox.client("crm") as crm:
        missing["new accounts"] = [c["natural_key"] for c in created[("accounts", "create")]
                                   if not erp_has(erp, "CustomersV3", "CustomerAccount", c["natural_key"])]
        missing["new orders"] = [c["natural_key"] for c in created[("salesorders", "create")]
                                 if not erp_has(erp, "CDSSalesOrderHeaders", "SalesOrderNumber", c["natural_key"])]
        missing["CRM account edits"] = []
        for (company, number, field), value in _last_edits(changes, "crm", "accounts", CRM_TO_ERP_FIELDS).items():
            rows = erp_rows(erp, "CustomersV3", f"dataAreaId eq '{company}' and CustomerAccount eq '{_literal(number)}'")
            if [r[CRM_TO_ERP_FIELDS[field]] for r in rows] != [value]:
                missing["CRM account edits"].append((company, number, field, value, rows[:1]))
        missing["ERP customer edits"] = []
        for (company, number, field), value in _last_edits(changes, "erp", "CustomersV3", ERP_TO_CRM_FIELDS).items():
            rows = crm_rows(crm, "accounts", f"accountnumber eq '{_literal(number)}'")
            if [float(r[ERP_TO_CRM_FIELDS[field]] or 0) for r in rows] != [float(value)]:
                missing["ERP customer edits"].append((company, number, field, value, rows[:1]))
        missing["invoiced orders"] = []
        for c in created[("CDSSalesOrderHeaders", "invoice")]:
            for order in crm_rows(crm, "salesorders", f"ordernumber eq '{_literal(c['natural_key'])}'"):
                if order["p2c_processingstatus"] != "Invoiced" or not (order["totalamount"] or 0) > 0:
                    missing["invoiced orders"].append((c["natural_key"], order["p2c_processingstatus"],
                                                       order["totalamount"]))
    return missing
