"""The entities p2c extracts, declared once per system, and the constants of both services.

Written from the API fact sheets (``shared/api/dataverse.md``, ``finance_operations.md``), not
from any emulator. Each entity is one line of a table: entity set / collection name, primary key,
and the columns with their types. The sources (``pipelines/crm.py``, ``pipelines/erp.py``) are
built from these tables; adding an entity is adding a line here.

Column type codes (``name:type``, ``string`` when omitted) and the Arrow type they load as:

=========  ===============================  ===================================
code       EDM type                         Arrow / DuckDB
=========  ===============================  ===================================
string     Edm.String, Edm.Guid, F&O enum   string / varchar (enums: member name)
int        Edm.Int32, Edm.Int64             int64 / bigint
decimal    Edm.Decimal, Edm.Double, money   float64 / double
bool       Edm.Boolean                      bool / boolean
datetime   Edm.DateTimeOffset               timestamp[us, UTC] / timestamptz
date       Edm.Date                         date32 / date
=========  ===============================  ===================================

The declared columns are what p2c asks for (Dataverse: ``$select``) and pin the types, so that a
page where a column is all null cannot change it. Columns a service sends without being asked
still load, as text. This table is the one place to add a column.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pyarrow as pa
from dlt.common.normalizers.naming.snake_case import NamingConvention

CRM_PAGE_SIZE = 5000  # Dataverse: default and maximum odata.maxpagesize
ERP_PAGE_SIZE = 10000  # F&O: maximum server-driven page
ETAG_COLUMN = "odata_etag"  # the row's @odata.etag, the writeback's If-Match
DELETED_COLUMN = "_p2c_deleted"  # CRM: change tracking reported the row deleted
# a row with a value p2c cannot take as declared ("<column>: <problem>; …"): the row loads with
# those values null (a missing key replaced by a stand-in) and goes to quarantine naming the column
INVALID_COLUMN = "_p2c_invalid"
# the longest text p2c takes from a declared text column: Dataverse's single-line text maximum
# (the F&O string fields p2c maps are shorter)
MAX_TEXT_LENGTH = 4000
# dates and times either service can store (SQL Server datetime: 1753-01-01 to 9999-12-31)
DATE_RANGE = ("1753-01-01", "9999-12-31")
# option-set / enum columns whose values p2c interprets itself (the others go through a value map
# in seeds/): the values the services document; anything else is an unknown value
KNOWN_VALUES: dict[tuple[str, str], frozenset] = {
    ("accounts", "statecode"): frozenset({0, 1}),
    ("contacts", "statecode"): frozenset({0, 1}),
    ("products", "statecode"): frozenset({0, 1, 2, 3}),
    ("CustomersV3", "OnHoldStatus"): frozenset({"No", "Invoice", "All", "Payment", "Requisition", "Never"}),
}

# Dataverse: the one instance annotation p2c asks for (Prefer: odata.include-annotations); formatted
# values and the other annotations are neither requested nor loaded
LOOKUP_TABLE_ANNOTATION = "Microsoft.Dynamics.CRM.lookuplogicalname"

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "decimal": pa.float64(),
    "bool": pa.bool_(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}

_naming = NamingConvention()


def snake(name: str) -> str:
    """dlt's table/column name for an API name (``dataAreaId`` → ``data_area_id``)."""
    return _naming.normalize_identifier(name)


def lookup_table_column(lookup: str) -> str:
    """The column holding a lookup's target table: ``_customerid_value`` → ``customerid_table``."""
    return lookup.removeprefix("_").removesuffix("_value") + "_table"


@dataclass(frozen=True)
class EntitySpec:
    """One entity set: what to request and how its rows look."""

    entity_set: str  # entity set / public collection name, as in the URL
    key: tuple[str, ...]  # primary key, API names
    spec: str  # "name:type name name:type …" (API names)
    modified_column: str | None = None  # ERP: load incrementally on this DateTimeOffset column
    lookup_tables: bool = False  # CRM: keep each lookup's target table (the lookuplogicalname annotation)

    @property
    def table(self) -> str:
        return snake(self.entity_set)

    @cached_property
    def columns(self) -> dict[str, str]:
        """API column name → type code, in declaration order."""
        out: dict[str, str] = {}
        for item in self.spec.split():
            name, _, code = item.partition(":")
            if (code or "string") not in ARROW_TYPES:
                raise ValueError(f"{self.entity_set}.{name}: unknown column type {code!r}")
            out[name] = code or "string"
        return out

    @property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(snake(k) for k in self.key)

    @property
    def select(self) -> str:
        """The ``$select`` list: every declared column, API names, comma-separated."""
        return ",".join(self.columns)

    @cached_property
    def annotations(self) -> dict[str, str]:
        """Instance annotations kept: wire name → column (``_customerid_value@…lookuplogicalname`` → ``customerid_table``)."""
        if not self.lookup_tables:
            return {}
        return {
            f"{name}@{LOOKUP_TABLE_ANNOTATION}": lookup_table_column(name)
            for name in self.columns
            if name.startswith("_") and name.endswith("_value")
        }


# -- Dataverse (CRM) -----------------------------------------------------------------------------
# every table: its GUID key, createdon/modifiedon, versionnumber; user-owned tables also owner and BU
_COMMON = "createdon:datetime modifiedon:datetime versionnumber:int"
_OWNED = _COMMON + " _ownerid_value _owningbusinessunit_value"
_STATE = "statecode:int statuscode:int"
_TOTALS = "totalamount:decimal totallineitemamount:decimal totaltax:decimal freightamount:decimal discountamount:decimal"
_LINE = (
    "_productid_value _uomid_value _transactioncurrencyid_value productdescription isproductoverridden:bool"
    " ispriceoverridden:bool quantity:decimal priceperunit:decimal manualdiscountamount:decimal tax:decimal"
    " baseamount:decimal extendedamount:decimal lineitemnumber:int sequencenumber:int"
)


def _crm(entity_set: str, pk: str, spec: str) -> EntitySpec:
    return EntitySpec(entity_set, (pk,), f"{pk} {spec}", lookup_tables=True)


CRM_ENTITIES: tuple[EntitySpec, ...] = (
    _crm("businessunits", "businessunitid", f"{_COMMON} name _parentbusinessunitid_value"),
    _crm("systemusers", "systemuserid", f"{_COMMON} fullname firstname lastname internalemailaddress isdisabled:bool _businessunitid_value"),
    _crm("transactioncurrencies", "transactioncurrencyid", f"{_COMMON} currencyname isocurrencycode currencysymbol exchangerate:decimal currencyprecision:int {_STATE}"),
    _crm("uomschedules", "uomscheduleid", f"{_COMMON} name baseuomname {_STATE}"),
    _crm("uoms", "uomid", f"{_COMMON} name _uomscheduleid_value _baseuom_value quantity:decimal isschedulebaseuom:bool"),
    _crm(
        "accounts",
        "accountid",
        f"{_OWNED} accountnumber name emailaddress1 telephone1 websiteurl address1_line1 address1_city"
        " address1_postalcode address1_country creditlimit:decimal paymenttermscode:int customertypecode:int"
        f" _transactioncurrencyid_value _primarycontactid_value p2c_customergroupid p2c_onholdstatus {_STATE}",
    ),
    _crm(
        "contacts",
        "contactid",
        f"{_OWNED} p2c_contactnumber firstname lastname fullname emailaddress1 telephone1 jobtitle"
        f" _parentcustomerid_value _transactioncurrencyid_value {_STATE}",
    ),
    _crm(
        "products",
        "productid",
        f"{_COMMON} productnumber name description price:decimal standardcost:decimal currentcost:decimal"
        " _defaultuomid_value _defaultuomscheduleid_value _pricelevelid_value _transactioncurrencyid_value"
        f" producttypecode:int productstructure:int quantitydecimal:int p2c_isexternallymaintained:bool {_STATE}",
    ),
    _crm("pricelevels", "pricelevelid", f"{_COMMON} name begindate:date enddate:date _transactioncurrencyid_value {_STATE}"),
    _crm(
        "productpricelevels",
        "productpricelevelid",
        f"{_COMMON} _pricelevelid_value _productid_value _uomid_value _uomscheduleid_value _transactioncurrencyid_value"
        " amount:decimal pricingmethodcode:int quantitysellingcode:int productnumber",
    ),
    _crm(
        "quotes",
        "quoteid",
        f"{_OWNED} quotenumber name _customerid_value _pricelevelid_value _transactioncurrencyid_value"
        f" effectivefrom:date effectiveto:date p2c_quotationstatus p2c_hasexternallymaintainedproductsonly:bool {_TOTALS} {_STATE}",
    ),
    _crm("quotedetails", "quotedetailid", f"{_OWNED} _quoteid_value {_LINE}"),
    _crm(
        "salesorders",
        "salesorderid",
        f"{_OWNED} ordernumber name _customerid_value _pricelevelid_value _transactioncurrencyid_value _quoteid_value"
        " requestdeliveryby:date datefulfilled:date submitdate:date paymenttermscode:int p2c_processingstatus"
        f" p2c_isexternallymaintained:bool {_TOTALS} {_STATE}",
    ),
    _crm("salesorderdetails", "salesorderdetailid", f"{_OWNED} _salesorderid_value {_LINE} quantityshipped:decimal p2c_linestatus"),
    _crm(
        "invoices",
        "invoiceid",
        f"{_OWNED} invoicenumber name _customerid_value _salesorderid_value _pricelevelid_value _transactioncurrencyid_value"
        f" duedate:date p2c_invoicedate:date p2c_isexternallymaintained:bool {_TOTALS} {_STATE}",
    ),
    _crm("invoicedetails", "invoicedetailid", f"{_OWNED} _invoiceid_value {_LINE}"),
)

# the alternate keys the writeback's idempotent creates (upserts by natural key) rely on, by entity
# set: attribute logical names (a lookup without its _…_value), as EntityDefinitions(…)/Keys lists them
CRM_ALTERNATE_KEYS: dict[str, tuple[str, ...]] = {
    "accounts": ("accountnumber",),
    "contacts": ("p2c_contactnumber",),
    "products": ("productnumber",),
    "pricelevels": ("name",),
    "productpricelevels": ("pricelevelid", "productid"),
    "quotes": ("quotenumber",),
    "quotedetails": ("quoteid", "sequencenumber"),
    "salesorders": ("ordernumber",),
    "salesorderdetails": ("salesorderid", "sequencenumber"),
    "invoices": ("invoicenumber",),
    "invoicedetails": ("invoiceid", "sequencenumber"),
}
CRM_CUSTOM_PREFIX = "p2c_"  # the prospect-to-cash solution's publisher prefix

# -- Finance & Operations (ERP) ------------------------------------------------------------------
_LINE_ERP = "SalesUnitSymbol SalesPrice:decimal LineDiscountAmount:decimal LineAmount:decimal CurrencyCode"

ERP_ENTITIES: tuple[EntitySpec, ...] = (
    EntitySpec("LegalEntities", ("LegalEntityId",), "LegalEntityId Name AccountingCurrency"),
    EntitySpec("Currencies", ("CurrencyCode",), "CurrencyCode Name Symbol"),
    EntitySpec("UnitsOfMeasure", ("UnitSymbol",), "UnitSymbol UnitDescription UnitClass DecimalPrecision:int IsBaseUnit IsSystemUnit SystemOfUnits"),
    EntitySpec("PaymentTerms", ("dataAreaId", "Name"), "dataAreaId Name Description NumberOfDays:int NumberOfMonths:int PaymentMethodType IsDefaultPaymentTerm"),
    EntitySpec("CustomerGroups", ("dataAreaId", "CustomerGroupId"), "dataAreaId CustomerGroupId Description PaymentTermId IsSalesTaxIncludedInPrice"),
    EntitySpec(
        "CustomersV3",
        ("dataAreaId", "CustomerAccount"),
        "dataAreaId CustomerAccount PartyType PartyNumber OrganizationName PersonFirstName PersonLastName CustomerGroupId"
        " SalesCurrencyCode PaymentTerms PaymentMethod CreditLimit:decimal OnHoldStatus InvoiceAccount LanguageId SiteId"
        " WarehouseId DeliveryMode IsExternallyMaintained AddressStreet AddressCity AddressZipCode AddressState"
        " AddressCountryRegionId AddressCountryRegionISOCode PrimaryContactEmail PrimaryContactPhone PrimaryContactURL"
        " ContactPersonId IsOneTimeCustomer",
    ),
    EntitySpec(
        "ContactPersons",
        ("dataAreaId", "ContactPersonId"),
        "dataAreaId ContactPersonId ContactPersonPartyNumber AssociatedPartyNumber ContactPersonName FirstName MiddleName"
        " LastName PrimaryEmailAddress PrimaryPhoneNumber EmploymentJobTitle IsDefaultContactPerson"
        " IsContactPersonExternallyMaintained IsInactive LastEditDateTime:datetime",
        modified_column="LastEditDateTime",
    ),
    EntitySpec(
        "ReleasedProductsV2",
        ("dataAreaId", "ItemNumber"),
        "dataAreaId ItemNumber ProductNumber ProductName SearchName ProductType ProductGroupId ItemModelGroupId"
        " InventoryUnitSymbol SalesUnitSymbol SalesPrice:decimal UnitCost:decimal SalesSalesTaxItemGroupCode IsSalesProhibited",
    ),
    EntitySpec(
        "CDSSalesQuotationHeaders",
        ("dataAreaId", "SalesQuotationNumber"),
        "dataAreaId SalesQuotationNumber SalesQuotationName RequestingCustomerAccountNumber InvoiceCustomerAccountNumber"
        " CurrencyCode SalesQuotationStatus SalesQuotationExpiryDate:datetime GeneratedSalesOrderNumber PaymentTermsName"
        " QuotationTotalAmount:decimal QuotationTotalTaxAmount:decimal",
    ),
    EntitySpec(
        "CDSSalesQuotationLines",
        ("dataAreaId", "SalesQuotationNumber", "LineCreationSequenceNumber"),
        f"dataAreaId SalesQuotationNumber LineCreationSequenceNumber:int ProductNumber LineDescription RequestedSalesQuantity:decimal {_LINE_ERP}",
    ),
    EntitySpec(
        "CDSSalesOrderHeaders",
        ("dataAreaId", "SalesOrderNumber"),
        "dataAreaId SalesOrderNumber SalesOrderName OrderingCustomerAccountNumber InvoiceCustomerAccountNumber CurrencyCode"
        " SalesOrderStatus SalesOrderProcessingStatus PaymentTermsName RequestedShippingDate:datetime QuotationNumber"
        " CustomersOrderReference LanguageId OrderingCustomerIsExternallyMaintained InvoiceCustomerIsExternallyMaintained"
        " IsSalesProcessingStopped OrderCreationDateTime:datetime OrderTotalAmount:decimal OrderTotalTaxAmount:decimal"
        " OrderTotalChargesAmount:decimal TotalDiscountAmount:decimal",
    ),
    EntitySpec(
        "CDSSalesOrderLines",
        ("dataAreaId", "SalesOrderNumber", "LineCreationSequenceNumber"),
        "dataAreaId SalesOrderNumber LineCreationSequenceNumber:int ProductNumber LineDescription OrderedSalesQuantity:decimal"
        f" {_LINE_ERP} TotalTaxAmount:decimal SalesOrderLineStatus",
    ),
    EntitySpec(
        "SalesInvoiceHeadersV2",
        ("dataAreaId", "InvoiceNumber", "InvoiceDate", "LedgerVoucher"),
        "dataAreaId InvoiceNumber InvoiceDate:datetime LedgerVoucher SalesOrderNumber InvoiceCustomerAccountNumber CurrencyCode"
        " TotalInvoiceAmount:decimal TotalTaxAmount:decimal TotalDiscountAmount:decimal TotalChargeAmount:decimal"
        " PaymentTermsName CustomersOrderReference",
    ),
    EntitySpec(
        "SalesInvoiceLines",
        ("dataAreaId", "InvoiceNumber", "LineCreationSequenceNumber", "InvoiceDate"),
        "dataAreaId InvoiceNumber LineCreationSequenceNumber:int InvoiceDate:datetime ProductNumber ProductName"
        " InvoicedQuantity:decimal SalesPrice:decimal LineAmount:decimal LineTotalDiscountAmount:decimal"
        " LineTotalTaxAmount:decimal SalesUnitSymbol CurrencyCode",
    ),
)

ENTITIES: dict[str, tuple[EntitySpec, ...]] = {"crm": CRM_ENTITIES, "erp": ERP_ENTITIES}

# the canonical entity each set feeds (the run summary counts extraction per canonical entity);
# reference sets not listed here are counted under their own name
CANONICAL_ENTITY: dict[str, str] = {
    "accounts": "customer",
    "CustomersV3": "customer",
    "contacts": "contact",
    "ContactPersons": "contact",
    "products": "product",
    "ReleasedProductsV2": "product",
    "productpricelevels": "price",
    "quotes": "quote",
    "CDSSalesQuotationHeaders": "quote",
    "quotedetails": "quote_line",
    "CDSSalesQuotationLines": "quote_line",
    "salesorders": "order",
    "CDSSalesOrderHeaders": "order",
    "salesorderdetails": "order_line",
    "CDSSalesOrderLines": "order_line",
    "invoices": "invoice",
    "SalesInvoiceHeadersV2": "invoice",
    "invoicedetails": "invoice_line",
    "SalesInvoiceLines": "invoice_line",
}
