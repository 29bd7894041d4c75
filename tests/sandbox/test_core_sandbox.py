"""The sandbox core: store, $filter parser, $batch codec, and (over HTTP) auth and faults."""

from __future__ import annotations

import multiprocessing
import time

import httpx
import pytest

from sandbox import batch
from sandbox.odata_query import ERP_NAMESPACE, QueryError, parse_filter
from sandbox.schema import CRM, CRM_ENTITIES, ERP, ERP_ENTITIES
from sandbox.store import NotFound, Store, VersionMismatch

# --- store ------------------------------------------------------------------------------------


@pytest.fixture
def crm_store(tmp_path):
    s = Store(tmp_path / "crm.sqlite", CRM_ENTITIES)
    yield s
    s.close()


def test_store_keyset_paging_is_exact_under_any_order_with_nulls(crm_store):
    rows = [{"name": f"n{i % 5}" if i % 7 else None, "creditlimit": float(i % 3), "accountnumber": f"A{i}"}
            for i in range(103)]
    crm_store.bulk_insert("accounts", rows)
    for order in ([("name", False)], [("name", True), ("creditlimit", False)], [("creditlimit", True)]):
        got, after = [], None
        while True:
            page = crm_store.query("accounts", None, (), order, 10, after, columns=["accountnumber", "name"])
            got += [r["accountnumber"] for r in page.rows]
            if page.after is None:
                break
            after = page.after
        assert sorted(got) == sorted(r["accountnumber"] for r in rows) and len(got) == len(set(got))


def test_store_versions_rise_and_deletions_leave_tombstones(crm_store):
    a = crm_store.insert("accounts", {"name": "a"})
    b = crm_store.insert("accounts", {"name": "b"})
    assert b["versionnumber"] > a["versionnumber"] and b["_version"] == b["versionnumber"]
    mark = crm_store.current_version()
    a2 = crm_store.update("accounts", a["accountid"], {"name": "a2"}, if_version=a["_version"])
    assert a2["versionnumber"] > mark and a2["modifiedon"] >= a["modifiedon"]
    with pytest.raises(VersionMismatch):
        crm_store.update("accounts", a["accountid"], {"name": "stale"}, if_version=a["_version"])
    crm_store.delete("accounts", b["accountid"])
    ch = crm_store.changes_since("accounts", mark)
    assert [r["accountid"] for r in ch.rows] == [a["accountid"]]
    assert [d["key"] for d in ch.deleted] == [{"accountid": b["accountid"]}]
    with pytest.raises(NotFound):
        crm_store.delete("accounts", b["accountid"])


def test_store_transaction_rolls_back_every_write(crm_store):
    with pytest.raises(RuntimeError):
        with crm_store.transaction():
            crm_store.insert("accounts", {"name": "gone"})
            raise RuntimeError
    assert crm_store.count("accounts") == 0


def _writer(path: str, n: int) -> None:
    s = Store(path, ERP_ENTITIES)
    for i in range(n):
        s.insert("Currencies", {"CurrencyCode": f"{path[-12:-7]}{multiprocessing.current_process().pid}-{i}"})


def test_store_is_safe_for_concurrent_processes(tmp_path):
    path = str(tmp_path / "erp.sqlite")
    Store(path, ERP_ENTITIES).close()
    procs = [multiprocessing.get_context("spawn").Process(target=_writer, args=(path, 50)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    s = Store(path, ERP_ENTITIES)
    versions = [r["v"] for r in s.fetch("SELECT _version AS v FROM Currencies")]
    assert len(versions) == 150 and len(set(versions)) == 150 and s.current_version() == 150


# --- $filter ----------------------------------------------------------------------------------


def test_filter_on_real_rows(crm_store):
    crm_store.bulk_insert("accounts", [
        {"name": "Retail 'One'", "creditlimit": 10.0, "statecode": 0},
        {"name": "Wholesale", "creditlimit": None, "statecode": 1},
        {"name": "retail two", "creditlimit": 50.0, "statecode": 0},
    ])

    def names(text):
        where, params = parse_filter(text, CRM["accounts"])
        return sorted(r["name"] for r in crm_store.query("accounts", where, params).rows)

    assert names("contains(name,'retail')") == ["Retail 'One'", "retail two"]
    assert names("name eq 'Retail ''One'''") == ["Retail 'One'"]
    assert names("creditlimit eq null or creditlimit ge 50") == ["Wholesale", "retail two"]
    assert names("not (statecode eq 0) and creditlimit ne 10") == ["Wholesale"]
    assert names("name in ('Wholesale','nobody')") == ["Wholesale"]


def test_filter_finops_enum_literals_and_wildcards(tmp_path):
    s = Store(tmp_path / "erp.sqlite", ERP_ENTITIES)
    s.bulk_insert("CustomersV3", [
        {"dataAreaId": "usmf", "CustomerAccount": "1", "OrganizationName": "Big Retail Co", "IsExternallyMaintained": "Yes"},
        {"dataAreaId": "usmf", "CustomerAccount": "2", "OrganizationName": "Retailers", "IsExternallyMaintained": "No"},
    ])
    e = ERP["CustomersV3"]
    where, params = parse_filter("OrganizationName eq '*retail*' and IsExternallyMaintained eq "
                                 "Microsoft.Dynamics.DataEntities.NoYes'Yes'", e, namespace=ERP_NAMESPACE, wildcards=True)
    assert [r["CustomerAccount"] for r in s.query("CustomersV3", where, params).rows] == ["1"]
    with pytest.raises(QueryError):
        parse_filter("IsExternallyMaintained eq Microsoft.Dynamics.DataEntities.DirPartyType'Person'", e)


@pytest.mark.parametrize("text", ["name eq", "name eq 'x' and", "(name eq 'x'", "name eq 'x' 'y'", "name gt true",
                                  "contains(creditlimit,'1')", "name eq 'unterminated"])
def test_filter_syntax_and_type_errors(text):
    with pytest.raises(QueryError):
        parse_filter(text, CRM["accounts"])


# --- $batch codec -----------------------------------------------------------------------------


def test_batch_parse_and_build_round_trip():
    body = (
        "--b1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        "GET accounts?$top=1 HTTP/1.1\r\nAccept: application/json\r\n\r\n"
        "--b1\r\nContent-Type: multipart/mixed; boundary=cs1\r\n\r\n"
        "--cs1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\n"
        "POST accounts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"name\": \"a\"}\r\n"
        "--cs1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 2\r\n\r\n"
        "PATCH $1 HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"x@odata.bind\": \"$1\"}\r\n"
        "--cs1--\r\n--b1--\r\n"
    ).encode()
    parts = batch.parse(body, 'multipart/mixed; boundary="b1"')
    assert isinstance(parts[0], batch.SubRequest) and parts[0].url == "accounts?$top=1"
    cs = parts[1]
    assert isinstance(cs, batch.ChangeSet) and [r.content_id for r in cs.requests] == ["1", "2"]
    resolved = batch.resolve_references(cs.requests[1], {"1": "http://h/accounts(abc)"})
    assert resolved.url == "http://h/accounts(abc)" and b'"http://h/accounts(abc)"' in resolved.body
    out, ctype = batch.build([batch.SubResponse(200, {"content-type": "application/json"}, b"{}"),
                              [batch.SubResponse(204, {"odata-entityid": "u"}, b"", "1")]])
    again = out.decode()
    assert ctype.startswith("multipart/mixed; boundary=batchresponse_")
    assert "HTTP/1.1 200 OK" in again and "OData-EntityId: u" in again and "Content-ID: 1" in again


def test_batch_refuses_get_in_change_set_and_missing_close():
    cs = ("--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: application/http\r\n\r\n"
          "GET accounts HTTP/1.1\r\n\r\n--c--\r\n--b--\r\n").encode()
    with pytest.raises(batch.BatchError):
        batch.parse(cs, "multipart/mixed; boundary=b")
    with pytest.raises(batch.BatchError):
        batch.parse(b"--b\r\nContent-Type: application/http\r\n\r\nGET x HTTP/1.1\r\n", "multipart/mixed; boundary=b")


# --- auth and faults over HTTP ------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited(sandbox_factory):
    sb = sandbox_factory(scale=None, rate_limit="4/30", token_lifetime=2)
    yield sb
    sb.stop()


def _form(sb, **over):
    form = {"grant_type": "client_credentials", "client_id": sb.client_id, "client_secret": sb.client_secret,
            "scope": f"{sb.crm_origin}/.default"}
    form.update(over)
    return form


def test_token_endpoint_issues_bearer_tokens_and_refuses_like_entra(limited):
    r = httpx.post(limited.crm_token_url, data=_form(limited))
    assert r.status_code == 200
    tok = r.json()
    assert tok["token_type"] == "Bearer" and tok["expires_in"] == 2 and tok["access_token"].count(".") == 2
    bad_secret = httpx.post(limited.crm_token_url, data=_form(limited, client_secret="wrong"))
    assert bad_secret.status_code == 401
    body = bad_secret.json()
    assert body["error"] == "invalid_client" and body["error_codes"] == [7000215]
    assert body["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)
    bad_client = httpx.post(limited.erp_token_url, data=_form(limited, client_id="someone"))
    assert bad_client.status_code == 400 and bad_client.json()["error"] == "unauthorized_client"
    bad_tenant = httpx.post(limited.crm_token_url.replace(limited.tenant, "other"), data=_form(limited))
    assert bad_tenant.status_code == 400 and bad_tenant.json()["error_codes"] == [90002]
    bad_scope = httpx.post(limited.crm_token_url, data=_form(limited, scope="https://x"))
    assert bad_scope.status_code == 400 and bad_scope.json()["error"] == "invalid_scope"


def test_api_requests_need_a_valid_unexpired_token(limited):
    for url in (limited.crm_url + "accounts", limited.erp_url + "CustomersV3"):
        assert httpx.get(url).status_code == 401
        r = httpx.get(url, headers={"Authorization": "Bearer not.a.token"})
        assert r.status_code == 401 and "WWW-Authenticate" in r.headers
    token = httpx.post(limited.crm_token_url, data=_form(limited)).json()["access_token"]
    time.sleep(2.2)
    r = httpx.get(limited.crm_url + "accounts", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and "expired" in r.headers["WWW-Authenticate"]


def test_rate_limit_answers_429_with_retry_after(limited):
    codes, last = [], None
    for _ in range(6):
        token = httpx.post(limited.crm_token_url, data=_form(limited)).json()["access_token"]  # never throttled
        last = httpx.get(limited.crm_url + "uoms", headers={"Authorization": f"Bearer {token}"})
        codes.append(last.status_code)
    assert 429 in codes and codes.count(200) <= 4
    assert int(last.headers["Retry-After"]) >= 1
    err = last.json()["error"]
    assert err["code"] == "0x80072322" and err["message"].startswith("Number of requests exceeded the limit of 4")


def test_error_rate_and_latency_are_reproducible(sandbox_factory):
    sb = sandbox_factory(scale=None, error_rate=0.5, fault_seed=3, latency_ms=20)
    try:
        def run():
            with sb.client("erp") as c:
                return [c.get("Currencies").status_code for _ in range(12)]

        first = run()
        sb.restart()
        assert run() == first
        assert set(first) == {200, 503}
        with sb.client("crm") as c:
            r = next(r for r in (c.get("uoms") for _ in range(30)) if r.status_code == 503)
            assert "error" in r.json()
    finally:
        sb.stop()
