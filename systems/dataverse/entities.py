"""Dataverse (Dynamics 365 Sales): the entity sets p2c reads and writes, and the service's constants.

Written from the API fact sheet (``shared/api/dataverse.md``), not from any emulator. Each entity
set is one line of :data:`ENTITIES`: entity set name, primary key (the table's GUID column), the
columns with their types (codes: :mod:`p2c_core.entity`) and the canonical entity it feeds. The
source, the tenant check and the writer are built from this table; adding a column or an entity set
is adding it here.
"""

from __future__ import annotations

from p2c_core.entity import EntitySpec

PAGE_SIZE = 5000  # default and maximum odata.maxpagesize
# the one instance annotation p2c asks for (Prefer: odata.include-annotations); formatted values and
# the other annotations are neither requested nor loaded
LOOKUP_TABLE_ANNOTATION = "Microsoft.Dynamics.CRM.lookuplogicalname"
CUSTOM_PREFIX = "p2c_"  # the prospect-to-cash solution's publisher prefix
# option-set columns whose values p2c interprets itself (the others go through a value map in
# seeds/): the values the service documents; anything else is an unknown value
_STATECODE = (("statecode", frozenset({0, 1})),)

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


def _set(entity_set: str, pk: str, spec: str, canonical: str | None = None, known=()) -> EntitySpec:
    """A Dataverse entity set: change tracking (deletions), each lookup's target table kept."""
    return EntitySpec(entity_set, (pk,), f"{pk} {spec}", canonical=canonical, lookup_annotation=LOOKUP_TABLE_ANNOTATION,
                      tracks_deletions=True, known_values=known)


ENTITIES: tuple[EntitySpec, ...] = (
    _set("businessunits", "businessunitid", f"{_COMMON} name _parentbusinessunitid_value"),
    _set("systemusers", "systemuserid", f"{_COMMON} fullname firstname lastname internalemailaddress isdisabled:bool _businessunitid_value"),
    _set("transactioncurrencies", "transactioncurrencyid", f"{_COMMON} currencyname isocurrencycode currencysymbol exchangerate:decimal currencyprecision:int {_STATE}"),
    _set("uomschedules", "uomscheduleid", f"{_COMMON} name baseuomname {_STATE}"),
    _set("uoms", "uomid", f"{_COMMON} name _uomscheduleid_value _baseuom_value quantity:decimal isschedulebaseuom:bool"),
    _set(
        "accounts",
        "accountid",
        f"{_OWNED} accountnumber name emailaddress1 telephone1 websiteurl address1_line1 address1_city"
        " address1_postalcode address1_country creditlimit:decimal paymenttermscode:int customertypecode:int"
        f" _transactioncurrencyid_value _primarycontactid_value p2c_customergroupid p2c_onholdstatus {_STATE}",
        "customer",
        _STATECODE,
    ),
    _set(
        "contacts",
        "contactid",
        f"{_OWNED} p2c_contactnumber firstname lastname fullname emailaddress1 telephone1 jobtitle"
        f" _parentcustomerid_value _transactioncurrencyid_value {_STATE}",
        "contact",
        _STATECODE,
    ),
    _set(
        "products",
        "productid",
        f"{_COMMON} productnumber name description price:decimal standardcost:decimal currentcost:decimal"
        " _defaultuomid_value _defaultuomscheduleid_value _pricelevelid_value _transactioncurrencyid_value"
        f" producttypecode:int productstructure:int quantitydecimal:int quantityonhand:decimal p2c_isexternallymaintained:bool {_STATE}",
        "product",
        (("statecode", frozenset({0, 1, 2, 3})),),
    ),
    _set("pricelevels", "pricelevelid", f"{_COMMON} name begindate:date enddate:date _transactioncurrencyid_value {_STATE}"),
    _set(
        "productpricelevels",
        "productpricelevelid",
        f"{_COMMON} _pricelevelid_value _productid_value _uomid_value _uomscheduleid_value _transactioncurrencyid_value"
        " amount:decimal pricingmethodcode:int quantitysellingcode:int productnumber",
        "price",
    ),
    _set(
        "quotes",
        "quoteid",
        f"{_OWNED} quotenumber name _customerid_value _pricelevelid_value _transactioncurrencyid_value"
        f" effectivefrom:date effectiveto:date p2c_quotationstatus p2c_hasexternallymaintainedproductsonly:bool {_TOTALS} {_STATE}",
        "quote",
    ),
    _set("quotedetails", "quotedetailid", f"{_OWNED} _quoteid_value {_LINE}", "quote_line"),
    _set(
        "salesorders",
        "salesorderid",
        f"{_OWNED} ordernumber name _customerid_value _pricelevelid_value _transactioncurrencyid_value _quoteid_value"
        " requestdeliveryby:date datefulfilled:date submitdate:date paymenttermscode:int p2c_processingstatus"
        f" p2c_isexternallymaintained:bool {_TOTALS} {_STATE}",
        "order",
    ),
    _set("salesorderdetails", "salesorderdetailid", f"{_OWNED} _salesorderid_value {_LINE} quantityshipped:decimal p2c_linestatus", "order_line"),
    _set(
        "invoices",
        "invoiceid",
        f"{_OWNED} invoicenumber name _customerid_value _salesorderid_value _pricelevelid_value _transactioncurrencyid_value"
        f" duedate:date p2c_invoicedate:date p2c_isexternallymaintained:bool {_TOTALS} {_STATE}",
        "invoice",
    ),
    _set("invoicedetails", "invoicedetailid", f"{_OWNED} _invoiceid_value {_LINE}", "invoice_line"),
)

# the alternate keys the writeback's idempotent creates (upserts by natural key) rely on, by entity
# set: attribute logical names (a lookup without its _…_value), as EntityDefinitions(…)/Keys lists them
ALTERNATE_KEYS: dict[str, tuple[str, ...]] = {
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

_PRIMARY_KEYS = {e.entity_set: e.key[0] for e in ENTITIES}


def primary_key(entity_set: str) -> str:
    """An entity set's GUID column (``accounts`` → ``accountid``); ``KeyError`` for a set not declared."""
    try:
        return _PRIMARY_KEYS[entity_set]
    except KeyError:
        raise KeyError(f"{entity_set} is not a Dataverse entity set p2c declares (systems/dataverse/entities.py)") from None
