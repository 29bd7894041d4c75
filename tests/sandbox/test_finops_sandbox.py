"""The F&O service as the real sandbox serves it (auth, demo data, ERP logic): a generic OData v4
client, $batch change sets, and the business logic an integration relies on."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from urllib.parse import quote

import httpx
import pytest

NS = "Microsoft.Dynamics.DataEntities"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@pytest.fixture(scope="module")
def sandbox(sandbox_factory):
    sb = sandbox_factory(scale="small")
    yield sb
    sb.stop()


@pytest.fixture()
def erp(sandbox):
    with sandbox.client("erp") as c:
        yield c


def test_requests_without_a_token_are_refused(sandbox):
    assert httpx.get(sandbox.erp_url + "CustomersV3").status_code == 401


# --- a generic OData v4 client ----------------------------------------------------------------


def _literal(edm_type: str, value) -> str:
    if edm_type in ("Edm.String", "Edm.Guid"):
        return "'" + str(value).replace("'", "''") + "'"
    return str(value)


_JSON = {"Edm.String": str, "Edm.Int32": int, "Edm.Int64": int, "Edm.Decimal": (int, float),
         "Edm.Boolean": bool, "Edm.DateTimeOffset": str, "Edm.Date": str, "Edm.Guid": str}


def test_generic_client_discovers_and_pages_every_collection(erp):
    """Reads $metadata only, then pages through every entity set and re-reads a row by its key."""
    schema = ET.fromstring(erp.get("$metadata").content).find(f".//{EDM}Schema")
    ns = schema.get("Namespace")
    enums = {e.get("Name"): {m.get("Name") for m in e} for e in schema.findall(f"{EDM}EnumType")}
    types = {t.get("Name"): t for t in schema.findall(f"{EDM}EntityType")}
    sets = schema.find(f"{EDM}EntityContainer").findall(f"{EDM}EntitySet")
    assert len(sets) >= 14
    seen_rows = 0
    for es in sets:
        etype = types[es.get("EntityType").rsplit(".", 1)[1]]
        props = {p.get("Name"): p.get("Type") for p in etype.findall(f"{EDM}Property")}
        keys = [p.get("Name") for p in etype.find(f"{EDM}Key")]
        rows, url, pages = [], es.get("Name"), 0
        while url:
            page = erp.get(url, headers={"Prefer": "odata.maxpagesize=40"})
            assert page.status_code == 200, page.text
            body = page.json()
            assert len(body["value"]) <= 40
            rows += body["value"]
            url, pages = body.get("@odata.nextLink"), pages + 1
        assert len(rows) == int(erp.get(f"{es.get('Name')}/$count").text), es.get("Name")
        assert len({tuple(r[k] for k in keys) for r in rows}) == len(rows)  # no row twice
        seen_rows += len(rows)
        for row in rows[:3]:
            for name, value in row.items():
                if name.startswith("@") or value is None:
                    continue
                t = props[name]
                if t.startswith(ns + "."):
                    assert value in enums[t.split(".")[-1]], (name, value)
                else:
                    assert isinstance(value, _JSON[t]), (es.get("Name"), name, value)
        if rows:
            row = rows[-1]
            key = ",".join(f"{k}={_literal(props[k], row[k])}" for k in keys)
            again = erp.get(f"{es.get('Name')}({quote(key, safe='=,')})")
            assert again.status_code == 200, again.text
            assert {k: again.json()[k] for k in row} == row
    assert seen_rows > 500


# --- $batch -----------------------------------------------------------------------------------


def _batch(erp: httpx.Client, parts: list[list[tuple[str, str, dict | None]]], prefer: str | None = None):
    """parts: each a change set (several requests) or a single GET [(method, url, body)]."""
    import json

    b = f"batch_{uuid.uuid4()}"
    out = []
    for part in parts:
        out.append(f"--{b}\r\n")
        if len(part) == 1 and part[0][0] == "GET":
            out.append(f"Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
                       f"GET {part[0][1]} HTTP/1.1\r\nAccept: application/json\r\n\r\n\r\n")
            continue
        cs = f"changeset_{uuid.uuid4()}"
        out.append(f"Content-Type: multipart/mixed; boundary={cs}\r\n\r\n")
        for n, (method, url, body) in enumerate(part, 1):
            data = json.dumps(body) if body is not None else ""
            out.append(f"--{cs}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
                       f"Content-ID: {n}\r\n\r\n{method} {url} HTTP/1.1\r\n"
                       f"Content-Type: application/json\r\n\r\n{data}\r\n")
        out.append(f"--{cs}--\r\n")
    out.append(f"--{b}--\r\n")
    headers = {"Content-Type": f"multipart/mixed; boundary={b}"}
    if prefer:
        headers["Prefer"] = prefer
    return erp.post("$batch", content="".join(out).encode(), headers=headers)


def _statuses(resp: httpx.Response) -> list[int]:
    import re

    return [int(s) for s in re.findall(r"HTTP/1\.1 (\d{3})", resp.text)]


def test_batch_change_set_is_atomic(erp):
    a, b = f"B-{uuid.uuid4().hex[:6]}", f"B-{uuid.uuid4().hex[:6]}"
    ok = _batch(erp, [[("POST", "CustomersV3", {"CustomerAccount": a}), ("POST", "CustomersV3", {"CustomerAccount": b})]])
    assert ok.status_code == 200 and _statuses(ok) == [201, 201]
    c = f"B-{uuid.uuid4().hex[:6]}"
    failed = _batch(erp, [[("POST", "CustomersV3", {"CustomerAccount": c}), ("POST", "CustomersV3", {"CustomerAccount": a})]])
    assert _statuses(failed) == [400] and "already exists" in failed.text
    assert erp.get(f"CustomersV3(dataAreaId='usmf',CustomerAccount='{c}')").status_code == 404  # rolled back


def test_batch_stops_at_a_failure_unless_continue_on_error(erp):
    missing = "CustomersV3(dataAreaId='usmf',CustomerAccount='NOPE-NOPE')"
    good = "CustomersV3?$top=1"
    stopped = _batch(erp, [[("GET", missing, None)], [("GET", good, None)]])
    assert _statuses(stopped) == [404]
    went_on = _batch(erp, [[("GET", missing, None)], [("GET", good, None)]], prefer="odata.continue-on-error")
    assert _statuses(went_on) == [404, 200]


def test_batch_refers_to_created_rows_and_caps_operations(erp):
    so = f"SO-B{uuid.uuid4().hex[:6]}"
    resp = _batch(erp, [[
        ("POST", "CDSSalesOrderHeaders", {"SalesOrderNumber": so, "OrderingCustomerAccountNumber": "ACC-00002"}),
        ("PATCH", "$1", {"CustomersOrderReference": "PO-BATCH"}),
    ]])
    assert _statuses(resp) == [201, 204], resp.text
    assert erp.get(f"CDSSalesOrderHeaders(dataAreaId='usmf',SalesOrderNumber='{so}')").json()["CustomersOrderReference"] == "PO-BATCH"
    too_many = _batch(erp, [[("GET", "Currencies", None)]] * 5001)
    assert too_many.status_code == 400 and "5000" in too_many.json()["error"]["message"]


# --- the ERP's business logic through OData -----------------------------------------------------


def test_order_lines_drive_amounts_tax_and_header_totals(erp):
    so = f"SO-T{uuid.uuid4().hex[:6]}"
    head = erp.post("CDSSalesOrderHeaders", json={"SalesOrderNumber": so, "OrderingCustomerAccountNumber": "ACC-00002"})
    assert head.status_code == 201, head.text
    h = head.json()
    assert (h["SalesOrderProcessingStatus"], h["SalesOrderStatus"]) == ("Active", "Backorder")
    assert h["OrderTotalAmount"] == 0 and h["OrderCreationDateTime"] > "2000"
    url = f"CDSSalesOrderHeaders(dataAreaId='usmf',SalesOrderNumber='{so}')"
    for seq, qty, price, disc in ((1, 3, 10.0, 5.0), (2, 2, 1000.0, 0.0)):
        line = erp.post("CDSSalesOrderLines", json={
            "SalesOrderNumber": so, "LineCreationSequenceNumber": seq, "ProductNumber": "P-0001",
            "OrderedSalesQuantity": qty, "SalesPrice": price, "LineDiscountAmount": disc,
        })
        assert line.status_code == 201, line.text
        assert line.json()["LineAmount"] == qty * price - disc
    lines = erp.get("CDSSalesOrderLines", params={"$filter": f"SalesOrderNumber eq '{so}'"}).json()["value"]
    h = erp.get(url).json()
    net = sum(ln["LineAmount"] for ln in lines)
    tax = sum(ln["TotalTaxAmount"] for ln in lines)
    assert net == 2025 and tax > 0
    assert h["OrderTotalTaxAmount"] == pytest.approx(tax)
    assert h["OrderTotalAmount"] == pytest.approx(net + tax + h["OrderTotalChargesAmount"])
    assert h["TotalDiscountAmount"] == 5
    line1 = f"CDSSalesOrderLines(dataAreaId='usmf',SalesOrderNumber='{so}',LineCreationSequenceNumber=1)"
    assert erp.patch(line1, json={"OrderedSalesQuantity": 4}).status_code == 204
    assert erp.get(line1).json()["LineAmount"] == 35
    assert erp.get(url).json()["OrderTotalAmount"] > h["OrderTotalAmount"]
    assert erp.delete(line1).status_code == 204
    after = erp.get(url).json()
    assert after["TotalDiscountAmount"] == 0 and after["OrderTotalAmount"] < h["OrderTotalAmount"]


def test_quotation_totals_follow_lines(erp):
    qn = f"QUO-T{uuid.uuid4().hex[:6]}"
    q = erp.post("CDSSalesQuotationHeaders", json={"SalesQuotationNumber": qn, "RequestingCustomerAccountNumber": "ACC-00002"})
    assert q.status_code == 201 and q.json()["SalesQuotationStatus"] == "Created"
    line = erp.post("CDSSalesQuotationLines", json={"SalesQuotationNumber": qn, "LineCreationSequenceNumber": 1,
                                                    "RequestedSalesQuantity": 4, "SalesPrice": 25.0})
    assert line.status_code == 201 and line.json()["LineAmount"] == 100
    head = erp.get(f"CDSSalesQuotationHeaders(dataAreaId='usmf',SalesQuotationNumber='{qn}')").json()
    assert head["QuotationTotalAmount"] == pytest.approx(100 + head["QuotationTotalTaxAmount"])
    assert head["QuotationTotalTaxAmount"] > 0


def test_line_without_its_order_is_refused(erp):
    resp = erp.post("CDSSalesOrderLines", json={"SalesOrderNumber": "SO-NONE", "LineCreationSequenceNumber": 1})
    assert resp.status_code == 400 and "SO-NONE" in resp.json()["error"]["message"]


def test_new_customers_and_contact_persons_get_the_next_party_numbers(erp):
    """The party is created with the customer / contact person: a number from one global sequence
    continuing the demo data's, which the integration uses to associate contacts to customers."""
    def parties(set_name: str, col: str) -> list[str]:
        rows, url = [], f"{set_name}?cross-company=true&$select={col}"
        while url:
            body = erp.get(url).json()
            rows += [r[col] for r in body["value"] if r[col]]
            url = body.get("@odata.nextLink")
        return rows

    existing = parties("CustomersV3", "PartyNumber") + parties("ContactPersons", "ContactPersonPartyNumber")
    top = max(int(p) for p in existing)
    account = f"PN-{uuid.uuid4().hex[:6]}"
    customer = erp.post("CustomersV3", json={"CustomerAccount": account, "OrganizationName": "Party Co"})
    assert customer.status_code == 201, customer.text
    party = customer.json()["PartyNumber"]
    assert party == f"{top + 1:09d}"
    assert len(party) == len(existing[0])  # the demo data's format
    person = erp.post("ContactPersons", json={"ContactPersonId": f"CP-{uuid.uuid4().hex[:6]}", "FirstName": "Ada",
                                              "LastName": "Lovelace", "AssociatedPartyNumber": party})
    assert person.status_code == 201, person.text
    assert person.json()["ContactPersonPartyNumber"] == f"{top + 2:09d}"
    other = erp.post("CustomersV3", json={"CustomerAccount": account, "dataAreaId": "demf"})
    assert other.json()["PartyNumber"] == f"{top + 3:09d}"  # one sequence for every company
    given = erp.post("CustomersV3", json={"CustomerAccount": f"PN-{uuid.uuid4().hex[:6]}", "PartyNumber": "PARTY-X"})
    assert given.json()["PartyNumber"] == "PARTY-X"  # a number the caller sets is kept
    linked = erp.get("ContactPersons", params={"$filter": f"AssociatedPartyNumber eq '{party}'"}).json()["value"]
    assert [p["FirstName"] for p in linked] == ["Ada"]
