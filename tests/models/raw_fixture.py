"""Typed raw tables per the naming contract, for building the dbt models without a sandbox.

Creates ``crm_raw``/``erp_raw`` tables the way dlt names and types them (snake_case of the API
names, ``odata_etag``, ``_p2c_deleted`` on CRM rows) from the sandbox's catalogue, and inserts
rows given with API field names.
"""

from __future__ import annotations

import itertools
from typing import Any

from dlt.common.normalizers.naming.snake_case import NamingConvention

from sandbox.schema import CRM, ERP

_naming = NamingConvention()
_TYPES = {
    "guid": "varchar",
    "string": "varchar",
    "enum": "varchar",
    "int": "bigint",
    "bigint": "bigint",
    "decimal": "double",
    "bool": "boolean",
    "datetime": "timestamp with time zone",
    "date": "date",
}
_ids = itertools.count(1)


def snake(name: str) -> str:
    return _naming.normalize_identifier(name)


def _catalogue(system: str):
    return CRM if system == "crm" else ERP


def create_raw_schema(conn) -> None:
    """Create every raw table of both systems, empty."""
    for system in ("crm", "erp"):
        conn.execute(f"create schema if not exists {system}_raw")
        for entity in _catalogue(system).values():
            cols = [f'"{snake(c.name)}" {_TYPES[c.type]}' for c in entity.columns]
            cols += ["odata_etag varchar", "_p2c_invalid varchar"]
            if system == "crm":
                cols.append("_p2c_deleted boolean")
            cols += ["_dlt_load_id varchar", "_dlt_id varchar"]
            table = f"{system}_raw.{_naming.normalize_table_identifier(entity.set_name)}"
            conn.execute(f"create table if not exists {table} ({', '.join(cols)})")


def insert(conn, system: str, set_name: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows given with API names (``dataAreaId``, ``_customerid_value``)."""
    table = f"{system}_raw.{_naming.normalize_table_identifier(set_name)}"
    for row in rows:
        values = {snake(k): v for k, v in row.items()}
        values.setdefault("odata_etag", f'W/"{next(_ids)}"')
        values.setdefault("_dlt_id", f"id{next(_ids)}")
        cols = ", ".join(f'"{c}"' for c in values)
        marks = ", ".join("?" for _ in values)
        conn.execute(f"insert into {table} ({cols}) values ({marks})", list(values.values()))


# --- a small world with one record of every awkward case ------------------------------------

BU_ROOT, BU_US, BU_EU = "bu-root", "bu-us", "bu-eu"
USD, EUR, XBT = "cur-usd", "cur-eur", "cur-xbt"
EACH, BOX, UNIT_GROUP = "uom-each", "uom-box", "uom-group"
PL_USD, PL_EUR = "pl-usd", "pl-eur"
T0 = "2026-01-05T10:00:00Z"


def _account(aid: str, number: str | None, name: str, **extra) -> dict:
    row = {
        "accountid": aid,
        "accountnumber": number,
        "name": name,
        "address1_country": "United States",
        "address1_city": "Seattle",
        "creditlimit": 1000.0,
        "paymenttermscode": 1,
        "_transactioncurrencyid_value": USD,
        "_owningbusinessunit_value": BU_US,
        "statecode": 0,
        "modifiedon": T0,
    }
    row.update(extra)
    return row


def _customer(account: str, name: str, company: str = "usmf", **extra) -> dict:
    row = {
        "dataAreaId": company,
        "CustomerAccount": account,
        "PartyNumber": f"PTY-{account}",
        "OrganizationName": name,
        "SalesCurrencyCode": "USD",
        "PaymentTerms": "Net30",
        "CreditLimit": 1000.0,
        "OnHoldStatus": "No",
        "AddressCity": "Seattle",
        "AddressCountryRegionISOCode": "US",
        "CustomerGroupId": "10",
        "IsExternallyMaintained": "Yes",
    }
    row.update(extra)
    return row


def load_scenario(conn) -> None:
    """Reference data, then one record per case (see tests/models/test_dbt_build.py)."""
    create_raw_schema(conn)
    insert(conn, "crm", "businessunits", [
        {"businessunitid": BU_ROOT, "name": "Contoso"},
        {"businessunitid": BU_US, "name": "Contoso US", "_parentbusinessunitid_value": BU_ROOT},
        {"businessunitid": BU_EU, "name": "Contoso Europe", "_parentbusinessunitid_value": BU_ROOT},
    ])
    insert(conn, "crm", "transactioncurrencies", [
        {"transactioncurrencyid": USD, "currencyname": "US Dollar", "isocurrencycode": "USD"},
        {"transactioncurrencyid": EUR, "currencyname": "Euro", "isocurrencycode": "EUR"},
        {"transactioncurrencyid": XBT, "currencyname": "Bitcoin", "isocurrencycode": "XBT"},
    ])
    insert(conn, "crm", "uomschedules", [{"uomscheduleid": UNIT_GROUP, "name": "Default Unit"}])
    insert(conn, "crm", "uoms", [
        {"uomid": EACH, "name": "Each", "_uomscheduleid_value": UNIT_GROUP, "quantity": 1.0},
        {"uomid": BOX, "name": "Box", "_uomscheduleid_value": UNIT_GROUP, "quantity": 12.0},
    ])
    insert(conn, "crm", "pricelevels", [
        {"pricelevelid": PL_USD, "name": "Standard USD", "_transactioncurrencyid_value": USD},
        {"pricelevelid": PL_EUR, "name": "Standard EUR", "_transactioncurrencyid_value": EUR},
    ])
    insert(conn, "crm", "accounts", [
        _account("a-1", "ACC-00001", "Equal Corp"),
        _account("a-2", "ACC-00002", "Differ Corp (CRM name)", creditlimit=5000.0),
        _account("a-3", "ACC-00003", "New In CRM Ltd"),
        _account("a-4", None, "No Number Inc"),
        _account("a-5a", "ACC-00005", "Twin One"),
        _account("a-5b", "ACC-00005", "Twin Two"),
        _account("a-6", "ACC-00006", "Crypto GmbH", _transactioncurrencyid_value=XBT),
        _account("a-7", "ACC-00007", "Lost City Co", address1_country="Atlantis"),
        _account("a-8", "ACC-00008", "Root Owned", _owningbusinessunit_value=BU_ROOT),
        _account("a-10", "ACC-00010", "Gone Corp", _p2c_deleted=True),
    ])
    insert(conn, "erp", "LegalEntities", [
        {"LegalEntityId": "usmf", "Name": "Contoso US", "AccountingCurrency": "USD"},
        {"LegalEntityId": "demf", "Name": "Contoso Europe", "AccountingCurrency": "EUR"},
    ])
    insert(conn, "erp", "UnitsOfMeasure", [
        {"UnitSymbol": s, "UnitDescription": s} for s in ("ea", "box", "pallet")
    ])
    insert(conn, "erp", "CustomersV3", [
        _customer("ACC-00001", "Equal Corp"),
        _customer("ACC-00002", "Differ Corp (ERP name)", CreditLimit=7500.0),
        _customer("ACC-00009", "Only In ERP"),
        _customer("ACC-00010", "Gone Corp"),
    ])
    insert(conn, "crm", "contacts", [
        {"contactid": "c-1", "p2c_contactnumber": "CON-00001", "firstname": "Ada", "lastname": "Lovelace",
         "_parentcustomerid_value": "a-1", "_owningbusinessunit_value": BU_US, "statecode": 0},
        {"contactid": "c-2", "p2c_contactnumber": "CON-00002", "firstname": "Orphan", "lastname": "Child",
         "_parentcustomerid_value": "a-6", "_owningbusinessunit_value": BU_US, "statecode": 0},
    ])
    insert(conn, "crm", "products", [
        {"productid": "p-1", "productnumber": "P-0001", "name": "Widget", "standardcost": 4.0,
         "_defaultuomid_value": EACH, "_defaultuomscheduleid_value": UNIT_GROUP, "statecode": 0},
    ])
    insert(conn, "crm", "productpricelevels", [
        {"productpricelevelid": "ppl-1", "_pricelevelid_value": PL_USD, "_productid_value": "p-1",
         "_uomid_value": EACH, "amount": 10.0},
    ])
    insert(conn, "erp", "ReleasedProductsV2", [
        {"dataAreaId": "usmf", "ItemNumber": "P-0001", "ProductNumber": "P-0001", "ProductName": "Widget",
         "SalesUnitSymbol": "ea", "SalesPrice": 10.0, "UnitCost": 4.0, "IsSalesProhibited": "No"},
        {"dataAreaId": "demf", "ItemNumber": "P-0001", "ProductNumber": "P-0001", "ProductName": "Widget DE",
         "SalesUnitSymbol": "ea", "SalesPrice": 9.5, "UnitCost": 4.0, "IsSalesProhibited": "No"},
        {"dataAreaId": "usmf", "ItemNumber": "P-0002", "ProductNumber": "P-0002", "ProductName": "Gadget",
         "SalesUnitSymbol": "box", "SalesPrice": 120.0, "UnitCost": 60.0, "IsSalesProhibited": "No"},
        {"dataAreaId": "usmf", "ItemNumber": "P-0003", "ProductNumber": "P-0003", "ProductName": "Crate",
         "SalesUnitSymbol": "pallet", "SalesPrice": 500.0, "UnitCost": 300.0, "IsSalesProhibited": "No"},
    ])
    order = {"_owningbusinessunit_value": BU_US, "_transactioncurrencyid_value": USD,
             "_pricelevelid_value": PL_USD, "paymenttermscode": 1, "statecode": 0, "modifiedon": T0}
    insert(conn, "crm", "salesorders", [
        {"salesorderid": "o-1", "ordernumber": "SO-00001", "name": "New order", "_customerid_value": "a-1", **order},
        {"salesorderid": "o-2", "ordernumber": "SO-00002", "name": "Known order", "_customerid_value": "a-2",
         "p2c_processingstatus": "Active", "totalamount": 0.0, **order},
    ])
    line = {"_uomid_value": EACH, "_transactioncurrencyid_value": USD, "_owningbusinessunit_value": BU_US,
            "isproductoverridden": False, "modifiedon": T0}
    insert(conn, "crm", "salesorderdetails", [
        {"salesorderdetailid": "ol-1", "_salesorderid_value": "o-1", "sequencenumber": 1, "_productid_value": "p-1",
         "quantity": 2.0, "priceperunit": 10.0, **line},
        {"salesorderdetailid": "ol-2", "_salesorderid_value": "o-1", "sequencenumber": 2, "_productid_value": None,
         **{**line, "isproductoverridden": True}, "productdescription": "Custom engraving", "quantity": 1.0,
         "priceperunit": 5.0},
        {"salesorderdetailid": "ol-3", "_salesorderid_value": "o-404", "sequencenumber": 1, "_productid_value": "p-1",
         "quantity": 1.0, "priceperunit": 10.0, **line},
        {"salesorderdetailid": "ol-4", "_salesorderid_value": "o-2", "sequencenumber": 1, "_productid_value": "p-1",
         "quantity": 3.0, "priceperunit": 10.0, **line},
    ])
    insert(conn, "erp", "CDSSalesOrderHeaders", [
        {"dataAreaId": "usmf", "SalesOrderNumber": "SO-00002", "SalesOrderName": "Known order",
         "OrderingCustomerAccountNumber": "ACC-00002", "CurrencyCode": "USD", "PaymentTermsName": "Net30",
         "SalesOrderProcessingStatus": "Invoiced", "OrderTotalAmount": 32.48, "OrderTotalTaxAmount": 2.48,
         "OrderTotalChargesAmount": 0.0, "TotalDiscountAmount": 0.0},
    ])
    insert(conn, "erp", "CDSSalesOrderLines", [
        {"dataAreaId": "usmf", "SalesOrderNumber": "SO-00002", "LineCreationSequenceNumber": 1,
         "ProductNumber": "P-0001", "OrderedSalesQuantity": 3.0, "SalesUnitSymbol": "ea", "SalesPrice": 10.0,
         "LineDiscountAmount": 0.0, "TotalTaxAmount": 2.48},
    ])
    insert(conn, "erp", "SalesInvoiceHeadersV2", [
        {"dataAreaId": "usmf", "InvoiceNumber": "INV-00001", "InvoiceDate": "2026-01-06T00:00:00Z",
         "LedgerVoucher": "LV-1", "SalesOrderNumber": "SO-00002", "InvoiceCustomerAccountNumber": "ACC-00002",
         "CurrencyCode": "USD", "TotalInvoiceAmount": 32.48, "TotalTaxAmount": 2.48, "TotalDiscountAmount": 0.0,
         "TotalChargeAmount": 0.0},
    ])
    insert(conn, "erp", "SalesInvoiceLines", [
        {"dataAreaId": "usmf", "InvoiceNumber": "INV-00001", "LineCreationSequenceNumber": 1,
         "InvoiceDate": "2026-01-06T00:00:00Z", "ProductNumber": "P-0001", "InvoicedQuantity": 3.0,
         "SalesPrice": 10.0, "LineAmount": 30.0, "LineTotalDiscountAmount": 0.0, "LineTotalTaxAmount": 2.48,
         "SalesUnitSymbol": "ea"},
    ])
