"""Business Central's own logic behind the emulated API: what BC decides when a client writes.

- defaults and look-ups on create (numbers from number series, the customer's name, addresses,
  currency, payment terms and salesperson copied onto a document, an item's description, price
  and unit onto a line, ``id`` ↔ code pairs such as ``currencyId``/``currencyCode``);
- document arithmetic: line amounts and tax (rates and rounding from :mod:`sandbox.erp_logic`), the
  header's invoice discount (``discountAmount``) allocated over the lines, header totals summed
  from the lines — recomputed inside the write's transaction whenever a line or the discount
  changes, so a line write changes its header's ``lastModifiedDateTime`` and ETag;
- posting an order (:func:`ship_and_invoice`, the bound action ``Microsoft.NAV.shipAndInvoice``):
  a posted ``salesInvoices`` row with lines, ``orderId``/``orderNumber`` set, the order's lines
  shipped and invoiced, ``items.inventory`` reduced, the customer's ``balanceDue`` raised;
- refusals (:class:`BusinessRuleError`, answered 400 with code ``Unknown``, the code the fact sheet
  shows for a validation failure): a blocked customer, an unknown code, a posted document's lines.

Every write goes through :func:`insert`/:func:`update`, the one place that stamps
``lastModifiedDateTime`` (UTC, milliseconds) on the sets that have it; line sets have none.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sandbox import erp_logic
from sandbox.business_central_schema import BC, COMPANY, EMPTY_GUID, HEADER_OF, LINES, MODIFIED, has_modified
from sandbox.erp_logic import money
from sandbox.store import DuplicateKey, Store

# BC company name -> (legal entity whose tax rate it charges, local currency): the demo's two companies
COMPANIES: dict[str, tuple[str, str]] = {"CRONUS USA": ("usmf", "USD"), "CRONUS Europe": ("demf", "EUR")}
NUMBER_SERIES = {"customers": "C", "contacts": "CT", "items": "I", "salesQuotes": "S-QUO", "salesOrders": "S-ORD",
                 "salesInvoices": "PS-INV"}
LINE_STEP = 10_000  # BC numbers lines 10000, 20000, …


class BusinessRuleError(Exception):
    """BC refuses the write (the service answers 400, code ``Unknown``)."""


def now_ms(at: datetime | None = None) -> str:
    t = (at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def today() -> str:
    return datetime.now(timezone.utc).date().isoformat()


# --- the store ------------------------------------------------------------------------------------


def insert(store: Store, set_name: str, values: dict[str, Any]) -> dict[str, Any]:
    if not values.get("id"):
        values["id"] = str(uuid.uuid4())
    if has_modified(set_name):
        values[MODIFIED] = now_ms()
    return store.insert(set_name, values)


def update(store: Store, set_name: str, row: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Store only what differs (an unchanged total must not move the row's version or timestamp)."""
    changes = {k: v for k, v in values.items() if row.get(k) != v}
    if not changes:
        return dict(row)
    if has_modified(set_name):
        changes[MODIFIED] = now_ms()
    return store.update(set_name, key(row), changes)


def key(row: Mapping[str, Any]) -> dict[str, Any]:
    return {COMPANY: row[COMPANY], "id": row["id"]}


def find(store: Store, company: str, set_name: str, **values: Any) -> dict[str, Any] | None:
    rows = store.find(set_name, {COMPANY: company, **values})
    return rows[0] if rows else None


def lines_of(store: Store, company: str, line_set: str, document_id: str) -> list[dict[str, Any]]:
    return list(store.iter_rows(line_set, f'"{COMPANY}" = ? AND "documentId" = ?', (company, document_id),
                                order_by=[("sequence", False)]))


def next_number(store: Store, set_name: str) -> str:
    """The next number of the set's number series (``S-ORD-00042``)."""
    return erp_logic.next_number(store, NUMBER_SERIES[set_name], set_name, "number")


# --- pure document arithmetic -----------------------------------------------------------------------


def tax_percent(legal_entity: str, taxable: bool = True) -> float:
    return float(erp_logic.tax_rate(legal_entity) * 100) if taxable else 0.0


def price_document(legal_entity: str, lines: list[Mapping[str, Any]], discount: Any = 0,
                   taxable: bool = True) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """The computed fields of each line and the header totals.

    A line: ``amountExcludingTax`` = quantity × unit price − line discount (``discountPercent``
    when no amount is given), tax at the company's rate. The header's ``discountAmount`` (invoice
    discount) is allocated over the lines by amount, to the cent; ``net*`` are after it, and the
    header totals are their sums."""
    rate_entity = legal_entity if taxable else ""
    priced: list[dict[str, Any]] = []
    for ln in lines:
        qty, price = ln.get("quantity") or 0, ln.get("unitPrice") or 0
        disc, pct = ln.get("discountAmount"), ln.get("discountPercent") or 0
        if not disc and pct:
            disc = money(Decimal(str(qty)) * Decimal(str(price)) * Decimal(str(pct)) / 100)
        amount = erp_logic.line_amount(qty, price, disc)
        tax = erp_logic.line_tax(rate_entity, amount)
        priced.append({"discountAmount": float(money(disc)), "amountExcludingTax": float(amount),
                       "taxPercent": tax_percent(legal_entity, taxable), "totalTaxAmount": float(tax),
                       "amountIncludingTax": float(amount + tax), "discountAppliedBeforeTax": True})
    allocations = _allocate(money(discount), [money(p["amountExcludingTax"]) for p in priced])
    net = tax = Decimal("0.00")
    for p, alloc in zip(priced, allocations):
        n = money(p["amountExcludingTax"]) - alloc
        t = erp_logic.line_tax(rate_entity, n)
        p.update({"invoiceDiscountAllocation": float(alloc), "netAmount": float(n), "netTaxAmount": float(t),
                  "netAmountIncludingTax": float(n + t)})
        net, tax = net + n, tax + t
    return priced, {"discountAmount": float(money(discount)), "totalAmountExcludingTax": float(net),
                    "totalTaxAmount": float(tax), "totalAmountIncludingTax": float(net + tax)}


def _allocate(total: Decimal, amounts: list[Decimal]) -> list[Decimal]:
    """``total`` split over ``amounts`` in proportion, in cents that add up exactly (largest remainder)."""
    base = sum(amounts, Decimal("0"))
    if not total or base <= 0:
        return [Decimal("0.00")] * len(amounts)
    total = min(total, base)
    cents = int(total * 100)
    exact = [a * cents / base for a in amounts]
    shares = [int(x) for x in exact]
    for i in sorted(range(len(amounts)), key=lambda i: exact[i] - shares[i], reverse=True)[: cents - sum(shares)]:
        shares[i] += 1
    return [Decimal(s) / 100 for s in shares]


def due_date(invoice_date: str, formula: str | None) -> str:
    """The due date of a date-formula such as ``30D``/``2W``/``1M`` (others: the date itself)."""
    m = re.fullmatch(r"\s*(\d+)\s*([DWM])\s*", formula or "", re.I)
    d = date.fromisoformat(invoice_date)
    if not m:
        return d.isoformat()
    n, unit = int(m.group(1)), m.group(2).upper()
    days = n if unit == "D" else 7 * n if unit == "W" else 30 * n
    return (d + timedelta(days=days)).isoformat()


# --- the write stages the service calls ---------------------------------------------------------------


class Books:
    """The logic of one company: ``company`` is its row in ``companies``."""

    def __init__(self, store: Store, company: Mapping[str, Any]):
        self.store = store
        self.id = company["id"]
        self.legal_entity, self.currency = COMPANIES.get(company.get("name") or "", ("", "USD"))

    def get(self, set_name: str, row_id: Any) -> dict[str, Any] | None:
        if not row_id or row_id == EMPTY_GUID:
            return None
        return self.store.get(set_name, {COMPANY: self.id, "id": str(row_id).lower()})

    def _pair(self, values: dict[str, Any], id_col: str, code_col: str | None, set_name: str, label: str,
              table: str, code: str = "code") -> dict[str, Any] | None:
        """Resolve an ``xxxId``/``xxxCode`` pair either way; refuses a code or id nothing has."""
        given_id, given_code = values.get(id_col), values.get(code_col) if code_col else None
        if given_id and given_id != EMPTY_GUID:
            row = self.get(set_name, given_id)
            if row is None:
                raise BusinessRuleError(f"The {label} does not exist. Identification fields and values: Id='{given_id}'")
        elif given_code:
            row = find(self.store, self.id, set_name, **{code: given_code})
            if row is None:
                raise BusinessRuleError(f"The field {label} of table {table} contains a value ({given_code}) that "
                                        f"cannot be found in the related table ({set_name}).")
        else:
            return None
        values[id_col] = row["id"]
        if code_col:
            values[code_col] = row[code]
        return row

    def _currency(self, values: dict[str, Any], table: str) -> None:
        code = values.get("currencyCode")
        if code is not None and code in ("", self.currency):  # local currency: no currency row, the empty id
            values["currencyId"], values["currencyCode"] = EMPTY_GUID, self.currency
        else:
            self._pair(values, "currencyId", "currencyCode", "currencies", "Currency Code", table)

    # create / update: the values to store -----------------------------------------------------------

    def prepare(self, set_name: str, before: dict[str, Any] | None, values: dict[str, Any]) -> dict[str, Any]:
        creating = before is None
        merged = {**(before or {}), **values}
        if set_name in ("customers", "contacts", "items", "salesQuotes", "salesOrders") and creating:
            values.setdefault("number", None)
            values["number"] = values["number"] or next_number(self.store, set_name)
        if set_name in ("currencies", "unitsOfMeasure", "paymentTerms") and not merged.get("code"):
            raise BusinessRuleError(f"The field Code of table {BC[set_name].type_name} must have a value.")
        for natural in ("number", "code"):  # BC's primary key: unique within the company
            if values.get(natural) and (creating or values[natural] != before.get(natural)) and \
                    natural in BC[set_name].names and find(self.store, self.id, set_name, **{natural: values[natural]}):
                raise DuplicateKey(f"{set_name} {natural} {values[natural]}")
        if set_name == "customers":
            if creating:
                values.setdefault("type", "Company")
                values.setdefault("blocked", " ")
                values.setdefault("taxLiable", True)
                values["balanceDue"] = 0.0
            if creating or "currencyCode" in values or "currencyId" in values:
                values.setdefault("currencyCode", merged.get("currencyCode") or "")
                self._currency(values, "Customer")
            self._pair(values, "paymentTermsId", None, "paymentTerms", "Payment Terms", "Customer")
        elif set_name == "contacts":
            if creating:
                values.setdefault("type", "Person")
            if values.get("companyNumber"):
                company = find(self.store, self.id, "contacts", number=values["companyNumber"], type="Company")
                if company is None:
                    raise BusinessRuleError(f"The contact company {values['companyNumber']} does not exist.")
                values["companyName"] = company["displayName"]
        elif set_name == "items":
            if creating:
                values.setdefault("type", "Inventory")
                values["inventory"] = 0.0
            self._pair(values, "baseUnitOfMeasureId", "baseUnitOfMeasureCode", "unitsOfMeasure",
                       "Base Unit of Measure", "Item")
        elif set_name in ("salesQuotes", "salesOrders"):
            self._document(set_name, before, values)
        elif set_name == "salesInvoices":
            raise BusinessRuleError(f"Posted sales invoice {merged.get('number')} cannot be changed.")
        elif set_name in HEADER_OF:
            self._line(set_name, before, values)
        return values

    def _document(self, set_name: str, before: dict[str, Any] | None, values: dict[str, Any]) -> None:
        table = "Sales Header"
        if before is not None and before.get("fullyShipped"):
            raise BusinessRuleError(f"Sales order {before['number']} has been posted and cannot be changed.")
        if before is None or "customerId" in values or "customerNumber" in values:
            if before is not None and "customerId" not in values:
                values["customerId"] = None
            customer = self._pair(values, "customerId", "customerNumber", "customers", "Sell-to Customer No.", table,
                                  code="number")
            if customer is None:
                raise BusinessRuleError("The field Sell-to Customer No. of table Sales Header must have a value.")
            if customer.get("blocked") == "All":
                raise BusinessRuleError(f"You cannot create this type of document when Customer {customer['number']} "
                                        "is blocked with type All")
            values["customerName"] = customer.get("displayName") or ""
            for side in ("sellTo", "billTo"):
                for api, src in (("AddressLine1", "addressLine1"), ("AddressLine2", "addressLine2"), ("City", "city"),
                                 ("Country", "country"), ("State", "state"), ("PostCode", "postalCode")):
                    values.setdefault(f"{side}{api}", customer.get(src) or "")
            values.setdefault("billToCustomerId", customer["id"])
            values.setdefault("billToCustomerNumber", customer["number"])
            values.setdefault("billToName", customer.get("displayName") or "")
            values.setdefault("shipToName", customer.get("displayName") or "")
            values.setdefault("phoneNumber", customer.get("phoneNumber") or "")
            values.setdefault("email", customer.get("email") or "")
            values.setdefault("salesperson", customer.get("salespersonCode") or "")
            values.setdefault("paymentTermsId", customer.get("paymentTermsId") or EMPTY_GUID)
            if "currencyCode" not in values and "currencyId" not in values:
                values["currencyCode"] = customer.get("currencyCode") or ""
        if before is None or "currencyCode" in values or "currencyId" in values:
            values.setdefault("currencyCode", (before or {}).get("currencyCode") or "")
            self._currency(values, table)
        if before is None:
            values["status"] = values.get("status") or "Draft"
            values.setdefault("orderDate" if set_name == "salesOrders" else "documentDate", today())
            values.setdefault("postingDate", today())
            values.update(price_document(self.legal_entity, [], values.get("discountAmount") or 0)[1])
            if set_name == "salesOrders":
                values["fullyShipped"] = False

    def _line(self, set_name: str, before: dict[str, Any] | None, values: dict[str, Any]) -> None:
        header_set = HEADER_OF[set_name]
        if header_set == "salesInvoices":
            raise BusinessRuleError("Posted sales invoice lines cannot be changed.")
        doc_id = (before or values).get("documentId")
        header = self.get(header_set, doc_id)
        if header is None:
            raise BusinessRuleError(f"The {BC[header_set].type_name} does not exist. Identification fields and "
                                    f"values: Id='{doc_id}'")
        if before is not None and values.get("documentId", doc_id) != doc_id:
            raise BusinessRuleError("A line cannot move to another document.")
        if header.get("fullyShipped"):
            raise BusinessRuleError(f"Sales order {header['number']} has been posted; its lines cannot be changed.")
        values["documentId"] = header["id"]
        if before is None:
            if not values.get("sequence"):
                last = lines_of(self.store, self.id, set_name, header["id"])
                values["sequence"] = (last[-1]["sequence"] if last else 0) + LINE_STEP
            values.setdefault("lineType", "Item")
            values.setdefault("quantity", 0.0)
            if set_name == "salesOrderLines":
                values.update(shippedQuantity=0.0, invoicedQuantity=0.0)
        merged = {**(before or {}), **values}
        if merged.get("lineType") == "Item" and (before is None or "itemId" in values or "lineObjectNumber" in values):
            if before is not None and "itemId" not in values:
                values["itemId"] = None
            item = self._pair(values, "itemId", "lineObjectNumber", "items", "No.", "Sales Line", code="number")
            if item is None:
                raise BusinessRuleError("The field No. of table Sales Line must have a value.")
            if item.get("blocked"):
                raise BusinessRuleError(f"Item {item['number']} is blocked.")
            values.setdefault("description", item.get("displayName") or "")
            values.setdefault("unitPrice", item.get("unitPrice") or 0.0)
            values.setdefault("unitOfMeasureCode", item.get("baseUnitOfMeasureCode") or "")
            values.setdefault("taxCode", item.get("taxGroupCode") or "")
        if "unitOfMeasureCode" in values or "unitOfMeasureId" in values:
            self._pair(values, "unitOfMeasureId", "unitOfMeasureCode", "unitsOfMeasure", "Unit of Measure Code",
                       "Sales Line")
        merged = {**(before or {}), **values}
        if set_name == "salesOrderLines":
            outstanding = (merged.get("quantity") or 0) - (merged.get("invoicedQuantity") or 0)
            values.setdefault("shipQuantity", outstanding)
            values.setdefault("invoiceQuantity", outstanding)
        # the line's own amounts now; the invoice discount allocation when the header is recalculated
        values.update(price_document(self.legal_entity, [merged], 0, self._taxable(header))[0][0])

    def _taxable(self, header: Mapping[str, Any]) -> bool:
        customer = self.get("customers", header.get("customerId"))
        return customer is None or customer.get("taxLiable") is not False

    # after a write, inside its transaction -----------------------------------------------------------

    def after(self, set_name: str, before: dict[str, Any] | None, row: dict[str, Any] | None) -> None:
        current = row or before or {}
        if set_name in HEADER_OF and HEADER_OF[set_name] != "salesInvoices":
            self.recalculate(HEADER_OF[set_name], current["documentId"])
        elif set_name in ("salesQuotes", "salesOrders") and row is not None:
            if before is None or before.get("discountAmount") != row.get("discountAmount") or \
                    before.get("customerId") != row.get("customerId"):
                self.recalculate(set_name, row["id"])
        elif set_name == "customers" and before is not None and row is not None:
            # BC keeps the customer's company contact in step with the customer card (CustCont-Update)
            mirrored = {"displayName": "displayName", "companyName": "displayName", "phoneNumber": "phoneNumber",
                        "email": "email", "addressLine1": "addressLine1", "city": "city", "country": "country",
                        "postalCode": "postalCode"}
            if any(before.get(src) != row.get(src) for src in set(mirrored.values())):
                contact = find(self.store, self.id, "contacts", type="Company", contactBusinessRelation="Customer",
                               displayName=before.get("displayName") or "", postalCode=before.get("postalCode") or "")
                if contact is not None:
                    update(self.store, "contacts", contact, {c: row.get(src) or "" for c, src in mirrored.items()})
        elif set_name == "customers" and before is None and row is not None:
            # the customer's company contact (BC's contact business relation "Customer")
            number = next_number(self.store, "contacts")
            insert(self.store, "contacts", {
                COMPANY: self.id, "number": number, "type": "Company", "companyNumber": number,
                "displayName": row.get("displayName") or "", "companyName": row.get("displayName") or "",
                "contactBusinessRelation": "Customer", "phoneNumber": row.get("phoneNumber") or "",
                "email": row.get("email") or "", "addressLine1": row.get("addressLine1") or "",
                "city": row.get("city") or "", "country": row.get("country") or "",
                "postalCode": row.get("postalCode") or ""})

    def check_delete(self, set_name: str, row: dict[str, Any]) -> None:
        if set_name == "customers":
            used = self.store.fetch(
                'SELECT 1 FROM "salesOrders" WHERE "companyId" = ? AND "customerId" = ? UNION ALL '
                'SELECT 1 FROM "salesInvoices" WHERE "companyId" = ? AND "customerId" = ? LIMIT 1',
                (self.id, row["id"], self.id, row["id"]))
            if used:
                raise BusinessRuleError(f"You cannot delete Customer {row['number']} because there is at least one "
                                        "outstanding Sales Order or posted Sales Invoice for this customer.")
        elif set_name in HEADER_OF:
            header = self.get(HEADER_OF[set_name], row["documentId"])
            if HEADER_OF[set_name] == "salesInvoices" or (header is not None and header.get("fullyShipped")):
                raise BusinessRuleError("The lines of a posted document cannot be deleted.")
        elif set_name == "salesInvoices":
            raise BusinessRuleError(f"Posted sales invoice {row['number']} cannot be deleted.")

    def deleting(self, set_name: str, row: dict[str, Any]) -> None:
        """A header's lines go with it."""
        line_set = LINES.get(set_name)
        if line_set:
            for ln in lines_of(self.store, self.id, line_set, row["id"]):
                self.store.delete(line_set, key(ln))

    def recalculate(self, header_set: str, header_id: str) -> dict[str, Any] | None:
        header = self.get(header_set, header_id)
        if header is None:
            return None
        line_set = LINES[header_set]
        lines = lines_of(self.store, self.id, line_set, header_id)
        priced, totals = price_document(self.legal_entity, lines, header.get("discountAmount") or 0,
                                        self._taxable(header))
        for ln, p in zip(lines, priced):
            update(self.store, line_set, ln, p)
        return update(self.store, header_set, header, totals)

    # posting -----------------------------------------------------------------------------------------

    def ship_and_invoice(self, order_id: str, posting_date: str | None = None) -> dict[str, Any]:
        """Post an order: the posted invoice (returned) with its lines; the order's lines shipped and
        invoiced, the order ``fullyShipped``; item inventory down, the customer's balance up."""
        posting_date = posting_date or today()
        order = self.get("salesOrders", order_id)
        if order is None:
            raise BusinessRuleError(f"The salesOrder does not exist. Identification fields and values: Id='{order_id}'")
        lines = [ln for ln in lines_of(self.store, self.id, "salesOrderLines", order_id)
                 if (ln.get("quantity") or 0) > (ln.get("invoicedQuantity") or 0)]
        if order.get("fullyShipped") or not lines:
            raise BusinessRuleError("There is nothing to post.")
        customer = self.get("customers", order.get("customerId"))
        if customer is not None and customer.get("blocked") in ("Ship", "Invoice", "All"):
            raise BusinessRuleError(f"You cannot post this type of document when Customer {customer['number']} is "
                                    f"blocked with type {customer['blocked']}")
        terms = self.get("paymentTerms", order.get("paymentTermsId"))
        head = {c.name: order.get(c.name) for c in BC["salesInvoices"].columns
                if c.name in BC["salesOrders"].names and c.name not in ("id", "number", "status", MODIFIED)}
        head.update({
            "number": next_number(self.store, "salesInvoices"), "invoiceDate": posting_date,
            "postingDate": posting_date, "dueDate": due_date(posting_date, (terms or {}).get("dueDateCalculation")),
            "orderId": order["id"], "orderNumber": order["number"], "status": "Open",
            "remainingAmount": order.get("totalAmountIncludingTax") or 0.0,
            "customerPurchaseOrderReference": order.get("externalDocumentNumber") or ""})
        invoice = insert(self.store, "salesInvoices", head)
        line_cols = [c.name for c in BC["salesInvoiceLines"].columns if c.name not in (COMPANY, "id", "documentId")]
        for ln in lines:
            insert(self.store, "salesInvoiceLines", {
                COMPANY: self.id, "documentId": invoice["id"], **{c: ln.get(c) for c in line_cols},
                "shipmentDate": posting_date})
            update(self.store, "salesOrderLines", ln, {
                "shippedQuantity": ln["quantity"], "invoicedQuantity": ln["quantity"], "shipQuantity": 0.0,
                "invoiceQuantity": 0.0, "shipmentDate": posting_date})
            item = self.get("items", ln.get("itemId"))
            if item is not None and item.get("type") == "Inventory":
                # inventory is a FlowField (the item ledger's sum): posting moves it, never the item's
                # lastModifiedDateTime, so only a whole read of the items sees it
                self.store.update("items", key(item), {"inventory": float(money(item.get("inventory")) - money(ln["quantity"]))})
        update(self.store, "salesOrders", order, {"fullyShipped": True, "status": "Open"})  # posting releases it
        if customer is not None:
            update(self.store, "customers", customer,
                   {"balanceDue": float(money(customer.get("balanceDue")) + money(invoice["totalAmountIncludingTax"]))})
        return invoice
