"""The F&O OData emulator, checked over plain HTTP the way an integration would see it."""

from __future__ import annotations

import socket
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import httpx
import pytest
import uvicorn

from sandbox.finops import create_app
from sandbox.schema import ERP, ERP_ENTITIES
from sandbox.store import Store

NS = "Microsoft.Dynamics.DataEntities"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@dataclass
class Running:
    base: str  # http://127.0.0.1:<port>/data/
    store: Store

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30)


@contextmanager
def finops_server(tmp: Path, default_company: str = "usmf") -> Iterator[Running]:
    """The F&O app on a free loopback port over a fresh store with the two demo companies."""
    store = Store(tmp / "erp.sqlite", ERP_ENTITIES)
    for le, name, cur in (("usmf", "Contoso US", "USD"), ("demf", "Contoso Europe", "EUR")):
        store.insert("LegalEntities", {"LegalEntityId": le, "Name": name, "AccountingCurrency": cur})
    app = create_app(store, SimpleNamespace(default_company=default_company))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the F&O test server did not start"
        time.sleep(0.02)
    try:
        yield Running(f"http://127.0.0.1:{sock.getsockname()[1]}/data/", store)
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()


def _customers(store: Store) -> None:
    rows = [
        {
            "dataAreaId": "usmf",
            "CustomerAccount": f"US-{i:04d}",
            "OrganizationName": f"Northwind {i}",
            "PartyType": "Organization",
            "CreditLimit": 1000.0 * i,
            "OnHoldStatus": "All" if i % 5 == 0 else "No",
            "CustomerGroupId": "10",
        }
        for i in range(1, 31)
    ] + [
        {
            "dataAreaId": "demf",
            "CustomerAccount": f"DE-{i:04d}",
            "OrganizationName": f"Fabrikam GmbH {i}",
            "PartyType": "Organization",
            "CreditLimit": 500.0,
            "OnHoldStatus": "No",
        }
        for i in range(1, 13)
    ]
    rows.append({"dataAreaId": "usmf", "CustomerAccount": "US-O'1", "OrganizationName": "O'Brien & Söhne, Retail"})
    rows.append({"dataAreaId": "demf", "CustomerAccount": "US-0001", "OrganizationName": "Same account, other company"})
    for r in rows:
        store.insert("CustomersV3", r)
    for code in ("USD", "EUR", "GBP"):
        store.insert("Currencies", {"CurrencyCode": code, "Name": code, "Symbol": "$"})


@pytest.fixture(scope="module")
def erp(tmp_path_factory) -> Iterator[Running]:
    with finops_server(tmp_path_factory.mktemp("finops")) as running:
        _customers(running.store)
        yield running


@pytest.fixture()
def http(erp) -> Iterator[httpx.Client]:
    with erp.client() as c:
        yield c


def _error(resp: httpx.Response, status: int) -> str:
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert set(err) >= {"code", "message", "innererror"}
    assert err["innererror"]["message"]
    return err["innererror"]["message"]


def _all(http: httpx.Client, url: str, params: dict | None = None, headers: dict | None = None) -> list[dict]:
    """Every row of a collection, following @odata.nextLink (which carries the query itself)."""
    rows: list[dict] = []
    page = http.get(url, params=params, headers=headers).json()
    rows += page["value"]
    while "@odata.nextLink" in page:
        assert len(rows) < 100_000, "paging does not end"
        page = http.get(page["@odata.nextLink"], headers=headers).json()
        rows += page["value"]
    return rows


# --- discovery --------------------------------------------------------------------------------


def test_service_document_lists_every_collection(http):
    doc = http.get("").json()
    assert doc["@odata.context"].endswith("/data/$metadata")
    names = {v["name"] for v in doc["value"]}
    assert names == {e.set_name for e in ERP_ENTITIES}
    assert {"CustomersV3", "CDSSalesOrderLines", "SalesInvoiceHeadersV2", "LegalEntities"} <= names


def test_metadata_declares_keys_enums_and_computed_fields(http):
    resp = http.get("$metadata")
    assert resp.status_code == 200 and "xml" in resp.headers["content-type"]
    schema = ET.fromstring(resp.content).find(f".//{EDM}Schema")
    assert schema.get("Namespace") == NS
    cust = schema.find(f"{EDM}EntityType[@Name='CustomerV3']")
    assert [p.get("Name") for p in cust.find(f"{EDM}Key")] == ["dataAreaId", "CustomerAccount"]
    hold = cust.find(f"{EDM}Property[@Name='OnHoldStatus']")
    assert hold.get("Type") == f"{NS}.CustVendorBlocked"
    members = [m.get("Name") for m in schema.find(f"{EDM}EnumType[@Name='SalesStatus']")]
    assert members[:2] == ["None", "Backorder"]
    total = schema.find(f"{EDM}EntityType[@Name='CDSSalesOrderHeader']/{EDM}Property[@Name='OrderTotalAmount']")
    assert total.find(f"{EDM}Annotation").get("Term") == "Org.OData.Core.V1.Computed"
    sets = schema.find(f"{EDM}EntityContainer").findall(f"{EDM}EntitySet")
    assert {s.get("Name"): s.get("EntityType") for s in sets}["CustomersV3"] == f"{NS}.CustomerV3"


# --- company scope and keys -------------------------------------------------------------------


def test_collection_is_scoped_to_the_default_company(http):
    rows = _all(http, "CustomersV3")
    assert {r["dataAreaId"] for r in rows} == {"usmf"}
    assert len(rows) == 31
    assert http.get("CustomersV3/$count").text == "31"


def test_cross_company_reads_every_company_and_filters_one(http):
    assert len(_all(http, "CustomersV3", params={"cross-company": "true"})) == 44
    demf = _all(http, "CustomersV3", params={"cross-company": "true", "$filter": "dataAreaId eq 'demf'"})
    assert len(demf) == 13 and {r["dataAreaId"] for r in demf} == {"demf"}
    # without cross-company another company's rows stay invisible
    assert http.get("CustomersV3", params={"$filter": "dataAreaId eq 'demf'"}).json()["value"] == []


def test_default_company_is_an_option(tmp_path):
    with finops_server(tmp_path, default_company="demf") as running, running.client() as c:
        _customers(running.store)
        assert {r["dataAreaId"] for r in _all(c, "CustomersV3")} == {"demf"}
        made = c.post("CustomersV3", json={"CustomerAccount": "DE-NEW", "OrganizationName": "x"})
        assert made.status_code == 201 and made.json()["dataAreaId"] == "demf"


def test_composite_key_addresses_one_row_in_its_company(http):
    us = http.get("CustomersV3(dataAreaId='usmf',CustomerAccount='US-0001')").json()
    de = http.get("CustomersV3(dataAreaId='demf',CustomerAccount='US-0001')").json()
    assert us["OrganizationName"] == "Northwind 1"
    assert de["OrganizationName"] == "Same account, other company"
    assert us["@odata.context"].endswith("$metadata#CustomersV3/$entity")
    # key order does not matter; quotes are doubled, and may arrive percent-encoded
    key = quote("CustomerAccount='US-O''1',dataAreaId='usmf'")
    assert http.get(f"CustomersV3({key})").json()["OrganizationName"] == "O'Brien & Söhne, Retail"
    assert http.get("Currencies('EUR')").json()["CurrencyCode"] == "EUR"


@pytest.mark.parametrize(
    "path, status",
    [
        ("CustomersV3(dataAreaId='usmf')", 400),  # incomplete key
        ("CustomersV3(dataAreaId='usmf',CustomerAccount=1)", 400),  # unquoted string
        ("CustomersV3(dataAreaId='usmf',Nope='x')", 400),
        ("CustomersV3(dataAreaId='usmf',CustomerAccount='NOPE')", 404),
        ("NoSuchEntities", 404),
    ],
)
def test_bad_or_missing_keys_are_refused(http, path, status):
    _error(http.get(path), status)


# --- query options ----------------------------------------------------------------------------


def test_select_filter_orderby_top_skip_count(http):
    page = http.get(
        "CustomersV3",
        params={
            "$select": "CustomerAccount,CreditLimit",
            "$filter": "CreditLimit ge 10000 and (CreditLimit le 20000 or CustomerAccount eq 'US-0030')",
            "$orderby": "CreditLimit desc",
            "$top": "3",
            "$skip": "1",
            "$count": "true",
        },
    ).json()
    assert page["@odata.context"].endswith("$metadata#CustomersV3(CustomerAccount,CreditLimit)")
    assert page["@odata.count"] == 12  # 10..20 and 30
    assert [r["CustomerAccount"] for r in page["value"]] == ["US-0020", "US-0019", "US-0018"]
    assert set(page["value"][0]) == {"@odata.etag", "CustomerAccount", "CreditLimit"}
    assert http.get("CustomersV3/$count", params={"$filter": "CreditLimit gt 25000"}).text == "5"


def test_enum_values_are_member_names_and_filter_literals(http):
    row = http.get("CustomersV3(dataAreaId='usmf',CustomerAccount='US-0005')").json()
    assert row["OnHoldStatus"] == "All" and row["PartyType"] == "Organization"
    held = _all(http, "CustomersV3", params={"$filter": f"OnHoldStatus eq {NS}.CustVendorBlocked'All'"})
    assert sorted(r["CustomerAccount"] for r in held) == [f"US-{i:04d}" for i in (5, 10, 15, 20, 25, 30)]
    not_held = _all(http, "CustomersV3", params={"$filter": f"OnHoldStatus ne {NS}.CustVendorBlocked'All'"})
    assert len(not_held) == 25
    _error(http.get("CustomersV3", params={"$filter": f"OnHoldStatus gt {NS}.CustVendorBlocked'No'"}), 400)


def test_wildcard_equality_and_unsupported_operators(http):
    rows = _all(http, "CustomersV3", params={"$filter": "OrganizationName eq '*retail*'"})
    assert [r["CustomerAccount"] for r in rows] == ["US-O'1"]
    for bad in ("CustomerAccount in ('US-0001')", "contains(OrganizationName,'x')", "Nope eq 1", "CreditLimit eq 'x'"):
        _error(http.get("CustomersV3", params={"$filter": bad}), 400)
    _error(http.get("CustomersV3", params={"$select": "Nope"}), 400)
    _error(http.get("CustomersV3", params={"$top": "-1"}), 400)


def test_rows_carry_every_property_and_no_implicit_timestamps(http):
    row = http.get("CustomersV3(dataAreaId='usmf',CustomerAccount='US-O''1')").json()
    assert set(row) == {"@odata.etag", "@odata.context", *(c.name for c in ERP["CustomersV3"].columns)}
    # X++ has no null: an empty field comes as its type's empty value
    assert row["PaymentTerms"] == "" and row["CreditLimit"] == 0
    assert not [name for name, value in row.items() if value is None]
    assert not {"ModifiedDateTime", "modifiedon", "createdon", "_version"} & set(row)


# --- paging -----------------------------------------------------------------------------------


def test_server_driven_paging_honours_maxpagesize(http):
    head = {"Prefer": "odata.maxpagesize=7"}
    first = http.get("CustomersV3", params={"$orderby": "CreditLimit desc"}, headers=head)
    assert first.headers["Preference-Applied"] == "odata.maxpagesize=7"
    assert len(first.json()["value"]) == 7 and "$skiptoken=" in first.json()["@odata.nextLink"]
    rows = _all(http, "CustomersV3?$orderby=CreditLimit desc", headers=head)
    accounts = [r["CustomerAccount"] for r in rows]
    assert len(accounts) == len(set(accounts)) == 31
    limits = [r["CreditLimit"] for r in rows]
    assert limits[-1] == 0  # the empty credit limit (0 in F&O) sorts last descending
    assert limits == sorted(limits, reverse=True)
    topped = _all(http, "CustomersV3", params={"$top": "10", "cross-company": "true"}, headers=head)
    assert len(topped) == 10


def test_pages_hold_at_most_ten_thousand_rows(tmp_path):
    with finops_server(tmp_path) as running, running.client() as c:
        running.store.bulk_insert("Currencies", ({"CurrencyCode": f"C{i:05d}"} for i in range(10_003)))
        first = c.get("Currencies", headers={"Prefer": "odata.maxpagesize=50000"}).json()
        assert len(first["value"]) == 10_000
        rest = c.get(first["@odata.nextLink"]).json()
        assert len(rest["value"]) == 3 and "@odata.nextLink" not in rest


# --- writes -----------------------------------------------------------------------------------


def _new_account() -> str:
    return f"T-{uuid.uuid4().hex[:8]}"


def test_create_returns_201_with_the_row_and_refuses_duplicates(http):
    acc = _new_account()
    made = http.post("CustomersV3", json={"CustomerAccount": acc, "OrganizationName": "New Co", "OnHoldStatus": "Invoice"})
    assert made.status_code == 201
    body = made.json()
    assert body["dataAreaId"] == "usmf" and body["OnHoldStatus"] == "Invoice"
    assert made.headers["Location"].endswith(f"CustomersV3(dataAreaId='usmf',CustomerAccount='{acc}')")
    assert http.get(made.headers["Location"]).json()["OrganizationName"] == "New Co"
    again = http.post("CustomersV3", json={"CustomerAccount": acc, "dataAreaId": "USMF"})
    assert "already exists" in _error(again, 400)
    other = http.post("CustomersV3", json={"CustomerAccount": acc, "dataAreaId": "demf"})
    assert other.status_code == 201  # the same account in another company is another record


@pytest.mark.parametrize(
    "body, words",
    [
        ({"Nope": 1}, "does not exist"),
        ({"OnHoldStatus": "Maybe"}, "CustVendorBlocked"),
        ({"CreditLimit": "lots"}, "Edm.Decimal"),
        ({"dataAreaId": "zzzz"}, "zzzz"),
        ({"CustomerAccount": ""}, "CustomerAccount"),
    ],
)
def test_create_refusals_have_error_bodies(http, body, words):
    payload = {"CustomerAccount": _new_account()} | body
    assert words in _error(http.post("CustomersV3", json=payload), 400)


def test_computed_fields_are_refused_on_write(http):
    resp = http.post(
        "CDSSalesOrderHeaders",
        json={"SalesOrderNumber": "SO-RO", "OrderingCustomerAccountNumber": "US-0001", "OrderTotalAmount": 5},
    )
    assert "OrderTotalAmount" in _error(resp, 400)
    resp = http.patch("ContactPersons(dataAreaId='usmf',ContactPersonId='X')", json={"LastEditDateTime": "2026-01-01T00:00:00Z"})
    assert "read-only" in _error(resp, 400)


def test_patch_with_if_match_and_stale_etag(http):
    acc = _new_account()
    url = f"CustomersV3(dataAreaId='usmf',CustomerAccount='{acc}')"
    etag0 = http.post("CustomersV3", json={"CustomerAccount": acc}).json()["@odata.etag"]
    assert etag0.startswith('W/"')
    ok = http.patch(url, json={"CreditLimit": 42.5}, headers={"If-Match": etag0})
    assert ok.status_code == 204
    row = http.get(url).json()
    assert row["CreditLimit"] == 42.5 and row["@odata.etag"] != etag0
    stale = http.patch(url, json={"CreditLimit": 1}, headers={"If-Match": etag0})
    _error(stale, 412)
    assert http.get(url).json()["CreditLimit"] == 42.5
    assert http.patch(url, json={"CreditLimit": 2}, headers={"If-Match": "*"}).status_code == 204
    _error(http.delete(url, headers={"If-Match": etag0}), 412)
    assert http.delete(url, headers={"If-Match": http.get(url).json()["@odata.etag"]}).status_code == 204
    _error(http.get(url), 404)
    _error(http.delete(url), 404)
    _error(http.patch(url, json={"CreditLimit": 1}), 404)


def test_patch_cannot_move_the_key(http):
    acc = _new_account()
    http.post("CustomersV3", json={"CustomerAccount": acc})
    url = f"CustomersV3(dataAreaId='usmf',CustomerAccount='{acc}')"
    _error(http.patch(url, json={"CustomerAccount": "OTHER"}), 400)
    assert http.patch(url, json={"CustomerAccount": acc, "OrganizationName": "same key"}).status_code == 204


def test_contact_person_last_edit_is_kept_by_the_service(http):
    made = http.post("ContactPersons", json={"ContactPersonId": "CP-1", "FirstName": "Ada", "LastName": "Lovelace"})
    assert made.status_code == 201, made.text
    first = made.json()
    assert first["ContactPersonName"] == "Ada Lovelace"
    assert first["LastEditDateTime"].endswith("Z") and first["LastEditDateTime"] > "2000"
    url = "ContactPersons(dataAreaId='usmf',ContactPersonId='CP-1')"
    time.sleep(1.05)  # the timestamp has second precision
    assert http.patch(url, json={"LastName": "King"}).status_code == 204
    after = http.get(url).json()
    assert after["ContactPersonName"] == "Ada King" and after["LastEditDateTime"] > first["LastEditDateTime"]


def test_concurrent_writes_with_one_etag_let_exactly_one_through(erp):
    from concurrent.futures import ThreadPoolExecutor

    acc = _new_account()
    with erp.client() as c:
        tag = c.post("CustomersV3", json={"CustomerAccount": acc}).json()["@odata.etag"]
    url = f"CustomersV3(dataAreaId='usmf',CustomerAccount='{acc}')"

    def patch(n: int) -> int:
        with erp.client() as c:
            return c.patch(url, json={"CreditLimit": n}, headers={"If-Match": tag}).status_code

    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(patch, range(6)))
    assert codes == [204] + [412] * 5
