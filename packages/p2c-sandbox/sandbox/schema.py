"""The tables both emulated systems serve, declared once.

This is the sandbox's own catalogue, written from ``shared/api/`` (the Dataverse and F&O fact
sheets). Product code never imports it: the connectors carry their own entity tables, written
against the documented APIs, so that where the two differ the sandbox is what is wrong.

Column types (``Col.type``):

==========  =============================  =====================================
type        Dataverse / F&O EDM type       JSON on the wire
==========  =============================  =====================================
guid        Edm.Guid                       "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
string      Edm.String                     "text"
int         Edm.Int32                      42
bigint      Edm.Int64                      42
decimal     Edm.Decimal (money too)        12.5
bool        Edm.Boolean                    true
datetime    Edm.DateTimeOffset             "2026-11-23T18:00:00Z"
date        Edm.Date                       "2026-11-23"
enum        F&O enum (``Col.enum``)        "Yes" (member name)
==========  =============================  =====================================

Dataverse lookups are declared with ``lookup=<target entity set>``; the column name is the read
form ``_<name>_value`` and the navigation property (``Col.nav``) the write form
``<nav>@odata.bind``. The custom columns the prospect-to-cash solution adds to Sales carry the
publisher prefix ``p2c_``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CRM_PREFIX = "p2c_"


@dataclass(frozen=True)
class Col:
    name: str
    type: str = "string"
    lookup: str | None = None  # Dataverse: target entity set of a lookup column
    nav: str | None = None  # Dataverse: navigation property used to write the lookup
    targets: tuple[str, ...] = ()  # Dataverse: polymorphic lookup (customer) target sets
    enum: str | None = None  # F&O: enum type name, e.g. "NoYes"
    readonly: bool = False  # computed by the service; ignored (CRM) / refused (ERP) on write
    max_length: int | None = None


@dataclass(frozen=True)
class Entity:
    set_name: str  # entity set / public collection name
    type_name: str  # Dataverse logical name / F&O entity type name
    key: tuple[str, ...]  # primary key (Dataverse: the GUID column)
    columns: tuple[Col, ...]
    alternate_keys: tuple[tuple[str, ...], ...] = ()  # Dataverse alternate keys
    primary_name: str | None = None
    company: bool = False  # F&O: scoped by dataAreaId
    change_tracking: bool = True  # Dataverse: ChangeTrackingEnabled
    has_timestamps: bool = True  # Dataverse: createdon/modifiedon; F&O: never implicit
    statecode: bool = True  # Dataverse: has statecode/statuscode
    children: tuple[str, ...] = field(default=())

    def col(self, name: str) -> Col:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _lk(name: str, target: str, nav: str | None = None) -> Col:
    return Col(f"_{name}_value", "guid", lookup=target, nav=nav or name)


def _money(name: str, readonly: bool = False) -> Col:
    return Col(name, "decimal", readonly=readonly)


def _crm_common(pk: str, owned: bool = True) -> tuple[Col, ...]:
    cols = [
        Col(pk, "guid"),
        Col("createdon", "datetime", readonly=True),
        Col("modifiedon", "datetime", readonly=True),
        Col("versionnumber", "bigint", readonly=True),
    ]
    if owned:
        cols += [
            _lk("ownerid", "systemusers"),
            _lk("owningbusinessunit", "businessunits"),
        ]
    return tuple(cols)


def _customer() -> Col:
    """The quote/order/invoice customer: a lookup to an account or a contact."""
    return Col("_customerid_value", "guid", lookup="accounts", nav="customerid", targets=("accounts", "contacts"))


def _state() -> tuple[Col, ...]:
    return (Col("statecode", "int"), Col("statuscode", "int"))


def _lines(parent_set: str, parent: str, pk: str, type_name: str, set_name: str, extra=()) -> Entity:
    return Entity(
        set_name=set_name,
        type_name=type_name,
        key=(pk,),
        primary_name=None,
        statecode=False,
        columns=_crm_common(pk)
        + (
            _lk(parent, parent_set),
            _lk("productid", "products"),
            _lk("uomid", "uoms"),
            _lk("transactioncurrencyid", "transactioncurrencies"),
            Col("productdescription", max_length=500),
            Col("isproductoverridden", "bool"),
            Col("ispriceoverridden", "bool"),
            Col("quantity", "decimal"),
            _money("priceperunit"),
            _money("manualdiscountamount"),
            _money("tax"),
            _money("baseamount", readonly=True),
            _money("extendedamount", readonly=True),
            Col("lineitemnumber", "int"),
            Col("sequencenumber", "int"),
        )
        + tuple(extra),
        alternate_keys=((f"_{parent}_value", "sequencenumber"),),
    )


def _totals() -> tuple[Col, ...]:
    return (
        _money("totalamount"),
        _money("totallineitemamount"),
        _money("totaltax"),
        _money("freightamount"),
        _money("discountamount"),
    )


CRM_ENTITIES: tuple[Entity, ...] = (
    Entity(
        "businessunits",
        "businessunit",
        ("businessunitid",),
        _crm_common("businessunitid", owned=False)
        + (Col("name"), _lk("parentbusinessunitid", "businessunits")),
        primary_name="name",
        statecode=False,
    ),
    Entity(
        "systemusers",
        "systemuser",
        ("systemuserid",),
        _crm_common("systemuserid", owned=False)
        + (
            Col("fullname"),
            Col("firstname"),
            Col("lastname"),
            Col("internalemailaddress"),
            Col("isdisabled", "bool"),
            _lk("businessunitid", "businessunits"),
        ),
        primary_name="fullname",
        statecode=False,
    ),
    Entity(
        "transactioncurrencies",
        "transactioncurrency",
        ("transactioncurrencyid",),
        _crm_common("transactioncurrencyid", owned=False)
        + (
            Col("currencyname"),
            Col("isocurrencycode", max_length=5),
            Col("currencysymbol"),
            Col("exchangerate", "decimal"),
            Col("currencyprecision", "int"),
        )
        + _state(),
        primary_name="currencyname",
        alternate_keys=(("isocurrencycode",),),
    ),
    Entity(
        "uomschedules",
        "uomschedule",
        ("uomscheduleid",),
        _crm_common("uomscheduleid", owned=False) + (Col("name"), Col("baseuomname")) + _state(),
        primary_name="name",
        alternate_keys=(("name",),),
    ),
    Entity(
        "uoms",
        "uom",
        ("uomid",),
        _crm_common("uomid", owned=False)
        + (
            Col("name"),
            _lk("uomscheduleid", "uomschedules"),
            _lk("baseuom", "uoms"),
            Col("quantity", "decimal"),
            Col("isschedulebaseuom", "bool", readonly=True),
        ),
        primary_name="name",
        statecode=False,
    ),
    Entity(
        "accounts",
        "account",
        ("accountid",),
        _crm_common("accountid")
        + (
            Col("accountnumber", max_length=20),
            Col("name", max_length=160),
            Col("emailaddress1"),
            Col("telephone1"),
            Col("websiteurl"),
            Col("address1_line1", max_length=250),
            Col("address1_city", max_length=80),
            Col("address1_postalcode"),
            Col("address1_country", max_length=80),
            _money("creditlimit"),
            _money("revenue"),
            Col("paymenttermscode", "int"),
            Col("customertypecode", "int"),
            _lk("transactioncurrencyid", "transactioncurrencies"),
            _lk("primarycontactid", "contacts"),
            Col(f"{CRM_PREFIX}customergroupid"),
            Col(f"{CRM_PREFIX}onholdstatus"),
        )
        + _state(),
        primary_name="name",
        alternate_keys=(("accountnumber",),),
    ),
    Entity(
        "contacts",
        "contact",
        ("contactid",),
        _crm_common("contactid")
        + (
            Col(f"{CRM_PREFIX}contactnumber", max_length=100),
            Col("firstname"),
            Col("lastname"),
            Col("fullname", readonly=True),
            Col("emailaddress1"),
            Col("telephone1"),
            Col("jobtitle"),
            Col(
                "_parentcustomerid_value",
                "guid",
                lookup="accounts",
                nav="parentcustomerid",
                targets=("accounts", "contacts"),
            ),
            _lk("transactioncurrencyid", "transactioncurrencies"),
        )
        + _state(),
        primary_name="fullname",
        alternate_keys=((f"{CRM_PREFIX}contactnumber",),),
    ),
    Entity(
        "products",
        "product",
        ("productid",),
        _crm_common("productid", owned=False)
        + (
            Col("productnumber", max_length=100),
            Col("name", max_length=100),
            Col("description"),
            _money("price"),
            _money("standardcost"),
            _money("currentcost"),
            _lk("defaultuomid", "uoms"),
            _lk("defaultuomscheduleid", "uomschedules"),
            _lk("pricelevelid", "pricelevels"),
            _lk("transactioncurrencyid", "transactioncurrencies"),
            Col("producttypecode", "int"),
            Col("productstructure", "int"),
            Col("quantitydecimal", "int"),
            Col("quantityonhand", "decimal"),
            Col(f"{CRM_PREFIX}isexternallymaintained", "bool"),
        )
        + _state(),
        primary_name="name",
        alternate_keys=(("productnumber",),),
    ),
    Entity(
        "pricelevels",
        "pricelevel",
        ("pricelevelid",),
        _crm_common("pricelevelid", owned=False)
        + (
            Col("name", max_length=100),
            Col("begindate", "date"),
            Col("enddate", "date"),
            _lk("transactioncurrencyid", "transactioncurrencies"),
        )
        + _state(),
        primary_name="name",
        alternate_keys=(("name",),),
    ),
    Entity(
        "productpricelevels",
        "productpricelevel",
        ("productpricelevelid",),
        _crm_common("productpricelevelid", owned=False)
        + (
            _lk("pricelevelid", "pricelevels"),
            _lk("productid", "products"),
            _lk("uomid", "uoms"),
            _lk("uomscheduleid", "uomschedules"),
            _lk("transactioncurrencyid", "transactioncurrencies"),
            _money("amount"),
            Col("pricingmethodcode", "int"),
            Col("quantitysellingcode", "int"),
            Col("productnumber", readonly=True),
        ),
        statecode=False,
        alternate_keys=(("_pricelevelid_value", "_productid_value"),),
    ),
    Entity(
        "quotes",
        "quote",
        ("quoteid",),
        _crm_common("quoteid")
        + (
            Col("quotenumber", max_length=100),
            Col("name"),
            _customer(),
            _lk("pricelevelid", "pricelevels"),
            _lk("transactioncurrencyid", "transactioncurrencies"),
            Col("effectivefrom", "date"),
            Col("effectiveto", "date"),
            Col(f"{CRM_PREFIX}quotationstatus"),
            Col(f"{CRM_PREFIX}hasexternallymaintainedproductsonly", "bool"),
        )
        + _totals()
        + _state(),
        primary_name="name",
        alternate_keys=(("quotenumber",),),
    ),
    _lines("quotes", "quoteid", "quotedetailid", "quotedetail", "quotedetails"),
    Entity(
        "salesorders",
        "salesorder",
        ("salesorderid",),
        _crm_common("salesorderid")
        + (
            Col("ordernumber", max_length=100),
            Col("name"),
            _customer(),
            _lk("pricelevelid", "pricelevels"),
            _lk("transactioncurrencyid", "transactioncurrencies"),
            _lk("quoteid", "quotes"),
            Col("requestdeliveryby", "date"),
            Col("datefulfilled", "date"),
            Col("submitdate", "date"),
            Col("paymenttermscode", "int"),
            Col(f"{CRM_PREFIX}processingstatus"),
            Col(f"{CRM_PREFIX}isexternallymaintained", "bool"),
        )
        + _totals()
        + _state(),
        primary_name="name",
        alternate_keys=(("ordernumber",),),
    ),
    _lines(
        "salesorders",
        "salesorderid",
        "salesorderdetailid",
        "salesorderdetail",
        "salesorderdetails",
        extra=(
            Col("quantityshipped", "decimal"),
            Col(f"{CRM_PREFIX}linestatus"),
        ),
    ),
    Entity(
        "invoices",
        "invoice",
        ("invoiceid",),
        _crm_common("invoiceid")
        + (
            Col("invoicenumber", max_length=100),
            Col("name"),
            _customer(),
            _lk("salesorderid", "salesorders"),
            _lk("pricelevelid", "pricelevels"),
            _lk("transactioncurrencyid", "transactioncurrencies"),
            Col("duedate", "date"),
            Col(f"{CRM_PREFIX}invoicedate", "date"),
            Col(f"{CRM_PREFIX}isexternallymaintained", "bool"),
        )
        + _totals()
        + _state(),
        primary_name="name",
        alternate_keys=(("invoicenumber",),),
    ),
    _lines("invoices", "invoiceid", "invoicedetailid", "invoicedetail", "invoicedetails"),
)


# --- Finance & Operations -------------------------------------------------------------------

ERP_ENUMS: dict[str, tuple[str, ...]] = {
    "NoYes": ("No", "Yes"),
    "DirPartyType": ("None", "Person", "Organization"),
    "CustVendorBlocked": ("No", "Invoice", "All", "Payment", "Requisition", "Never", "PurchOrder"),
    "SalesStatus": ("None", "Backorder", "Delivered", "Invoiced", "Canceled"),
    "SalesOrderProcessingStatus": (
        "None",
        "Active",
        "Confirmed",
        "Picked",
        "PartiallyDelivered",
        "Delivered",
        "Invoiced",
        "PartiallyInvoiced",
        "Canceled",
        "DeliveredPartiallyInvoiced",
    ),
    "SalesQuotationStatus": (
        "Created",
        "Sent",
        "Confirmed",
        "Lost",
        "Cancelled",
        "Reset",
        "Modified",
        "Submitted",
        "Approved",
        "Revised",
    ),
    "EcoResProductType": ("Item", "Service"),
}


def _e(name: str, enum: str) -> Col:
    return Col(name, "enum", enum=enum)


def _d(name: str, readonly: bool = False) -> Col:
    return Col(name, "decimal", readonly=readonly)


ERP_ENTITIES: tuple[Entity, ...] = (
    Entity(
        "LegalEntities",
        "LegalEntity",
        ("LegalEntityId",),
        (Col("LegalEntityId"), Col("Name"), Col("AccountingCurrency")),
        primary_name="Name",
        statecode=False,
        has_timestamps=False,
    ),
    Entity(
        "Currencies",
        "Currency",
        ("CurrencyCode",),
        (Col("CurrencyCode"), Col("Name"), Col("Symbol")),
        statecode=False,
        has_timestamps=False,
    ),
    Entity(
        "UnitsOfMeasure",
        "UnitOfMeasure",
        ("UnitSymbol",),
        (
            Col("UnitSymbol"),
            Col("UnitDescription"),
            Col("UnitClass"),
            Col("DecimalPrecision", "int"),
            _e("IsBaseUnit", "NoYes"),
            _e("IsSystemUnit", "NoYes"),
            Col("SystemOfUnits"),
        ),
        statecode=False,
        has_timestamps=False,
    ),
    Entity(
        "PaymentTerms",
        "PaymentTerm",
        ("dataAreaId", "Name"),
        (Col("dataAreaId"), Col("Name"), Col("Description"), Col("NumberOfDays", "int"), Col("NumberOfMonths", "int"),
         Col("PaymentMethodType"), _e("IsDefaultPaymentTerm", "NoYes")),
        company=True,
        statecode=False,
        has_timestamps=False,
    ),
    Entity(
        "CustomerGroups",
        "CustomerGroup",
        ("dataAreaId", "CustomerGroupId"),
        (Col("dataAreaId"), Col("CustomerGroupId"), Col("Description"), Col("PaymentTermId"),
         _e("IsSalesTaxIncludedInPrice", "NoYes")),
        company=True,
        statecode=False,
        has_timestamps=False,
    ),
    Entity(
        "CustomersV3",
        "CustomerV3",
        ("dataAreaId", "CustomerAccount"),
        (
            Col("dataAreaId"),
            Col("CustomerAccount"),
            _e("PartyType", "DirPartyType"),
            Col("PartyNumber"),
            Col("OrganizationName"),
            Col("PersonFirstName"),
            Col("PersonLastName"),
            Col("CustomerGroupId"),
            Col("SalesCurrencyCode"),
            Col("PaymentTerms"),
            Col("PaymentMethod"),
            _d("CreditLimit"),
            _e("OnHoldStatus", "CustVendorBlocked"),
            Col("InvoiceAccount"),
            Col("LanguageId"),
            Col("SiteId"),
            Col("WarehouseId"),
            Col("DeliveryMode"),
            _e("IsExternallyMaintained", "NoYes"),
            Col("AddressStreet"),
            Col("AddressCity"),
            Col("AddressZipCode"),
            Col("AddressState"),
            Col("AddressCountryRegionId"),
            Col("AddressCountryRegionISOCode"),
            Col("PrimaryContactEmail"),
            Col("PrimaryContactPhone"),
            Col("PrimaryContactURL"),
            Col("ContactPersonId"),
            _e("IsOneTimeCustomer", "NoYes"),
        ),
        company=True,
        primary_name="OrganizationName",
        statecode=False,
        has_timestamps=False,
    ),
    Entity(
        "ContactPersons",
        "ContactPerson",
        ("dataAreaId", "ContactPersonId"),
        (
            Col("dataAreaId"),
            Col("ContactPersonId"),
            Col("ContactPersonPartyNumber"),
            Col("AssociatedPartyNumber"),
            Col("ContactPersonName", readonly=True),
            Col("FirstName"),
            Col("MiddleName"),
            Col("LastName"),
            Col("PrimaryEmailAddress"),
            Col("PrimaryPhoneNumber"),
            Col("EmploymentJobTitle"),
            _e("IsDefaultContactPerson", "NoYes"),
            _e("IsContactPersonExternallyMaintained", "NoYes"),
            _e("IsInactive", "NoYes"),
            Col("LastEditDateTime", "datetime", readonly=True),
        ),
        company=True,
        statecode=False,
        has_timestamps=False,
    ),
    Entity(
        "ReleasedProductsV2",
        "ReleasedProductV2",
        ("dataAreaId", "ItemNumber"),
        (
            Col("dataAreaId"),
            Col("ItemNumber"),
            Col("ProductNumber"),
            Col("ProductName"),
            Col("SearchName"),
            _e("ProductType", "EcoResProductType"),
            Col("ProductGroupId"),
            Col("ItemModelGroupId"),
            Col("InventoryUnitSymbol"),
            Col("SalesUnitSymbol"),
            _d("SalesPrice"),
            _d("UnitCost"),
            Col("SalesSalesTaxItemGroupCode"),
            _e("IsSalesProhibited", "NoYes"),
        ),
        company=True,
        statecode=False,
        has_timestamps=False,
    ),
    Entity(
        "CDSSalesQuotationHeaders",
        "CDSSalesQuotationHeader",
        ("dataAreaId", "SalesQuotationNumber"),
        (
            Col("dataAreaId"),
            Col("SalesQuotationNumber"),
            Col("SalesQuotationName"),
            Col("RequestingCustomerAccountNumber"),
            Col("InvoiceCustomerAccountNumber"),
            Col("CurrencyCode"),
            _e("SalesQuotationStatus", "SalesQuotationStatus"),
            Col("SalesQuotationExpiryDate", "datetime"),
            Col("GeneratedSalesOrderNumber", readonly=True),
            Col("PaymentTermsName"),
            _d("QuotationTotalAmount", readonly=True),
            _d("QuotationTotalTaxAmount", readonly=True),
        ),
        company=True,
        statecode=False,
        has_timestamps=False,
    ),
    Entity(
        "CDSSalesQuotationLines",
        "CDSSalesQuotationLine",
        ("dataAreaId", "SalesQuotationNumber", "LineCreationSequenceNumber"),
        (
            Col("dataAreaId"),
            Col("SalesQuotationNumber"),
            Col("LineCreationSequenceNumber", "int"),
            Col("ProductNumber"),
            Col("LineDescription"),
            _d("RequestedSalesQuantity"),
            Col("SalesUnitSymbol"),
            _d("SalesPrice"),
            _d("LineDiscountAmount"),
            _d("LineAmount", readonly=True),
            Col("CurrencyCode"),
        ),
        company=True,
        statecode=False,
        has_timestamps=False,
    ),
    Entity(
        "CDSSalesOrderHeaders",
        "CDSSalesOrderHeader",
        ("dataAreaId", "SalesOrderNumber"),
        (
            Col("dataAreaId"),
            Col("SalesOrderNumber"),
            Col("SalesOrderName"),
            Col("OrderingCustomerAccountNumber"),
            Col("InvoiceCustomerAccountNumber"),
            Col("CurrencyCode"),
            _e("SalesOrderStatus", "SalesStatus"),
            _e("SalesOrderProcessingStatus", "SalesOrderProcessingStatus"),
            Col("PaymentTermsName"),
            Col("RequestedShippingDate", "datetime"),
            Col("QuotationNumber"),
            Col("CustomersOrderReference"),
            Col("LanguageId"),
            _e("OrderingCustomerIsExternallyMaintained", "NoYes"),
            _e("InvoiceCustomerIsExternallyMaintained", "NoYes"),
            _e("IsSalesProcessingStopped", "NoYes"),
            Col("OrderCreationDateTime", "datetime", readonly=True),
            _d("OrderTotalAmount", readonly=True),
            _d("OrderTotalTaxAmount", readonly=True),
            _d("OrderTotalChargesAmount", readonly=True),
            _d("TotalDiscountAmount", readonly=True),
        ),
        company=True,
        statecode=False,
        has_timestamps=False,
    ),
    Entity(
        "CDSSalesOrderLines",
        "CDSSalesOrderLine",
        ("dataAreaId", "SalesOrderNumber", "LineCreationSequenceNumber"),
        (
            Col("dataAreaId"),
            Col("SalesOrderNumber"),
            Col("LineCreationSequenceNumber", "int"),
            Col("ProductNumber"),
            Col("LineDescription"),
            _d("OrderedSalesQuantity"),
            Col("SalesUnitSymbol"),
            _d("SalesPrice"),
            _d("LineDiscountAmount"),
            _d("LineAmount", readonly=True),
            _d("TotalTaxAmount", readonly=True),
            _e("SalesOrderLineStatus", "SalesStatus"),
            Col("CurrencyCode"),
        ),
        company=True,
        statecode=False,
        has_timestamps=False,
    ),
    Entity(
        "SalesInvoiceHeadersV2",
        "SalesInvoiceHeaderV2",
        ("dataAreaId", "InvoiceNumber", "InvoiceDate", "LedgerVoucher"),
        (
            Col("dataAreaId"),
            Col("InvoiceNumber"),
            Col("InvoiceDate", "datetime"),
            Col("LedgerVoucher"),
            Col("SalesOrderNumber"),
            Col("InvoiceCustomerAccountNumber"),
            Col("CurrencyCode"),
            _d("TotalInvoiceAmount"),
            _d("TotalTaxAmount"),
            _d("TotalDiscountAmount"),
            _d("TotalChargeAmount"),
            Col("PaymentTermsName"),
            Col("CustomersOrderReference"),
        ),
        company=True,
        statecode=False,
        has_timestamps=False,
    ),
    Entity(
        "SalesInvoiceLines",
        "SalesInvoiceLine",
        ("dataAreaId", "InvoiceNumber", "LineCreationSequenceNumber", "InvoiceDate"),
        (
            Col("dataAreaId"),
            Col("InvoiceNumber"),
            Col("LineCreationSequenceNumber", "int"),
            Col("InvoiceDate", "datetime"),
            Col("ProductNumber"),
            Col("ProductName"),
            _d("InvoicedQuantity"),
            _d("SalesPrice"),
            _d("LineAmount"),
            _d("LineTotalDiscountAmount"),
            _d("LineTotalTaxAmount"),
            Col("SalesUnitSymbol"),
            Col("CurrencyCode"),
        ),
        company=True,
        statecode=False,
        has_timestamps=False,
    ),
)

CRM = {e.set_name: e for e in CRM_ENTITIES}
ERP = {e.set_name: e for e in ERP_ENTITIES}
