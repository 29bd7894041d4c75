"""The ERP's business logic: line amounts, tax, charges, totals, status progression, invoicing."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox import erp_logic
from sandbox.schema import ERP_ENTITIES
from sandbox.store import Store


def test_line_amount_is_quantity_times_price_less_discount_rounded_to_cents():
    assert erp_logic.line_amount(3, 19.99, 5) == erp_logic.money("54.97")
    assert erp_logic.line_amount(1, 0.125, 0) == erp_logic.money("0.13")  # half-up, not banker's
    assert erp_logic.line_amount(None, 10, None) == 0


@pytest.mark.parametrize("company, amount, tax", [("usmf", 100, "8.25"), ("demf", 100, "19.00"), ("USMF", 10.1, "0.83")])
def test_tax_follows_the_legal_entity(company, amount, tax):
    assert erp_logic.line_tax(company, amount) == erp_logic.money(tax)


def test_freight_charge_only_below_the_threshold_and_on_orders_with_lines():
    assert erp_logic.freight_charge("usmf", 999.99, 1) == erp_logic.money(25)
    assert erp_logic.freight_charge("usmf", 1000, 2) == 0
    assert erp_logic.freight_charge("demf", 10, 1) == erp_logic.money(20)
    assert erp_logic.freight_charge("usmf", 0, 0) == 0


def test_order_totals_add_lines_tax_and_charges():
    lines = [
        {**erp_logic.price_line("usmf", 2, 100, 10), "LineDiscountAmount": 10},
        {**erp_logic.price_line("usmf", 1, 50.5, 0), "LineDiscountAmount": 0},
    ]
    assert lines[0] == {"LineAmount": 190.0, "TotalTaxAmount": 15.68, "LineDiscountAmount": 10}
    totals = erp_logic.order_totals("usmf", lines)
    # 190 + 50.50 net, 15.68 + 4.17 tax, 25 freight below 1000
    assert totals == {"OrderTotalAmount": 285.35, "OrderTotalTaxAmount": 19.85,
                      "OrderTotalChargesAmount": 25.0, "TotalDiscountAmount": 10.0}


@pytest.mark.parametrize(
    "current, target, ok",
    [("Active", "Confirmed", True), ("Confirmed", "Picked", True), ("Picked", "Delivered", True),
     ("Confirmed", "Delivered", True), ("Delivered", "Invoiced", True), ("Active", "Invoiced", False),
     ("Invoiced", "Confirmed", False), ("Active", "Canceled", True), ("Delivered", "Canceled", False)],
)
def test_status_progression(current, target, ok):
    if ok:
        erp_logic.check_transition(current, target)
    else:
        with pytest.raises(erp_logic.BusinessRuleError):
            erp_logic.check_transition(current, target)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "erp.sqlite", ERP_ENTITIES)
    s.insert("ReleasedProductsV2", {"dataAreaId": "demf", "ItemNumber": "P-0001", "ProductNumber": "P-0001",
                                    "ProductName": "Speaker Pro", "SalesUnitSymbol": "ea", "SalesPrice": 400.0})
    s.insert("CustomersV3", {"dataAreaId": "demf", "CustomerAccount": "ACC-00001", "SalesCurrencyCode": "EUR",
                             "PaymentTerms": "Net30", "LanguageId": "de"})
    header = erp_logic.finops_create(s, "CDSSalesOrderHeaders", None, {
        "dataAreaId": "demf", "SalesOrderNumber": "SO-00001", "OrderingCustomerAccountNumber": "ACC-00001"})
    s.insert("CDSSalesOrderHeaders", header)
    for seq, (qty, price, disc) in enumerate([(2, 400.0, 0.0), (3, 19.99, 5.0)], start=1):
        line = erp_logic.finops_create(s, "CDSSalesOrderLines", None, {
            "dataAreaId": "demf", "SalesOrderNumber": "SO-00001", "LineCreationSequenceNumber": seq,
            "ProductNumber": "P-0001", "OrderedSalesQuantity": qty, "SalesPrice": price, "LineDiscountAmount": disc})
        row = s.insert("CDSSalesOrderLines", line)
        erp_logic.finops_created(s, "CDSSalesOrderLines", None, row)
    return s


def test_a_new_order_takes_customer_defaults_and_its_totals_follow_its_lines(store):
    order = store.get("CDSSalesOrderHeaders", {"dataAreaId": "demf", "SalesOrderNumber": "SO-00001"})
    assert (order["SalesOrderProcessingStatus"], order["SalesOrderStatus"]) == ("Active", "Backorder")
    assert (order["CurrencyCode"], order["PaymentTermsName"], order["LanguageId"]) == ("EUR", "Net30", "de")
    # 800 + 54.97 net, 19 % tax = 152 + 10.44, net ≥ 1000? no: 854.97 → freight 20
    assert order["OrderTotalTaxAmount"] == 162.44
    assert order["OrderTotalChargesAmount"] == 20.0
    assert order["TotalDiscountAmount"] == 5.0
    assert order["OrderTotalAmount"] == round(854.97 + 162.44 + 20, 2)


def test_changing_a_line_recomputes_line_and_header(store):
    key = {"dataAreaId": "demf", "SalesOrderNumber": "SO-00001", "LineCreationSequenceNumber": 1}
    before = store.get("CDSSalesOrderLines", key)
    values = erp_logic.finops_update(store, "CDSSalesOrderLines", before, {"OrderedSalesQuantity": 3.0})
    after = store.update("CDSSalesOrderLines", key, values)
    erp_logic.finops_updated(store, "CDSSalesOrderLines", before, after)
    assert after["LineAmount"] == 1200.0 and after["TotalTaxAmount"] == 228.0
    order = store.get("CDSSalesOrderHeaders", {"dataAreaId": "demf", "SalesOrderNumber": "SO-00001"})
    assert order["OrderTotalChargesAmount"] == 0.0  # above the freight threshold now
    assert order["OrderTotalAmount"] == round(1254.97 + 228.0 + 10.44, 2)


def test_a_line_needs_its_order():
    from sandbox.finops_protocol import ODataError

    with pytest.raises(ODataError):
        erp_logic._open_parent(Store(":memory:", ERP_ENTITIES), "CDSSalesOrderHeaders", "SalesOrderNumber",
                               {"dataAreaId": "usmf", "SalesOrderNumber": "SO-404"})


def test_processing_moves_the_order_and_invoicing_posts_an_invoice(store):
    key = {"dataAreaId": "demf", "SalesOrderNumber": "SO-00001"}
    v0 = store.get("CDSSalesOrderHeaders", key)["_version"]
    assert erp_logic.confirm_order(store, "demf", "SO-00001")["SalesOrderProcessingStatus"] == "Confirmed"
    with pytest.raises(erp_logic.BusinessRuleError):
        erp_logic.invoice_order(store, "demf", "SO-00001")  # not shipped yet
    erp_logic.pick_order(store, "demf", "SO-00001")
    shipped = erp_logic.ship_order(store, "demf", "SO-00001")
    assert (shipped["SalesOrderProcessingStatus"], shipped["SalesOrderStatus"]) == ("Delivered", "Delivered")
    assert shipped["_version"] > v0
    lines = erp_logic.order_lines(store, "demf", "SO-00001")
    assert {ln["SalesOrderLineStatus"] for ln in lines} == {"Delivered"}

    invoice = erp_logic.invoice_order(store, "demf", "SO-00001", "2026-01-05T00:00:00Z")
    order = store.get("CDSSalesOrderHeaders", key)
    assert order["SalesOrderProcessingStatus"] == "Invoiced" and order["SalesOrderStatus"] == "Invoiced"
    assert invoice["InvoiceNumber"] == "INV-00001" and invoice["LedgerVoucher"] == "CIV-000001"
    assert invoice["SalesOrderNumber"] == "SO-00001" and invoice["InvoiceCustomerAccountNumber"] == "ACC-00001"
    assert invoice["TotalInvoiceAmount"] == order["OrderTotalAmount"]
    assert invoice["TotalTaxAmount"] == order["OrderTotalTaxAmount"]
    assert invoice["TotalChargeAmount"] == order["OrderTotalChargesAmount"]
    inv_lines = list(store.iter_rows("SalesInvoiceLines"))
    assert [ln["LineCreationSequenceNumber"] for ln in inv_lines] == [1, 2]
    assert sum(ln["LineAmount"] for ln in inv_lines) == pytest.approx(854.97)
    assert inv_lines[0]["ProductName"] == "Speaker Pro" and inv_lines[0]["InvoiceDate"] == "2026-01-05T00:00:00Z"
    with pytest.raises(erp_logic.BusinessRuleError):
        erp_logic.invoice_order(store, "demf", "SO-00001")  # only once
    from sandbox.finops_protocol import ODataError

    with pytest.raises(ODataError):  # an invoiced order's lines are closed
        erp_logic.finops_update(store, "CDSSalesOrderLines", lines[0], {"OrderedSalesQuantity": 1.0})


def test_invoice_numbers_continue_the_sequence(store):
    store.set_meta("numseq:INV", 41)
    erp_logic.confirm_order(store, "demf", "SO-00001")
    erp_logic.ship_order(store, "demf", "SO-00001")
    assert erp_logic.invoice_order(store, "demf", "SO-00001")["InvoiceNumber"] == "INV-00042"


def test_deleting_an_order_deletes_its_lines_but_not_once_shipped(store):
    order = store.get("CDSSalesOrderHeaders", {"dataAreaId": "demf", "SalesOrderNumber": "SO-00001"})
    erp_logic.finops_delete(store, "CDSSalesOrderHeaders", order, None)
    assert erp_logic.order_lines(store, "demf", "SO-00001") == []
    from sandbox.finops_protocol import ODataError

    with pytest.raises(ODataError):
        erp_logic.finops_delete(store, "CDSSalesOrderHeaders", {**order, "SalesOrderProcessingStatus": "Delivered"}, None)


def test_an_orphan_line_can_be_deleted_but_not_a_line_of_an_invoiced_order(store):
    from sandbox.finops_protocol import ODataError

    orphan = {"dataAreaId": "demf", "SalesOrderNumber": "SO-GONE", "LineCreationSequenceNumber": 1}
    erp_logic.finops_delete(store, "CDSSalesOrderLines", orphan, None)  # no error
    erp_logic.confirm_order(store, "demf", "SO-00001")
    erp_logic.ship_order(store, "demf", "SO-00001")
    erp_logic.invoice_order(store, "demf", "SO-00001")
    line = erp_logic.order_lines(store, "demf", "SO-00001")[0]
    with pytest.raises(ODataError):
        erp_logic.finops_delete(store, "CDSSalesOrderLines", line, None)
