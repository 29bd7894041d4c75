"""The entity sets the Business Central API v2.0 emulator serves, declared once.

Written from ``shared/api/business_central.md`` §3 (the documented properties of each set), in
the sandbox catalogue's terms (:class:`sandbox.schema.Col`/``Entity``). Every set but
``companies`` lives inside a company: its table carries a hidden ``companyId`` column and the key
``(companyId, id)`` (rows of one company are one key range), while the API addresses a row by
its GUID ``id`` alone. :data:`PUBLIC` holds the entities as the API shows them (no
``companyId``), which is what ``$filter``/``$select``/``$orderby`` and the payload checks see.

BC has no nulls: a blank text is ``""``, a blank number 0, an unlinked GUID the empty GUID, a
blank date ``0001-01-01`` (the documented samples show the empty GUID where nothing is linked).
Option fields are strings on the wire; :data:`VALUES` lists the members a write may use.
"""

from __future__ import annotations

from dataclasses import replace

from sandbox.schema import Col, Entity

NAMESPACE = "Microsoft.NAV"
COMPANY = "companyId"  # hidden column of every company-scoped table
MODIFIED = "lastModifiedDateTime"
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"


def _g(name: str, readonly: bool = False) -> Col:
    return Col(name, "guid", readonly=readonly)


def _n(name: str, readonly: bool = False) -> Col:
    return Col(name, "decimal", readonly=readonly)


def _b(name: str, readonly: bool = False) -> Col:
    return Col(name, "bool", readonly=readonly)


def _d(name: str) -> Col:
    return Col(name, "date")


def _s(*names: str, readonly: bool = False) -> tuple[Col, ...]:
    return tuple(Col(n, readonly=readonly) for n in names)


def _address(prefix: str = "") -> tuple[Col, ...]:
    if not prefix:
        return _s("addressLine1", "addressLine2", "city", "state", "country", "postalCode")
    return _s(*(f"{prefix}{p}" for p in ("AddressLine1", "AddressLine2", "City", "Country", "State", "PostCode")))


_MODIFIED = Col(MODIFIED, "datetime", readonly=True)


def _totals() -> tuple[Col, ...]:
    return (_n("discountAmount"), _n("totalAmountExcludingTax", True), _n("totalTaxAmount", True),
            _n("totalAmountIncludingTax", True))


def _document_head() -> tuple[Col, ...]:
    return (
        Col("number"), Col("externalDocumentNumber"),
        _g("customerId"), Col("customerNumber"), Col("customerName"),
        Col("billToName"), _g("billToCustomerId"), Col("billToCustomerNumber"), Col("shipToName"), Col("shipToContact"),
        *_address("sellTo"), *_address("billTo"), *_address("shipTo"),
        _g("currencyId"), Col("currencyCode"), _g("paymentTermsId"), _g("shipmentMethodId"), Col("salesperson"),
    )


def _line(extra: tuple[Col, ...] = ()) -> tuple[Col, ...]:
    """The documented line properties (no lastModifiedDateTime: line sets carry no timestamp)."""
    return (
        _g("id"), _g("documentId"), Col("sequence", "int"), _g("itemId"), _g("accountId"), Col("lineType"),
        Col("lineObjectNumber"), Col("description"), Col("description2"), _g("unitOfMeasureId"),
        Col("unitOfMeasureCode"), _n("unitPrice"), _n("quantity"), _n("discountAmount"), _n("discountPercent"),
        _b("discountAppliedBeforeTax", True), _n("amountExcludingTax", True), Col("taxCode"), _n("taxPercent", True),
        _n("totalTaxAmount", True), _n("amountIncludingTax", True), _n("invoiceDiscountAllocation", True),
        _n("netAmount", True), _n("netTaxAmount", True), _n("netAmountIncludingTax", True), _g("itemVariantId"),
        _g("locationId"), *extra,
    )


def _set(set_name: str, type_name: str, columns: tuple[Col, ...]) -> Entity:
    names = {c.name for c in columns}
    # indexed look-ups: a number or code within a company, a document's lines in order
    alternate = next(((COMPANY, *k) for k in (("documentId", "sequence"), ("number",), ("code",)) if set(k) <= names), None)
    return Entity(set_name, type_name, (COMPANY, "id"), (_g(COMPANY), *columns), primary_name=None, company=True,
                  statecode=False, has_timestamps=False, alternate_keys=(alternate,) if alternate else ())


BC_ENTITIES: tuple[Entity, ...] = (
    Entity("companies", "company", ("id",),
           (_g("id"), Col("systemVersion", readonly=True), Col("name", readonly=True),
            Col("displayName", readonly=True), Col("businessProfileId", readonly=True)),
           statecode=False, has_timestamps=False),
    # companyInformation (API v2.0 `dynamics_companyinformation`): one row per company; currencyCode is
    # the local currency (read-only)
    _set("companyInformation", "companyInformation", (
        _g("id"), Col("displayName"), *_address(), Col("phoneNumber"), Col("faxNumber"), Col("email"),
        Col("website"), Col("taxRegistrationNumber"), Col("currencyCode", readonly=True),
        _d("currentFiscalYearStartDate"), Col("industry"), _MODIFIED)),
    _set("currencies", "currency", (
        _g("id"), Col("code"), Col("displayName"), Col("symbol"), Col("amountDecimalPlaces"),
        _n("amountRoundingPrecision"), _MODIFIED)),
    # currencyExchangeRates (API v2.0 `dynamics_currencyexchangerate`, GET only): exchangeRateAmount units
    # of currencyCode = relationalExchangeRateAmount units of relationalCurrencyCode (blank: the local one)
    _set("currencyExchangeRates", "currencyExchangeRate", (
        _g("id"), Col("currencyCode"), _d("startingDate"), _n("exchangeRateAmount"), Col("relationalCurrencyCode"),
        _n("relationalExchangeRateAmount"), _MODIFIED)),
    _set("unitsOfMeasure", "unitOfMeasure", (
        _g("id"), Col("code"), Col("displayName"), Col("internationalStandardCode"), Col("symbol"), _MODIFIED)),
    _set("paymentTerms", "paymentTerm", (
        _g("id"), Col("code"), Col("displayName"), Col("dueDateCalculation"), Col("discountDateCalculation"),
        _n("discountPercent"), _b("calculateDiscountOnCreditMemos"), _MODIFIED)),
    # salespeoplePurchasers (API v2.0 `dynamics_salespersonpurchaser`): the BC side of the CRM users
    _set("salespeoplePurchasers", "salespersonPurchaser", (
        _g("id"), Col("code"), Col("displayName"), Col("email"), Col("email2"), Col("phoneNo"), Col("jobTitle"),
        _n("commisionPercent"), _b("privacyBlocked"), _b("blocked"), _MODIFIED)),
    _set("customers", "customer", (
        _g("id"), Col("number"), Col("displayName"), Col("type"), *_address(), Col("phoneNumber"), Col("email"),
        Col("website"), Col("salespersonCode"), _n("balanceDue", True), _n("creditLimit"), _b("taxLiable"),
        _g("taxAreaId"), Col("taxAreaDisplayName"), Col("taxRegistrationNumber"), _g("currencyId"),
        Col("currencyCode"), _g("paymentTermsId"), _g("shipmentMethodId"), _g("paymentMethodId"), Col("blocked"),
        _MODIFIED)),
    _set("contacts", "contact", (
        _g("id"), Col("number"), Col("type"), Col("displayName"), Col("jobTitle"), Col("companyNumber"),
        Col("companyName"), Col("contactBusinessRelation"), *_address(), Col("phoneNumber"),
        Col("mobilePhoneNumber"), Col("email"), Col("website"), Col("searchName"), _b("privacyBlocked"),
        Col("taxRegistrationNumber"), _d("lastInteractionDate"), _MODIFIED)),
    _set("items", "item", (
        _g("id"), Col("number"), Col("displayName"), Col("displayName2"), Col("type"), _g("itemCategoryId"),
        Col("itemCategoryCode"), _b("blocked"), Col("gtin"), _n("inventory", True), _n("unitPrice"),
        _b("priceIncludesTax"), _n("unitCost"), _g("taxGroupId"), Col("taxGroupCode"), _g("baseUnitOfMeasureId"),
        Col("baseUnitOfMeasureCode"), _g("generalProductPostingGroupId"), Col("generalProductPostingGroupCode"),
        _g("inventoryPostingGroupId"), Col("inventoryPostingGroupCode"), _MODIFIED)),
    _set("salesQuotes", "salesQuote", (
        _g("id"), *_document_head(), _d("documentDate"), _d("postingDate"), _d("dueDate"), *_totals(),
        Col("status"), Col("sentDate", "datetime"), _d("validUntilDate"), _d("acceptedDate"), Col("phoneNumber"),
        Col("email"), _MODIFIED)),
    _set("salesQuoteLines", "salesQuoteLine", _line()),
    _set("salesOrders", "salesOrder", (
        _g("id"), *_document_head(), _d("orderDate"), _d("postingDate"), Col("shortcutDimension1Code"),
        Col("shortcutDimension2Code"), _b("pricesIncludeTax"), _b("partialShipping"), _d("requestedDeliveryDate"),
        _b("discountAppliedBeforeTax", True), *_totals(), _b("fullyShipped", True), Col("status"),
        Col("phoneNumber"), Col("email"), _MODIFIED)),
    _set("salesOrderLines", "salesOrderLine", _line((
        _d("shipmentDate"), _n("shippedQuantity", True), _n("invoicedQuantity", True), _n("invoiceQuantity"),
        _n("shipQuantity")))),
    _set("salesInvoices", "salesInvoice", (
        _g("id"), *_document_head(), _d("invoiceDate"), _d("postingDate"), _d("dueDate"), _d("promisedPayDate"),
        Col("customerPurchaseOrderReference"), _g("orderId", True), Col("orderNumber", readonly=True),
        Col("shortcutDimension1Code"), Col("shortcutDimension2Code"), _b("pricesIncludeTax"),
        _g("disputeStatusId"), Col("disputeStatus"), _b("discountAppliedBeforeTax", True), *_totals(),
        _n("remainingAmount", True), Col("status", readonly=True), Col("phoneNumber"), Col("email"), _MODIFIED)),
    _set("salesInvoiceLines", "salesInvoiceLine", _line((_d("shipmentDate"),))),
)

BC = {e.set_name: e for e in BC_ENTITIES}

# the entities as the API shows them: no companyId, keyed by id
PUBLIC = {
    name: e if not e.company else replace(e, key=("id",), columns=tuple(c for c in e.columns if c.name != COMPANY))
    for name, e in BC.items()
}

# document set -> its line set (a child collection, and the deep-insert property of the header)
LINES = {"salesQuotes": "salesQuoteLines", "salesOrders": "salesOrderLines", "salesInvoices": "salesInvoiceLines"}
HEADER_OF = {lines: header for header, lines in LINES.items()}

QUOTE_STATUS = ("Draft", "Sent", "Accepted", "Expired")
# the documented order statuses; presumed (unverified) to show BC's document status Open as "Draft",
# Pending Approval as "In Review" and Released as "Open" (a submitted CRM order arrives released: "Open")
ORDER_STATUS = ("Draft", "In Review", "Open")
INVOICE_STATUS = ("Draft", "In Review", "Open", "Paid", "Canceled", "Corrective")
LINE_TYPES = ("Comment", "Account", "Item", "Resource", "Fixed Asset", "Charge")

# option members a write may use, per (entity set, property)
VALUES: dict[tuple[str, str], tuple[str, ...]] = {
    ("customers", "type"): ("Company", "Person"),
    ("customers", "blocked"): (" ", "Ship", "Invoice", "All"),
    ("contacts", "type"): ("Company", "Person"),
    ("items", "type"): ("Inventory", "Service", "Non-Inventory"),
    ("salesQuotes", "status"): QUOTE_STATUS,
    ("salesOrders", "status"): ORDER_STATUS,
    **{(s, "lineType"): LINE_TYPES for s in HEADER_OF},
}


def has_modified(set_name: str) -> bool:
    return MODIFIED in BC[set_name].names
