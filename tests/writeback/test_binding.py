"""Lookup binding by GUID: alternate-key binds of the models rewritten from the warehouse, the run, or the CRM."""

from __future__ import annotations

import json

import duckdb
import httpx
import pytest

from p2c_core.multipart import PartResponse
from p2c_core.odata import RequestFailed
from p2c_core.warehouse import DuckDBConnection
from reverse_etl.config import WritebackConfig
from reverse_etl.executor import get_json
from systems.dataverse.entities import primary_key as crm_primary_key
from systems.dataverse.lookups import GuidBinder, RefResolver, Unresolved, alternate_key_bind

A1 = "0a1b2c3d-0000-4000-8000-000000000001"
A2 = "0a1b2c3d-0000-4000-8000-000000000002"
DUP = "0a1b2c3d-0000-4000-8000-000000000003"


def test_alternate_key_binds_are_read_and_guid_binds_left_alone():
    assert alternate_key_bind("/accounts(accountnumber='O''Brien & Co')") == ("accounts", {"accountnumber": "O'Brien & Co"})
    assert alternate_key_bind("/salesorders(ordernumber='SO-1')") == ("salesorders", {"ordernumber": "SO-1"})
    assert alternate_key_bind(f"/accounts({A1})") is None
    assert alternate_key_bind("/uoms(" + A2 + ")") is None
    assert alternate_key_bind(None) is None


@pytest.fixture
def warehouse():
    con = duckdb.connect()
    con.execute("create schema crm_raw")
    con.execute("create table crm_raw.accounts (accountid varchar, accountnumber varchar, _p2c_deleted boolean)")
    con.execute(f"insert into crm_raw.accounts values ('{A1}', 'A-1', false), ('{A2}', 'A-2', true),"
                f" ('{DUP}', 'D-1', false), ('{A2}', 'D-1', false)")
    yield DuckDBConnection(con)  # as the writeback hands it over
    con.close()


def test_binds_resolve_from_the_warehouse_then_the_crm(warehouse):
    asked: list[dict] = []

    def fetch(path, params):
        asked.append({"path": path, **params})
        return {"value": [{"accountid": "0a1b2c3d-0000-4000-8000-0000000000ff", "accountnumber": "NEW-1"}]}

    binder = GuidBinder(warehouse, RefResolver(fetch, crm_primary_key), "crm_raw")
    payloads = [
        {"name": "x", "customerid_account@odata.bind": "/accounts(accountnumber='A-1')"},
        {"customerid_account@odata.bind": "/accounts(accountnumber='NEW-1')"},
    ]
    binder.prefetch(payloads)
    assert binder.bind(payloads[0]) == {"name": "x", "customerid_account@odata.bind": f"/accounts({A1})"}
    assert binder.bind(payloads[1]) == {"customerid_account@odata.bind": "/accounts(0a1b2c3d-0000-4000-8000-0000000000ff)"}
    # the warehouse answered A-1; only NEW-1 went to the CRM, in one query
    assert len(asked) == 1 and "NEW-1" in asked[0]["$filter"] and "A-1" not in asked[0]["$filter"]


def test_a_deleted_or_ambiguous_record_is_not_bound_from_the_warehouse(warehouse):
    binder = GuidBinder(warehouse, RefResolver(lambda path, params: {"value": []}, crm_primary_key), "crm_raw")
    for number in ("A-2", "D-1"):  # A-2 deleted; D-1 held by two live records
        payload = {"customerid_account@odata.bind": f"/accounts(accountnumber='{number}')"}
        binder.prefetch([payload])
        with pytest.raises(Unresolved):
            binder.bind(payload)


def test_a_lookup_the_crm_does_not_answer_fails_only_the_records_that_need_it(warehouse):
    """Retries exhausted on a lookup: the keys it asked for raise the service's refusal (their
    records fail with its message), the other lookups resolve and their records go on."""
    refused = RequestFailed("HTTP 429", PartResponse(429, "Too Many Requests", {}, json.dumps(
        {"error": {"code": "0x80072321", "message": "Number of requests exceeded the limit of 6000"}})))

    def fetch(path, params):
        if "BUSY-1" in params["$filter"]:
            raise refused
        return {"value": [{"accountid": "0a1b2c3d-0000-4000-8000-0000000000ff", "accountnumber": "NEW-1"}]}

    resolver = RefResolver(fetch, crm_primary_key, chunk=1)
    busy = {"parentcustomerid": {"ref": "accounts", "key": {"accountnumber": "BUSY-1"}}}
    new = {"parentcustomerid": {"ref": "accounts", "key": {"accountnumber": "NEW-1"}}}
    resolver.prefetch([busy, new])
    assert resolver.substitute(new) == {"parentcustomerid": "0a1b2c3d-0000-4000-8000-0000000000ff"}
    with pytest.raises(RequestFailed) as info:
        resolver.substitute(busy)
    assert info.value.response.status == 429
    resolver.prefetch([busy])  # not asked again in this run
    assert resolver.queries == 2


def test_get_json_gives_up_with_the_services_last_answer():
    config = WritebackConfig(max_attempts=2, backoff_base=0.0, backoff_cap=0.0)
    answers = iter([httpx.Response(503), httpx.Response(429, json={"error": {"message": "Number of requests exceeded"}})])
    client = httpx.Client(base_url="http://crm.test/", transport=httpx.MockTransport(lambda request: next(answers)))
    with pytest.raises(RequestFailed) as info:
        get_json(client, "accounts", {}, config, sleep=lambda s: None)
    assert info.value.response.status == 429 and "Number of requests exceeded" in info.value.response.text
    dropped = httpx.Client(base_url="http://crm.test/", transport=httpx.MockTransport(_drop))
    with pytest.raises(RequestFailed, match="the connection failed: ReadError"):
        get_json(dropped, "accounts", {}, config, sleep=lambda s: None)


def _drop(request):
    raise httpx.ReadError("reset", request=request)
