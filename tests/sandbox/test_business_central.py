"""The Business Central API v2.0 emulator through its real HTTP app (token endpoint, bearer check,
rate limit, the service), checked against ``shared/api/business_central.md``."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from sandbox import business_central, server
from sandbox.business_central_schema import BC_ENTITIES
from sandbox.store import Store

ORIGIN = "http://127.0.0.1:8703"
US, EU = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))
MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class BC:
    """An in-process BC server over a fresh store with the two companies and a little master data."""

    def __init__(self, tmp: Path, **options):
        self.store = Store(tmp / "bc.sqlite", BC_ENTITIES)
        for cid, name in ((US, "CRONUS USA"), (EU, "CRONUS Europe")):
            self.store.insert("companies", {"id": cid, "name": name, "displayName": f"{name}, Inc."})
        self.options = server.Options(data_dir=tmp, **options)
        self.bare = business_central.create_app(self.store, self.options)
        self.app = server.wrap(self.bare, self.options, "bc")
        self.http = httpx.Client(transport=_SyncASGI(self.app), base_url=f"{ORIGIN}/api/v2.0/")
        self.http.headers["Authorization"] = f"Bearer {self.token()}"

    def token(self) -> str:
        r = httpx.Client(transport=_SyncASGI(self.app)).post(
            f"{ORIGIN}/p2c-sandbox/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": "p2c-sandbox-client",
                  "client_secret": "p2c-sandbox-secret", "scope": f"{ORIGIN}/.default"})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    @staticmethod
    def path(company: str, rest: str) -> str:
        return f"companies({company})/{rest}"

    def post(self, company: str, rest: str, body: dict, **kw) -> dict:
        r = self.http.post(self.path(company, rest), json=body, **kw)
        assert r.status_code == 201, r.text
        return r.json()

    def get(self, company: str, rest: str, **kw) -> httpx.Response:
        return self.http.get(self.path(company, rest), **kw)

    def rows(self, company: str, rest: str, **kw) -> list[dict]:
        r = self.get(company, rest, **kw)
        assert r.status_code == 200, r.text
        return r.json()["value"]

    def master_data(self) -> None:
        for company in (US, EU):
            self.post(company, "unitsOfMeasure", {"code": "PCS", "displayName": "Piece"})
            self.post(company, "paymentTerms", {"code": "NET30", "displayName": "Net 30", "dueDateCalculation": "30D"})
            self.post(company, "currencies", {"code": "GBP", "displayName": "Pound Sterling", "symbol": "£"})
            self.post(company, "items", {"number": "1000", "displayName": "Speaker Pro", "unitPrice": 100.0,
                                         "baseUnitOfMeasureCode": "PCS"})
            self.post(company, "customers", {"number": "C1", "displayName": "Adatum Ünïcode", "postalCode": "98052"})


class _SyncASGI(httpx.BaseTransport):
    """httpx's ASGI transport is async; run each request on its own event loop."""

    def __init__(self, app):
        self.inner = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def go():
            request.stream = httpx.ByteStream(request.read())
            r = await self.inner.handle_async_request(request)
            body = await r.aread()
            return httpx.Response(r.status_code, headers=r.headers, content=body)

        return asyncio.run(go())


@pytest.fixture
def bc(tmp_path) -> BC:
    sb = BC(tmp_path)
    sb.master_data()
    return sb


def _order(bc: BC, company: str = US, lines=((3, None), (1, 50.0))) -> dict:
    body = {"customerNumber": "C1", "salesOrderLines": [
        {"lineObjectNumber": "1000", "quantity": q, **({"unitPrice": p} if p is not None else {})} for q, p in lines]}
    return bc.post(company, "salesOrders", body)


# --- the protocol ------------------------------------------------------------------------------


def test_auth_is_required(bc):
    anonymous = httpx.Client(transport=_SyncASGI(bc.app), base_url=f"{ORIGIN}/api/v2.0/")
    r = anonymous.get("companies")
    assert r.status_code == 401 and "Bearer" in r.headers["www-authenticate"]
    assert anonymous.get("companies", headers={"Authorization": "Bearer x.y.z"}).status_code == 401
    assert bc.http.get("companies").status_code == 200


def test_companies_and_the_two_ways_to_name_one(bc):
    companies = bc.http.get("companies").json()["value"]
    assert {c["name"] for c in companies} == {"CRONUS USA", "CRONUS Europe"}
    assert all(re.fullmatch(r"[0-9a-f-]{36}", c["id"]) for c in companies)
    by_path = bc.rows(US, "customers")
    by_query = bc.http.get("customers", params={"company": US}).json()["value"]
    by_name = bc.http.get("customers", params={"company": "CRONUS USA"}).json()["value"]
    assert [c["id"] for c in by_path] == [c["id"] for c in by_query] == [c["id"] for c in by_name]
    assert len(by_path) == 1
    assert bc.rows(EU, "customers")[0]["id"] != by_path[0]["id"]  # each company its own rows
    r = bc.http.get("customers")
    assert r.status_code == 400 and set(r.json()["error"]) == {"code", "message"}


def test_rows_are_addressed_by_guid_and_found_by_number(bc):
    c = bc.rows(US, "customers?$filter=number eq 'C1'")[0]
    assert bc.get(US, f"customers({c['id']})").json()["number"] == "C1"
    r = bc.get(US, "customers('C1')")
    assert r.status_code == 400 and r.json()["error"]["code"] == "BadRequest_InvalidKey"
    assert bc.get(US, f"customers({uuid.uuid4()})").status_code == 404
    assert bc.get(EU, f"customers({c['id']})").status_code == 404  # not in the other company


def test_local_currency_has_the_empty_guid(bc):
    c = bc.rows(US, "customers")[0]
    assert c["currencyCode"] == "USD" and c["currencyId"] == "00000000-0000-0000-0000-000000000000"
    gbp = bc.post(US, "customers", {"displayName": "Brit Ltd", "currencyCode": "GBP"})
    assert gbp["currencyId"] == bc.rows(US, "currencies?$filter=code eq 'GBP'")[0]["id"]
    r = bc.http.post(bc.path(US, "customers"), json={"displayName": "X", "currencyCode": "XBT"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "Unknown"


def test_select_orderby_top(bc):
    for i in range(5):
        bc.post(US, "customers", {"displayName": f"Z{i}", "number": f"Z{i}"})
    rows = bc.rows(US, "customers?$select=number,displayName&$orderby=number desc&$top=3")
    assert [r["number"] for r in rows] == ["Z4", "Z3", "Z2"]
    assert set(rows[0]) == {"@odata.etag", "number", "displayName"}


def test_server_driven_paging_and_413(bc):
    for i in range(7):
        bc.post(US, "customers", {"displayName": f"P{i}"})
    seen, url, pages = [], bc.path(US, "customers"), 0
    while url:
        r = bc.http.get(url, headers={"Prefer": "odata.maxpagesize=3"})
        assert r.status_code == 200 and r.headers["preference-applied"] == "odata.maxpagesize=3"
        body = r.json()
        assert len(body["value"]) <= 3
        seen += [c["id"] for c in body["value"]]
        url, pages = body.get("@odata.nextLink"), pages + 1
    assert pages == 3 and len(seen) == len(set(seen)) == 8
    ok = bc.get(US, "customers", headers={"Prefer": "odata.maxpagesize=20000"})
    assert ok.status_code == 200 and "@odata.nextLink" not in ok.json()
    r = bc.get(US, "customers", headers={"Prefer": "odata.maxpagesize=20001"})
    assert r.status_code == 413 and set(r.json()["error"]) == {"code", "message"}


def test_if_match_is_required_on_patch_and_delete(bc):
    c = bc.rows(US, "customers")[0]
    url = bc.path(US, f"customers({c['id']})")
    for r in (bc.http.patch(url, json={"phoneNumber": "1"}), bc.http.delete(url)):
        assert r.status_code == 400
        assert r.json() == {"error": {"code": "BadRequest_InvalidToken",
                                      "message": "Could not validate the client concurrency token required by the service."}}
    ok = bc.http.patch(url, json={"phoneNumber": "+1 425 555 0100"}, headers={"If-Match": c["@odata.etag"]})
    assert ok.status_code == 200 and ok.json()["phoneNumber"] == "+1 425 555 0100"
    assert ok.headers["etag"] == ok.json()["@odata.etag"] != c["@odata.etag"] and ok.headers["etag"].startswith('W/"')
    stale = bc.http.patch(url, json={"phoneNumber": "2"}, headers={"If-Match": c["@odata.etag"]})
    assert stale.status_code == 412 and bc.get(US, f"customers({c['id']})").json()["phoneNumber"] == "+1 425 555 0100"
    assert bc.http.patch(url, json={"phoneNumber": "3"}, headers={"If-Match": "*"}).status_code == 200
    temp = bc.post(US, "customers", {"displayName": "Temp"})
    turl = bc.path(US, f"customers({temp['id']})")
    assert bc.http.delete(turl, headers={"If-Match": c["@odata.etag"]}).status_code == 412
    assert bc.http.delete(turl, headers={"If-Match": temp["@odata.etag"]}).status_code == 204
    assert bc.http.get(turl).status_code == 404


def test_deep_insert_prices_lines_and_totals(bc):
    order = _order(bc)
    lines = order["salesOrderLines"]
    assert [ln["sequence"] for ln in lines] == [10000, 20000] and all(ln["documentId"] == order["id"] for ln in lines)
    assert lines[0]["description"] == "Speaker Pro" and lines[0]["unitPrice"] == 100.0
    assert [ln["amountExcludingTax"] for ln in lines] == [300.0, 50.0]
    assert order["totalAmountExcludingTax"] == 350.0
    assert order["totalTaxAmount"] == 28.88 and order["totalAmountIncludingTax"] == 378.88  # 8.25 % (US)
    assert order["status"] == "Draft" and order["customerName"] == "Adatum Ünïcode"
    eu = _order(bc, EU, lines=((2, None),))
    assert eu["totalTaxAmount"] == 38.0 and eu["currencyCode"] == "EUR"  # 19 % (Europe)
    child = bc.rows(US, f"salesOrders({order['id']})/salesOrderLines")
    assert [ln["id"] for ln in child] == [ln["id"] for ln in lines]
    expanded = bc.get(US, f"salesOrders({order['id']})?$expand=salesOrderLines").json()
    assert len(expanded["salesOrderLines"]) == 2
    quote = bc.post(US, "salesQuotes", {"customerNumber": "C1", "salesQuoteLines": [{"lineObjectNumber": "1000",
                                                                                     "quantity": 2}]})
    assert quote["totalAmountExcludingTax"] == 200.0 and quote["status"] == "Draft"
    assert [ln["documentId"] for ln in quote["salesQuoteLines"]] == [quote["id"]]
    bad = bc.http.post(bc.path(US, "salesOrders"), json={"customerNumber": "C1", "salesOrderLines": [
        {"lineObjectNumber": "1000", "quantity": 1}, {"lineObjectNumber": "NOPE", "quantity": 1}]})
    assert bad.status_code == 400 and len(bc.rows(US, "salesOrders")) == 1  # all or nothing


def test_totals_follow_line_changes_and_the_invoice_discount(bc):
    order = _order(bc)
    line = order["salesOrderLines"][1]
    r = bc.http.patch(bc.path(US, f"salesOrderLines({line['id']})"), json={"quantity": 3},
                      headers={"If-Match": line["@odata.etag"]})
    assert r.status_code == 200 and r.json()["amountExcludingTax"] == 150.0
    after = bc.get(US, f"salesOrders({order['id']})").json()
    assert after["totalAmountExcludingTax"] == 450.0 and after["@odata.etag"] != order["@odata.etag"]
    assert after["lastModifiedDateTime"] > order["lastModifiedDateTime"]
    r = bc.http.patch(bc.path(US, f"salesOrders({order['id']})"), json={"discountAmount": 45},
                      headers={"If-Match": after["@odata.etag"]})
    assert r.json()["totalAmountExcludingTax"] == 405.0 and r.json()["totalTaxAmount"] == 33.42  # per line: 22.28 + 11.14
    lines = bc.rows(US, f"salesOrders({order['id']})/salesOrderLines")
    assert sum(ln["invoiceDiscountAllocation"] for ln in lines) == pytest.approx(45.0)
    added = bc.post(US, f"salesOrders({order['id']})/salesOrderLines", {"lineObjectNumber": "1000", "quantity": 1})
    assert added["sequence"] == 30000
    assert bc.get(US, f"salesOrders({order['id']})").json()["totalAmountExcludingTax"] == 550.0 - 45.0


def test_lines_have_no_last_modified_and_headers_do(bc):
    order = _order(bc)
    assert MS.match(order["lastModifiedDateTime"])
    assert all("lastModifiedDateTime" not in ln for ln in order["salesOrderLines"])
    for set_name in ("customers", "items", "currencies", "unitsOfMeasure", "paymentTerms", "contacts"):
        assert MS.match(bc.rows(US, set_name)[0]["lastModifiedDateTime"]), set_name
    r = bc.get(US, "salesOrderLines?$filter=lastModifiedDateTime gt 2020-01-01T00:00:00Z")
    assert r.status_code == 400


def test_filter_on_last_modified_returns_only_changed_rows(bc):
    for i in range(3):
        bc.post(US, "customers", {"displayName": f"D{i}"})
    rows = bc.rows(US, "customers")
    mark = max(r["lastModifiedDateTime"] for r in rows)
    time.sleep(0.005)
    changed = rows[1]
    bc.http.patch(bc.path(US, f"customers({changed['id']})"), json={"city": "Redmond"}, headers={"If-Match": "*"})
    delta = bc.rows(US, f"customers?$filter=lastModifiedDateTime gt {mark}")
    assert [r["id"] for r in delta] == [changed["id"]]
    assert len(bc.rows(US, "customers?$filter=lastModifiedDateTime gt 2000-01-01T00:00:00Z")) == len(rows)


def test_posting_an_order_creates_an_invoice_and_moves_inventory(bc):
    item = bc.rows(US, "items")[0]
    order = _order(bc)
    r = bc.http.post(bc.path(US, f"salesOrders({order['id']})/Microsoft.NAV.shipAndInvoice"))
    assert r.status_code == 204, r.text
    invoice = bc.rows(US, "salesInvoices?$expand=salesInvoiceLines")[0]
    assert invoice["orderId"] == order["id"] and invoice["orderNumber"] == order["number"]
    assert invoice["totalAmountIncludingTax"] == invoice["remainingAmount"] == 378.88 and invoice["status"] == "Open"
    assert [ln["quantity"] for ln in invoice["salesInvoiceLines"]] == [3.0, 1.0]
    assert bc.get(US, f"items({item['id']})").json()["inventory"] == item["inventory"] - 4
    posted = bc.get(US, f"salesOrders({order['id']})?$expand=salesOrderLines").json()
    assert posted["fullyShipped"] and all(ln["invoicedQuantity"] == ln["quantity"] for ln in posted["salesOrderLines"])
    assert bc.rows(US, "customers?$filter=number eq 'C1'")[0]["balanceDue"] == 378.88
    again = bc.http.post(bc.path(US, f"salesOrders({order['id']})/Microsoft.NAV.shipAndInvoice"))
    assert again.status_code == 400 and again.json()["error"]["code"] == "Unknown"
    line = posted["salesOrderLines"][0]
    r = bc.http.patch(bc.path(US, f"salesOrderLines({line['id']})"), json={"quantity": 9}, headers={"If-Match": "*"})
    assert r.status_code == 400
    r = bc.http.patch(bc.path(US, f"salesInvoices({invoice['id']})"), json={"externalDocumentNumber": "X"},
                      headers={"If-Match": "*"})
    assert r.status_code == 400


# --- $batch -------------------------------------------------------------------------------------


def _ops(n: int, company: str = US) -> list[dict]:
    return [{"method": "POST", "id": str(i), "url": f"companies({company})/customers",
             "headers": {"Content-Type": "application/json"}, "body": {"displayName": f"Batch {i}"}} for i in range(n)]


def test_batch_of_100_runs_and_101_is_refused(bc):
    before = len(bc.rows(US, "customers"))
    r = bc.http.post("$batch", json={"requests": _ops(100)})
    assert r.status_code == 200
    responses = r.json()["responses"]
    assert [x["id"] for x in responses] == [str(i) for i in range(100)] and {x["status"] for x in responses} == {201}
    assert len(bc.rows(US, "customers")) == before + 100
    r = bc.http.post("$batch", json={"requests": _ops(101)})
    assert r.status_code == 400 and set(r.json()["error"]) == {"code", "message"} and "100" in r.json()["error"]["message"]
    assert len(bc.rows(US, "customers")) == before + 100


def test_batch_operations_carry_their_own_status_and_if_match(bc):
    c = bc.rows(US, "customers")[0]
    url = f"companies({US})/customers({c['id']})"
    r = bc.http.post("$batch", json={"requests": [
        {"method": "PATCH", "id": "a", "url": url, "body": {"city": "Seattle"}},
        {"method": "PATCH", "id": "b", "url": url, "headers": {"If-Match": c["@odata.etag"]}, "body": {"city": "Oslo"}},
        {"method": "GET", "id": "c", "url": f"{ORIGIN}/api/v2.0/{url}"},
        {"method": "GET", "id": "d", "url": f"customers({c['id']})", "headers": {"Company": "CRONUS USA"}}]})
    out = {x["id"]: x for x in r.json()["responses"]}
    assert out["a"]["status"] == 400 and out["a"]["body"]["error"]["code"] == "BadRequest_InvalidToken"
    assert out["b"]["status"] == 200 and out["c"]["body"]["city"] == out["d"]["body"]["city"] == "Oslo"


def test_snapshot_isolation_rolls_the_whole_batch_back(bc):
    c = bc.rows(US, "customers")[0]
    stale = {"method": "PATCH", "id": "stale", "url": f"companies({US})/customers({c['id']})",
             "headers": {"If-Match": 'W/"JzEsMSc="'}, "body": {"city": "Nowhere"}}
    before = len(bc.rows(US, "customers"))
    r = bc.http.post("$batch", json={"requests": [*_ops(3), stale]}, headers={"Isolation": "snapshot"})
    statuses = {x["id"]: x["status"] for x in r.json()["responses"]}
    assert statuses == {"0": 424, "1": 424, "2": 424, "stale": 412}
    assert len(bc.rows(US, "customers")) == before
    r = bc.http.post("$batch", json={"requests": [*_ops(3), stale]})  # without isolation: each on its own
    assert [x["status"] for x in r.json()["responses"]] == [201, 201, 201, 412]
    assert len(bc.rows(US, "customers")) == before + 3


# --- service protection -----------------------------------------------------------------------


def test_429_past_the_window_budget(tmp_path):
    sb = BC(tmp_path, bc_rate_limit=(5, 300.0))
    codes = [sb.http.get("companies").status_code for _ in range(7)]
    assert codes == [200] * 5 + [429] * 2
    r = sb.http.get("companies")
    assert set(r.json()["error"]) == {"code", "message"} and int(r.headers["retry-after"]) > 0


def test_at_most_five_requests_are_served_at_once(tmp_path):
    store = Store(tmp_path / "bc.sqlite", BC_ENTITIES)
    store.insert("companies", {"id": US, "name": "CRONUS USA"})
    app = business_central.create_app(store, SimpleNamespace())
    handle = app.service.handle

    def slow(req):
        time.sleep(0.05)
        return handle(req)

    app.service.handle = slow

    async def burst():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"{ORIGIN}/api/v2.0/") as c:
            return await asyncio.gather(*(c.get("companies") for _ in range(12)))

    results = asyncio.run(burst())
    assert [r.status_code for r in results] == [200] * 12
    assert app.gate.peak == 5 and app.gate.active == 0


# --- demo data and the day ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from sandbox import demo_data

    d = tmp_path_factory.mktemp("bc-demo")
    summary = demo_data.reset(d, "small", 7)
    return d, summary, demo_data.load_manifest(d)


def _store(d: Path) -> Store:
    return server.bc_store(d)


def test_demo_data_at_small_is_the_erp_business_in_bc_shape(demo):
    d, summary, manifest = demo
    bc, erp = _store(d), server.erp_store(d)
    section = manifest["bc"]
    assert summary["bc"] == section["counts"] and all(bc.count(s) == n > 0 for s, n in section["counts"].items())
    assert set(section["companies"]) == {"CRONUS USA", "CRONUS Europe"}
    for name, info in section["companies"].items():
        assert bc.get("companies", info["id"])["name"] == name and re.fullmatch(r"[0-9a-f-]{36}", info["id"])
        cid, le = info["id"], info["legal_entity"]
        bc_numbers = {r["number"] for r in bc.iter_rows("customers", '"companyId" = ?', (cid,))}
        erp_numbers = {r["CustomerAccount"] for r in erp.iter_rows("CustomersV3", '"dataAreaId" = ?', (le,))}
        assert {n for n in bc_numbers if not n.startswith("C-")} == erp_numbers
        lcy = "USD" if le == "usmf" else "EUR"
        assert lcy not in {r["code"] for r in bc.iter_rows("currencies", '"companyId" = ?', (cid,))}
        assert "CHF" in {r["code"] for r in bc.iter_rows("currencies", '"companyId" = ?', (cid,))}
    assert not bc.fetch('SELECT 1 FROM customers WHERE currencyCode IN (\'USD\', \'EUR\') AND '
                        'currencyId != \'00000000-0000-0000-0000-000000000000\' AND ((currencyCode = \'USD\') = '
                        '(companyId = ?))', (section["companies"]["CRONUS USA"]["id"],))
    # every line has its document; totals are the lines' sums; persons point at a company contact
    for header, lines in (("salesOrders", "salesOrderLines"), ("salesQuotes", "salesQuoteLines"),
                          ("salesInvoices", "salesInvoiceLines")):
        assert not bc.fetch(f'SELECT 1 FROM "{lines}" l WHERE NOT EXISTS (SELECT 1 FROM "{header}" h WHERE h.id = l.documentId)')
        assert not bc.fetch(f'SELECT 1 FROM "{header}" h WHERE abs(h.totalAmountIncludingTax - (SELECT coalesce(sum('
                            f'l.netAmountIncludingTax), 0) FROM "{lines}" l WHERE l.documentId = h.id)) > 0.005')
    assert bc.count("contacts", "type = 'Person' AND companyNumber != '' AND companyNumber NOT IN "
                    "(SELECT number FROM contacts WHERE type = 'Company')") == 0
    assert bc.count("salesInvoices", "orderId != '00000000-0000-0000-0000-000000000000' AND orderId NOT IN "
                    "(SELECT id FROM salesOrders)") == 0
    assert bc.count("customers", "displayName = 'Café Olé 🚀☕ Ventures'") == 1  # Unicode, as in the CRM
    reasons = Counter(p["reason"] for p in section["planted"])
    assert reasons == {"unmapped_unit": 2, "unmapped_salesperson": 2, "unmapped_currency": 1, "blocked": 1,
                       "ambiguous_match": 2, "created_in_crm": 4}
    # salespeople: one per CRM user of the company's business unit (code = initials), plus the planted ZZ
    for name, company in section["companies"].items():
        codes = {r["code"] for r in bc.iter_rows("salespeoplePurchasers", '"companyId" = ?', (company["id"],))}
        assert "ZZ" in codes and len(codes) == 4, (name, codes)
    twins = [bc.get("customers", {"companyId": section["companies"]["CRONUS USA"]["id"], "id": p["id"]})
             for p in section["planted"] if p["reason"] == "ambiguous_match"]
    crm = server.crm_store(d)
    assert len({(t["displayName"], t["postalCode"]) for t in twins}) == 1
    assert crm.count("accounts", "name = ? AND address1_postalcode = ?", (twins[0]["displayName"], twins[0]["postalCode"])) == 1
    assert all(MS.match(r["lastModifiedDateTime"]) for r in bc.iter_rows("salesOrders"))


def test_demo_data_is_deterministic_by_seed(demo, tmp_path):
    from sandbox import business_central_data, demo_data

    d, _, manifest = demo
    again = business_central_data.reset(d, 7, demo_data.BASE_TIME, None)  # the same ERP data, no CRM twin
    assert again["companies"] == manifest["bc"]["companies"]
    other = business_central_data.reset(d, 8, demo_data.BASE_TIME, None)
    assert other["companies"] != manifest["bc"]["companies"]
    demo_data.reset(d, "small", 7)  # back to the module's tenant
    assert demo_data.load_manifest(d)["bc"] == manifest["bc"]


def test_a_day_of_bc_activity(demo):
    from sandbox import activity
    from sandbox.auth import Credentials
    from sandbox.business_central_data import play_day

    d, _, manifest = demo
    store = _store(d)
    mark = store.fetch("SELECT max(lastModifiedDateTime) AS t FROM customers")[0]["t"]
    invoices_before = store.count("salesInvoices")
    options = server.Options(data_dir=d)
    app = server.wrap(business_central.create_app(store, options), options, "bc")
    api = activity.Api(f"{ORIGIN}/api/v2.0/", Credentials(), transport=_SyncASGI(app))
    day = activity.Day(5)
    play_day(api, d, 5, day)
    done = Counter((c["entity_set"], c["action"]) for c in day.changes)
    assert all(c["system"] == "bc" for c in day.changes)
    for expected in (("customers", "update"), ("customers", "create"), ("salesOrders", "create"), ("salesOrders", "post"),
                     ("salesInvoices", "create"), ("salesOrderLines", "update"), ("items", "update"),
                     ("salesInvoices", "pay"), ("salesOrders", "delete"), ("contacts", "delete")):
        assert done[expected] >= 1, expected
    assert store.count("salesInvoices") == invoices_before + done[("salesInvoices", "create")]
    company = manifest["bc"]["companies"]["CRONUS USA"]["id"]
    http = api.http
    changed = http.get(f"companies({company})/customers", params={"$filter": f"lastModifiedDateTime gt {mark}"}).json()
    ids = {c["id"] for c in changed["value"]}
    assert {c["key"] for c in day.changes if c["entity_set"] == "customers"} <= ids
    for c in day.changes:
        if c["action"] == "delete":
            assert http.get(f"companies({company})/{c['entity_set']}({c['key']})").status_code == 404


def test_numbers_and_codes_are_unique_within_a_company(bc):
    r = bc.http.post(bc.path(US, "customers"), json={"number": "C1", "displayName": "Again"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "Internal_EntityWithSameKeyExists"
    assert bc.http.post(bc.path(US, "unitsOfMeasure"), json={"code": "PCS"}).status_code == 400
    assert bc.post(US, "customers", {"number": "C2", "displayName": "Other"})["number"] == "C2"


def test_a_full_queue_is_refused_and_a_long_wait_times_out():
    async def slow():
        await asyncio.sleep(0.05)
        return "served"

    async def burst(gate, n):
        return await asyncio.gather(*(gate.run(slow) for _ in range(n)))

    out = asyncio.run(burst(business_central.Gate(limit=1, queue=1, timeout=5), 3))
    assert out[:2] == ["served", "served"] and out[2].status == 429
    out = asyncio.run(burst(business_central.Gate(limit=1, queue=5, timeout=0.01), 2))
    assert out[0] == "served" and out[1].status == 503


def test_the_request_budget_is_per_client(tmp_path):
    from sandbox.auth import Credentials, TokenIssuer, caller
    from sandbox.faults import FaultMiddleware, FaultOptions

    store = Store(tmp_path / "bc.sqlite", BC_ENTITIES)
    limited = FaultMiddleware(business_central.create_app(store, None), FaultOptions(rate_limit=(2, 300.0)),
                              api_prefix="/api/v2.0/", throttled_body=business_central.throttled, client_key=caller)
    http = httpx.Client(transport=_SyncASGI(limited), base_url=f"{ORIGIN}/api/v2.0/")

    def get(client_id: str) -> int:
        token = TokenIssuer(Credentials(client_id=client_id)).issue(ORIGIN)["access_token"]
        return http.get("companies", headers={"Authorization": f"Bearer {token}"}).status_code

    assert [get("a") for _ in range(3)] == [200, 200, 429]
    assert [get("b") for _ in range(2)] == [200, 200]
