"""Business Central (API v2.0): the entity sets p2c reads and writes, and the service's constants.

Written from the API fact sheet (Microsoft's API v2.0 reference: ``dynamics_<resource>`` pages),
not from any emulator. Each set is one line of :data:`ENTITIES`: set name, key, the properties p2c
maps with their types (codes: :mod:`p2c_core.entity`) and the canonical entity it feeds.

Every set but ``companies`` lives inside a company (``companies({id})/<set>``) and is addressed
by its GUID ``id``; BC rows do not say which company they belong to, so the source adds
``companyId`` (column ``company_id``) to each row and the key is ``(companyId, id)``. ``companyId``
is therefore declared first in every spec but is never asked of the service (:data:`ADDED`).
Line sets carry no ``lastModifiedDateTime``: :data:`LINES_OF` says whose lines they are, and the
source reads them through their changed headers.
"""

from __future__ import annotations

from datetime import timedelta

from p2c_core.entity import EntitySpec

PAGE_SIZE = 20_000  # BC online's fixed maximum per page (Prefer: odata.maxpagesize; more → 413)
COMPANY = "companyId"  # added by the source to every row: the company it was read from
ADDED = (COMPANY,)  # columns p2c adds; never requested, never in the tenant's sets
MODIFIED = "lastModifiedDateTime"
# incremental reads ask for rows modified after (cursor − OVERLAP): a row committed late with an
# earlier timestamp is not lost; the rows read twice merge on (company_id, id)
OVERLAP = timedelta(minutes=5)
# header ids per `$filter=documentId eq … or …` when the lines of changed headers are read
LINE_FILTER_CHUNK = 25
# BC has no nulls: a blank date is 0001-01-01, read as null (it would be out of range otherwise)
BLANK_DATE = "0001-01-01"

_ADDRESS = "addressLine1 addressLine2 city state country postalCode"
_HEAD = (
    "number externalDocumentNumber customerId customerNumber customerName billToName billToCustomerId"
    " billToCustomerNumber shipToName shipToContact sellToAddressLine1 sellToAddressLine2 sellToCity sellToCountry"
    " sellToState sellToPostCode currencyId currencyCode paymentTermsId shipmentMethodId salesperson"
    " discountAmount:decimal totalAmountExcludingTax:decimal totalTaxAmount:decimal totalAmountIncludingTax:decimal"
    " status phoneNumber email"
)
_LINE = (
    "documentId sequence:int itemId lineType lineObjectNumber description unitOfMeasureId unitOfMeasureCode"
    " unitPrice:decimal quantity:decimal discountAmount:decimal discountPercent:decimal amountExcludingTax:decimal"
    " taxCode taxPercent:decimal totalTaxAmount:decimal amountIncludingTax:decimal netAmount:decimal"
)


def _spec(columns: str, modified: bool = True) -> str:
    return f"{COMPANY} id {columns}" + (f" {MODIFIED}:datetime" if modified else "")


def _set(name: str, columns: str, canonical: str | None = None, *, modified: bool = True, **kw) -> EntitySpec:
    return EntitySpec(name, (COMPANY, "id"), _spec(columns, modified), canonical=canonical,
                      modified_column=MODIFIED if modified else None, tracks_deletions=True, **kw)


def _reference(name: str, spec: str) -> EntitySpec:
    """A small reference set: read whole and replaced each run (``_p2c_deleted`` always false)."""
    return EntitySpec(name, (COMPANY, "id"), spec, tracks_deletions=True)


ENTITIES: tuple[EntitySpec, ...] = (
    # companies: companyId = the company's own id (so every table has the same key)
    _reference("companies", _spec("name displayName", modified=False)),
    _reference("currencies", _spec("code displayName symbol amountDecimalPlaces amountRoundingPrecision:decimal")),
    # each currency's rates against the company's local currency (GET only): the exchange rate a
    # currency created in the CRM gets
    _reference("currencyExchangeRates", _spec("currencyCode startingDate:date exchangeRateAmount:decimal"
                                              " relationalCurrencyCode relationalExchangeRateAmount:decimal")),
    _reference("unitsOfMeasure", _spec("code displayName internationalStandardCode symbol")),
    _reference("paymentTerms", _spec("code displayName dueDateCalculation discountDateCalculation discountPercent:decimal")),
    # the salespeople: coupled to the CRM's users (by e-mail, then name), never created by p2c
    _reference("salespeoplePurchasers", _spec("code displayName email email2 jobTitle blocked:bool")),
    _set("customers",
         f"number displayName type {_ADDRESS} phoneNumber email website salespersonCode balanceDue:decimal"
         " creditLimit:decimal taxLiable:bool taxRegistrationNumber currencyId currencyCode paymentTermsId"
         " shipmentMethodId paymentMethodId blocked",
         "customer", known_values=(("blocked", frozenset({" ", "", "Ship", "Invoice", "All"})),)),
    _set("contacts",
         f"number type displayName jobTitle companyNumber companyName contactBusinessRelation {_ADDRESS} phoneNumber"
         " mobilePhoneNumber email website privacyBlocked:bool",
         "contact"),
    _set("items",
         "number displayName type itemCategoryCode blocked:bool gtin inventory:decimal unitPrice:decimal"
         " priceIncludesTax:bool unitCost:decimal taxGroupCode baseUnitOfMeasureId baseUnitOfMeasureCode",
         "product"),
    _set("salesQuotes", f"{_HEAD} documentDate:date postingDate:date dueDate:date validUntilDate:date acceptedDate:date",
         "quote"),
    _set("salesQuoteLines", _LINE, "quote_line", modified=False),
    _set("salesOrders", f"{_HEAD} orderDate:date postingDate:date requestedDeliveryDate:date pricesIncludeTax:bool"
         " partialShipping:bool fullyShipped:bool", "order"),
    _set("salesOrderLines", f"{_LINE} shipmentDate:date shippedQuantity:decimal invoicedQuantity:decimal",
         "order_line", modified=False),
    _set("salesInvoices", f"{_HEAD} invoiceDate:date postingDate:date dueDate:date orderId orderNumber"
         " customerPurchaseOrderReference remainingAmount:decimal", "invoice"),
    _set("salesInvoiceLines", f"{_LINE} shipmentDate:date", "invoice_line", modified=False),
)

BY_SET = {e.entity_set: e for e in ENTITIES}
# line set → its header set (lines are read through the headers changed since the last run)
LINES_OF = {"salesQuoteLines": "salesQuotes", "salesOrderLines": "salesOrders", "salesInvoiceLines": "salesInvoices"}
LINE_SET = {header: lines for lines, header in LINES_OF.items()}  # header set → its line set (deep insert)
# small reference sets: read whole and replaced each run
REPLACED = frozenset({"companies", "currencies", "currencyExchangeRates", "unitsOfMeasure", "paymentTerms",
                      "salespeoplePurchasers"})
# sets read whole every run, though they carry lastModifiedDateTime: an item's inventory is a FlowField
# (the sum of its ledger entries) that moves when BC posts, without touching the item's timestamp, and
# item availability reaches the CRM every run. Merged (not replaced): deletions are still compared.
EVERY_RUN = frozenset({"items"})
# how often the id-set comparison looks for deleted rows ([sources.<role>] deletion_check)
DELETION_CHECKS = {"every_run": timedelta(0), "daily": timedelta(days=1)}
DEFAULT_DELETION_CHECK = "every_run"


def wire_columns(entity: EntitySpec) -> list[str]:
    """The properties asked of the service (``$select``): the declared ones but those p2c adds."""
    return [c for c in entity.columns if c not in ADDED]
