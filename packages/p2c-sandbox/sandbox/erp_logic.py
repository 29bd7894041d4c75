"""The ERP's own business logic, which the integration depends on but never computes itself.

Pure rules first (amounts, tax, charges, totals, status progression), then the functions that
apply them to the ERP store:

- the write hooks the F&O app calls through :mod:`sandbox.finops_logic`
  (``finops_create``/``finops_update`` return the values to store; ``finops_created``/
  ``finops_updated``/``finops_delete``/``finops_deleted`` keep headers and children consistent);
- the ERP's internal processes the activity simulation runs beside the servers
  (:func:`confirm_order`, :func:`pick_order`, :func:`ship_order`, :func:`invoice_order`,
  :func:`cancel_order`) — in the real system these are jobs and forms, not OData writes.

Amounts are computed in ``Decimal`` and rounded half-up to cents, the way the ERP posts them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.store import Store, utc_now

CENT = Decimal("0.01")

# sales tax rate per legal entity (a single tax group per company is enough for the demo)
TAX_RATES: dict[str, Decimal] = {"usmf": Decimal("0.0825"), "demf": Decimal("0.19")}
DEFAULT_TAX_RATE = Decimal("0")

# freight charge rule: a flat charge on orders whose net line amount is below the threshold
FREIGHT: dict[str, tuple[Decimal, Decimal]] = {  # company -> (threshold, charge)
    "usmf": (Decimal("1000"), Decimal("25.00")),
    "demf": (Decimal("1000"), Decimal("20.00")),
}

ORDERS, ORDER_LINES = "CDSSalesOrderHeaders", "CDSSalesOrderLines"
QUOTES, QUOTE_LINES = "CDSSalesQuotationHeaders", "CDSSalesQuotationLines"
INVOICES, INVOICE_LINES = "SalesInvoiceHeadersV2", "SalesInvoiceLines"

# processing status -> (header SalesOrderStatus, line SalesOrderLineStatus)
SALES_STATUS: dict[str, str] = {
    "Active": "Backorder",
    "Confirmed": "Backorder",
    "Picked": "Backorder",
    "Delivered": "Delivered",
    "Invoiced": "Invoiced",
    "Canceled": "Canceled",
}
# the one forward path an order takes; a step may skip picking (ship straight from Confirmed)
PROGRESSION: tuple[str, ...] = ("Active", "Confirmed", "Picked", "Delivered", "Invoiced")
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "Confirmed": ("Active",),
    "Picked": ("Confirmed",),
    "Delivered": ("Confirmed", "Picked"),
    "Invoiced": ("Delivered",),
    "Canceled": ("Active", "Confirmed"),
}
CLOSED = ("Invoiced", "Canceled")

NUMBER_FORMATS: dict[str, int] = {"INV": 5, "CIV": 6, "SO": 5, "QUO": 5}  # prefix -> digits
# the party created with a customer or contact person gets its number from one global sequence
PARTY_NUMBERS = {"CustomersV3": "PartyNumber", "ContactPersons": "ContactPersonPartyNumber"}
PARTY_SEQUENCE, PARTY_DIGITS = "numseq:party", 9


class BusinessRuleError(Exception):
    """The ERP refuses the step (wrong status, missing order); the F&O app answers 400."""


# --- pure rules ---------------------------------------------------------------------------------


def money(value: Any) -> Decimal:
    """A stored number as an exact amount rounded to cents (None is 0)."""
    if value is None:
        return Decimal("0.00")
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def tax_rate(company: str) -> Decimal:
    return TAX_RATES.get((company or "").lower(), DEFAULT_TAX_RATE)


def line_amount(quantity: Any, price: Any, discount: Any = None) -> Decimal:
    """Net line amount: quantity × unit price − line discount amount."""
    gross = Decimal(str(quantity or 0)) * Decimal(str(price or 0))
    return (gross - Decimal(str(discount or 0))).quantize(CENT, rounding=ROUND_HALF_UP)


def line_tax(company: str, amount: Any) -> Decimal:
    return (money(amount) * tax_rate(company)).quantize(CENT, rounding=ROUND_HALF_UP)


def freight_charge(company: str, net_amount: Any, line_count: int) -> Decimal:
    """The freight charge the ERP adds to an order (none on empty orders or above the threshold)."""
    rule = FREIGHT.get((company or "").lower())
    if rule is None or line_count == 0:
        return Decimal("0.00")
    threshold, charge = rule
    return charge if money(net_amount) < threshold else Decimal("0.00")


def price_line(company: str, quantity: Any, price: Any, discount: Any = None) -> dict[str, float]:
    """The computed fields of one order line: ``LineAmount`` and ``TotalTaxAmount``."""
    amount = line_amount(quantity, price, discount)
    return {"LineAmount": float(amount), "TotalTaxAmount": float(line_tax(company, amount))}


def order_totals(company: str, lines: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Header totals from priced lines (``LineAmount``, ``TotalTaxAmount``, ``LineDiscountAmount``)."""
    net = tax = discount = Decimal("0.00")
    count = 0
    for ln in lines:
        count += 1
        net += money(ln.get("LineAmount"))
        tax += money(ln.get("TotalTaxAmount"))
        discount += money(ln.get("LineDiscountAmount"))
    charges = freight_charge(company, net, count)
    return {
        "OrderTotalAmount": float(net + tax + charges),
        "OrderTotalTaxAmount": float(tax),
        "OrderTotalChargesAmount": float(charges),
        "TotalDiscountAmount": float(discount),
    }


def quotation_totals(company: str, lines: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Quotation header totals: line amounts plus their tax (charges come with the order)."""
    net = Decimal("0.00")
    for ln in lines:
        net += money(ln.get("LineAmount"))
    tax = line_tax(company, net)
    return {"QuotationTotalAmount": float(net + tax), "QuotationTotalTaxAmount": float(tax)}


def statuses(processing_status: str) -> dict[str, str]:
    """Header fields for a processing status (SalesOrderStatus follows it)."""
    return {"SalesOrderProcessingStatus": processing_status, "SalesOrderStatus": SALES_STATUS[processing_status]}


def check_transition(current: str | None, target: str) -> None:
    """Raise :class:`BusinessRuleError` unless an order may move from ``current`` to ``target``."""
    if current not in ALLOWED_FROM.get(target, ()):
        raise BusinessRuleError(f"The sales order cannot move from status {current} to {target}.")


def format_number(prefix: str, n: int) -> str:
    return f"{prefix}-{n:0{NUMBER_FORMATS.get(prefix, 5)}d}"


def invoice_rows(
    order: Mapping[str, Any],
    lines: list[Mapping[str, Any]],
    invoice_number: str,
    voucher: str,
    invoice_date: str,
    product_names: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The invoice header and lines posting a whole order (pure: the caller stores them)."""
    company = order["dataAreaId"]
    names = product_names or {}
    inv_lines = []
    for ln in lines:
        inv_lines.append(
            {
                "dataAreaId": company,
                "InvoiceNumber": invoice_number,
                "LineCreationSequenceNumber": ln["LineCreationSequenceNumber"],
                "InvoiceDate": invoice_date,
                "ProductNumber": ln.get("ProductNumber"),
                "ProductName": names.get(ln.get("ProductNumber") or "") or ln.get("LineDescription"),
                "InvoicedQuantity": ln.get("OrderedSalesQuantity"),
                "SalesPrice": ln.get("SalesPrice"),
                "LineAmount": ln.get("LineAmount"),
                "LineTotalDiscountAmount": ln.get("LineDiscountAmount") or 0.0,
                "LineTotalTaxAmount": ln.get("TotalTaxAmount"),
                "SalesUnitSymbol": ln.get("SalesUnitSymbol"),
                "CurrencyCode": ln.get("CurrencyCode") or order.get("CurrencyCode"),
            }
        )
    totals = order_totals(company, lines)
    header = {
        "dataAreaId": company,
        "InvoiceNumber": invoice_number,
        "InvoiceDate": invoice_date,
        "LedgerVoucher": voucher,
        "SalesOrderNumber": order["SalesOrderNumber"],
        "InvoiceCustomerAccountNumber": order.get("InvoiceCustomerAccountNumber")
        or order.get("OrderingCustomerAccountNumber"),
        "CurrencyCode": order.get("CurrencyCode"),
        "TotalInvoiceAmount": totals["OrderTotalAmount"],
        "TotalTaxAmount": totals["OrderTotalTaxAmount"],
        "TotalDiscountAmount": totals["TotalDiscountAmount"],
        "TotalChargeAmount": totals["OrderTotalChargesAmount"],
        "PaymentTermsName": order.get("PaymentTermsName"),
        "CustomersOrderReference": order.get("CustomersOrderReference"),
    }
    return header, inv_lines


# --- the store ------------------------------------------------------------------------------------


def _order_key(company: str, order_number: str) -> dict[str, str]:
    return {"dataAreaId": company, "SalesOrderNumber": order_number}


def _lines(store: Store, set_name: str, number_col: str, company: str, number: str) -> list[dict[str, Any]]:
    return list(store.iter_rows(set_name, f'"dataAreaId" = ? AND "{number_col}" = ?', (company, number),
                                order_by=[("LineCreationSequenceNumber", False)]))


def order_lines(store: Store, company: str, order_number: str) -> list[dict[str, Any]]:
    return _lines(store, ORDER_LINES, "SalesOrderNumber", company, order_number)


def get_order(store: Store, company: str, order_number: str) -> dict[str, Any]:
    order = store.get(ORDERS, _order_key(company, order_number))
    if order is None:
        raise BusinessRuleError(f"Sales order {order_number} does not exist in company {company}.")
    return order


def _changed(row: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Only the values that differ (an unchanged total must not bump the row's version)."""
    return {k: v for k, v in values.items() if row.get(k) != v}


def recalculate_order(store: Store, company: str, order_number: str) -> dict[str, Any]:
    """Recompute every line's amounts and the header totals; returns the header."""
    with store.transaction():
        order = get_order(store, company, order_number)
        lines = order_lines(store, company, order_number)
        for ln in lines:
            priced = price_line(company, ln.get("OrderedSalesQuantity"), ln.get("SalesPrice"), ln.get("LineDiscountAmount"))
            changes = _changed(ln, priced)
            if changes:
                store.update(ORDER_LINES, _line_key(ln, "SalesOrderNumber"), changes)
                ln.update(changes)
        changes = _changed(order, order_totals(company, lines))
        if changes:
            order = store.update(ORDERS, _order_key(company, order_number), changes)
        return order


def recalculate_quotation(store: Store, company: str, quotation_number: str) -> dict[str, Any] | None:
    with store.transaction():
        key = {"dataAreaId": company, "SalesQuotationNumber": quotation_number}
        quote = store.get(QUOTES, key)
        if quote is None:
            return None
        lines = _lines(store, QUOTE_LINES, "SalesQuotationNumber", company, quotation_number)
        for ln in lines:
            amount = float(line_amount(ln.get("RequestedSalesQuantity"), ln.get("SalesPrice"), ln.get("LineDiscountAmount")))
            if ln.get("LineAmount") != amount:
                store.update(QUOTE_LINES, _line_key(ln, "SalesQuotationNumber"), {"LineAmount": amount})
                ln["LineAmount"] = amount
        changes = _changed(quote, quotation_totals(company, lines))
        return store.update(QUOTES, key, changes) if changes else quote


def _line_key(line: Mapping[str, Any], number_col: str) -> dict[str, Any]:
    return {"dataAreaId": line["dataAreaId"], number_col: line[number_col],
            "LineCreationSequenceNumber": line["LineCreationSequenceNumber"]}


def _set_status(store: Store, order: Mapping[str, Any], target: str) -> dict[str, Any]:
    company, number = order["dataAreaId"], order["SalesOrderNumber"]
    line_status = SALES_STATUS[target]
    for ln in order_lines(store, company, number):
        if ln.get("SalesOrderLineStatus") != line_status:
            store.update(ORDER_LINES, _line_key(ln, "SalesOrderNumber"), {"SalesOrderLineStatus": line_status})
    return store.update(ORDERS, _order_key(company, number), _changed(order, statuses(target)))


def _advance(store: Store, company: str, order_number: str, target: str) -> dict[str, Any]:
    with store.transaction():
        order = get_order(store, company, order_number)
        check_transition(order.get("SalesOrderProcessingStatus"), target)
        if target != "Canceled" and not order_lines(store, company, order_number):
            raise BusinessRuleError(f"Sales order {order_number} has no lines.")
        return _set_status(store, order, target)


def confirm_order(store: Store, company: str, order_number: str) -> dict[str, Any]:
    """Sales order confirmation: Active → Confirmed."""
    return _advance(store, company, order_number, "Confirmed")


def pick_order(store: Store, company: str, order_number: str) -> dict[str, Any]:
    """Picking list registration: Confirmed → Picked."""
    return _advance(store, company, order_number, "Picked")


def ship_order(store: Store, company: str, order_number: str) -> dict[str, Any]:
    """Packing slip posting (shipped): Confirmed/Picked → Delivered; lines become Delivered."""
    return _advance(store, company, order_number, "Delivered")


def cancel_order(store: Store, company: str, order_number: str) -> dict[str, Any]:
    return _advance(store, company, order_number, "Canceled")


def _take_number(store: Store, name: str, seed_sql: str, params: tuple = ()) -> int:
    """Take the next value of the number sequence ``name`` (kept in the store's meta; when it is
    missing, it starts after what ``seed_sql`` — a ``max(...) AS n`` — finds in the tables)."""
    with store.transaction():
        last = store.get_meta(name)
        if last is None:
            last = int(store.fetch(seed_sql, params)[0]["n"] or 0)
        store.set_meta(name, last + 1)
    return last + 1


def next_number(store: Store, prefix: str, set_name: str, column: str) -> str:
    """The next number of a document number sequence (``SO-00042``)."""
    width = len(prefix) + 2
    seed = (f'SELECT max(CAST(substr("{column}", {width}) AS INTEGER)) AS n FROM "{set_name}" '
            f'WHERE "{column}" LIKE ?')
    return format_number(prefix, _take_number(store, f"numseq:{prefix}", seed, (f"{prefix}-%",)))


def next_party_number(store: Store) -> str:
    """The next party number (``000001234``): one global sequence, as the global address book
    (DirPartyTable) numbers organisations and persons alike, in every company."""
    seed = " UNION ALL ".join(f'SELECT max(CAST("{col}" AS INTEGER)) AS n FROM "{set_name}"'
                              for set_name, col in PARTY_NUMBERS.items())
    n = _take_number(store, PARTY_SEQUENCE, f"SELECT max(n) AS n FROM ({seed})")
    return f"{n:0{PARTY_DIGITS}d}"


def invoice_order(store: Store, company: str, order_number: str, invoice_date: str | date | None = None,
                  ) -> dict[str, Any]:
    """Post the invoice of a delivered order: creates the invoice header and lines, and moves
    the order and its lines to Invoiced. Returns the invoice header."""
    if isinstance(invoice_date, date):
        invoice_date = datetime(invoice_date.year, invoice_date.month, invoice_date.day, tzinfo=timezone.utc)
        invoice_date = invoice_date.strftime("%Y-%m-%dT%H:%M:%SZ")
    invoice_date = invoice_date or utc_now()[:10] + "T00:00:00Z"
    with store.transaction():
        order = get_order(store, company, order_number)
        check_transition(order.get("SalesOrderProcessingStatus"), "Invoiced")
        lines = order_lines(store, company, order_number)
        if not lines:
            raise BusinessRuleError(f"Sales order {order_number} has no lines.")
        numbers = {ln.get("ProductNumber") for ln in lines if ln.get("ProductNumber")}
        names = {}
        for n in numbers:
            p = store.get("ReleasedProductsV2", {"dataAreaId": company, "ItemNumber": n})
            if p is not None:
                names[n] = p.get("ProductName")
        header, inv_lines = invoice_rows(
            order, lines,
            next_number(store, "INV", INVOICES, "InvoiceNumber"),
            next_number(store, "CIV", INVOICES, "LedgerVoucher"),
            invoice_date, names,
        )
        stored = store.insert(INVOICES, header)
        for row in inv_lines:
            store.insert(INVOICE_LINES, row)
        _set_status(store, order, "Invoiced")
        return stored


# --- hooks the F&O app calls on OData writes (sandbox.finops_logic) ----------------------------


def _refuse(message: str) -> Exception:
    from sandbox.finops_protocol import WRITE_ERROR, ODataError  # the F&O app's error shape

    return ODataError(400, message, inner_type=WRITE_ERROR)


def finops_create(store: Store, set_name: str, before: None, values: dict[str, Any]) -> dict[str, Any]:
    """Defaults and computed fields of a row the F&O service is about to create."""
    party_col = PARTY_NUMBERS.get(set_name)
    if party_col and not values.get(party_col):
        values[party_col] = next_party_number(store)
    if set_name == ORDERS:
        values.update({k: v for k, v in statuses("Active").items()})
        values.setdefault("OrderCreationDateTime", utc_now())
        values.setdefault("IsSalesProcessingStopped", "No")
        _customer_defaults(store, values, "OrderingCustomerAccountNumber")
        if not values.get("InvoiceCustomerAccountNumber"):
            values["InvoiceCustomerAccountNumber"] = values.get("OrderingCustomerAccountNumber")
        values.update(order_totals(values["dataAreaId"], []))
    elif set_name == QUOTES:
        values.setdefault("SalesQuotationStatus", "Created")
        _customer_defaults(store, values, "RequestingCustomerAccountNumber")
        values.update(quotation_totals(values["dataAreaId"], []))
    elif set_name == ORDER_LINES:
        order = _open_parent(store, ORDERS, "SalesOrderNumber", values)
        values.setdefault("CurrencyCode", order.get("CurrencyCode"))
        values["SalesOrderLineStatus"] = SALES_STATUS.get(order.get("SalesOrderProcessingStatus") or "Active", "Backorder")
        values.update(price_line(values["dataAreaId"], values.get("OrderedSalesQuantity"), values.get("SalesPrice"),
                                 values.get("LineDiscountAmount")))
    elif set_name == QUOTE_LINES:
        quote = _open_parent(store, QUOTES, "SalesQuotationNumber", values)
        values.setdefault("CurrencyCode", quote.get("CurrencyCode"))
        values["LineAmount"] = float(line_amount(values.get("RequestedSalesQuantity"), values.get("SalesPrice"),
                                                 values.get("LineDiscountAmount")))
    return values


def finops_update(store: Store, set_name: str, before: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Recompute a line's amounts when its quantity, price or discount change."""
    if set_name == ORDER_LINES:
        _open_parent(store, ORDERS, "SalesOrderNumber", before)
        merged = {**before, **values}
        values.update(price_line(before["dataAreaId"], merged.get("OrderedSalesQuantity"), merged.get("SalesPrice"),
                                 merged.get("LineDiscountAmount")))
    elif set_name == QUOTE_LINES:
        merged = {**before, **values}
        values["LineAmount"] = float(line_amount(merged.get("RequestedSalesQuantity"), merged.get("SalesPrice"),
                                                 merged.get("LineDiscountAmount")))
    elif set_name == ORDERS and "SalesOrderProcessingStatus" in values:
        target = values["SalesOrderProcessingStatus"]
        if target != before.get("SalesOrderProcessingStatus"):
            try:
                check_transition(before.get("SalesOrderProcessingStatus"), target)
            except BusinessRuleError as exc:
                raise _refuse(str(exc)) from None
            values["SalesOrderStatus"] = SALES_STATUS.get(target, before.get("SalesOrderStatus"))
    return values


def finops_created(store: Store, set_name: str, before: None, row: dict[str, Any]) -> None:
    _after_line_write(store, set_name, row)


def finops_updated(store: Store, set_name: str, before: dict[str, Any], row: dict[str, Any]) -> None:
    _after_line_write(store, set_name, row)
    if set_name == ORDERS and before.get("SalesOrderProcessingStatus") != row.get("SalesOrderProcessingStatus"):
        _set_status(store, row, row["SalesOrderProcessingStatus"])


def finops_delete(store: Store, set_name: str, before: dict[str, Any], values: None) -> None:
    """Deleting a header deletes its lines (an invoiced order cannot be deleted)."""
    if set_name == ORDERS:
        if before.get("SalesOrderProcessingStatus") in ("Invoiced", "Delivered", "Picked"):
            raise _refuse(f"Sales order {before['SalesOrderNumber']} has been processed and cannot be deleted.")
        for ln in order_lines(store, before["dataAreaId"], before["SalesOrderNumber"]):
            store.delete(ORDER_LINES, _line_key(ln, "SalesOrderNumber"))
    elif set_name == QUOTES:
        for ln in _lines(store, QUOTE_LINES, "SalesQuotationNumber", before["dataAreaId"], before["SalesQuotationNumber"]):
            store.delete(QUOTE_LINES, _line_key(ln, "SalesQuotationNumber"))
    elif set_name == ORDER_LINES and store.get(ORDERS, _order_key(before["dataAreaId"], before["SalesOrderNumber"])):
        _open_parent(store, ORDERS, "SalesOrderNumber", before)  # an orphan line can always go


def finops_deleted(store: Store, set_name: str, before: dict[str, Any], values: None) -> None:
    _after_line_write(store, set_name, before)


def _after_line_write(store: Store, set_name: str, row: Mapping[str, Any]) -> None:
    if set_name == ORDER_LINES and store.get(ORDERS, _order_key(row["dataAreaId"], row["SalesOrderNumber"])):
        recalculate_order(store, row["dataAreaId"], row["SalesOrderNumber"])
    elif set_name == QUOTE_LINES:
        recalculate_quotation(store, row["dataAreaId"], row["SalesQuotationNumber"])


def _open_parent(store: Store, set_name: str, number_col: str, line: Mapping[str, Any]) -> dict[str, Any]:
    parent = store.get(set_name, {"dataAreaId": line["dataAreaId"], number_col: line.get(number_col)})
    if parent is None:
        raise _refuse(f"The header {line.get(number_col)} does not exist in company {line['dataAreaId']}.")
    if set_name == ORDERS and parent.get("SalesOrderProcessingStatus") in CLOSED:
        raise _refuse(f"Sales order {parent[number_col]} is {parent['SalesOrderProcessingStatus'].lower()}; "
                      "its lines cannot be changed.")
    return parent


def _customer_defaults(store: Store, values: dict[str, Any], account_col: str) -> None:
    """Currency, payment terms and language default from the ordering customer, as in the ERP."""
    account = values.get(account_col)
    if not account:
        return
    customer = store.get("CustomersV3", {"dataAreaId": values["dataAreaId"], "CustomerAccount": account})
    if customer is None:
        return
    values.setdefault("CurrencyCode", customer.get("SalesCurrencyCode"))
    values.setdefault("PaymentTermsName", customer.get("PaymentTerms"))
    if account_col == "OrderingCustomerAccountNumber":
        values.setdefault("LanguageId", customer.get("LanguageId"))
