"""The writeback to Business Central: the writer's requests, the JSON $batch codec, and the BC
emulator over real loopback HTTP (100 operations per batch, If-Match from the extracted ETag)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from p2c_core.jsonbatch import JSON_BATCH
from p2c_core.multipart import MULTIPART, PartRequest, PartResponse
from reverse_etl.apply import Writeback, classify
from reverse_etl.config import WritebackConfig
from reverse_etl.executor import BatchExecutor, Operation, Result
from sandbox.business_central import create_app
from sandbox.business_central_schema import BC_ENTITIES
from sandbox.store import Store
from systems import Request
from systems.business_central.writer import LIMITS, BusinessCentralWriter, MissingETag

from .helpers import row, serve, warehouse

COMPANY = "11111111-2222-3333-4444-555555555555"
ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


@pytest.fixture(autouse=True)
def business_central(monkeypatch):
    monkeypatch.setenv("P2C__ERP", "business_central")


def _row(op="update", number="C-1", etag='W/"1"', target_set="customers", payload=None, key=None):
    key = key or ({"companyId": COMPANY, "number": number} if op == "create" else {"companyId": COMPANY, "id": ID})
    return row(entity="customer", key=f"usmf|{number}", system="erp", target_set=target_set, op=op, etag=etag,
               target_key=key, payload=payload if payload is not None else {"displayName": f"Name {number}"},
               base_after={"name": f"Name {number}"})


# --- the writer's requests (unit) -------------------------------------------------------------------------


def test_requests_address_the_company_and_guard_every_change_with_the_extracted_etag():
    w = BusinessCentralWriter()
    create = w.request(_row("create", etag=None, target_set="salesOrders",
                            payload={"customerNumber": "C-1", "salesOrderLines": [{"lineObjectNumber": "P-1", "quantity": 2}]}),
                       "upsert")
    assert (create.method, create.path) == ("POST", f"companies({COMPANY})/salesOrders")
    assert create.body == {"number": "C-1", "customerNumber": "C-1", "salesOrderLines": [{"lineObjectNumber": "P-1", "quantity": 2}]}
    update = w.request(_row(payload={"displayName": "X", "companyId": COMPANY, "id": ID}), "upsert")
    assert (update.method, update.path, update.body) == ("PATCH", f"companies({COMPANY})/customers({ID})", {"displayName": "X"})
    assert update.headers["If-Match"] == 'W/"1"'
    delete = w.request(_row("deactivate", payload={}), "upsert")
    assert (delete.method, delete.headers, delete.body) == ("DELETE", {"If-Match": 'W/"1"'}, None)
    # a PATCH without an extracted ETag is never built (BC would need If-Match: *)
    with pytest.raises(MissingETag, match="never updates Business Central with If-Match: \\*"):
        w.request(_row(etag=None), "upsert")


def test_a_record_created_in_this_run_is_updated_with_its_create_answers_etag():
    w = BusinessCentralWriter()
    created = _row("create", etag=None)
    w.learned_id(created, PartResponse(201, "", {}, json.dumps({"id": ID, "number": "C-1", "@odata.etag": 'W/"new"'})))
    again = w.request(_row(etag=None, key={"companyId": COMPANY, "number": "C-1"}), "upsert")
    assert again.path == f"companies({COMPANY})/customers({ID})" and again.headers["If-Match"] == 'W/"new"'


def test_a_create_whose_answer_was_lost_is_found_by_number_then_updated():
    asked = []

    def fetch(path, params):
        asked.append((path, params))
        return {"value": [{"id": ID.upper()}]}

    w = BusinessCentralWriter(fetch)
    resend = w.resend_existing(_row("create", number="O'Hara", etag=None, target_set="salesOrders",
                                    payload={"customerNumber": "C-1", "salesOrderLines": [{"quantity": 1}]}))
    assert asked == [(f"companies({COMPANY})/salesOrders", {"$filter": "number eq 'O''Hara'", "$select": "id"})]
    assert (resend.method, resend.path, resend.kind) == ("PATCH", f"companies({COMPANY})/salesOrders({ID})", "create_as_update")
    assert resend.body == {"customerNumber": "C-1"} and resend.headers["If-Match"] == "*"  # no lines: PATCH refuses them
    assert w.lookups == 1


def test_answers_are_classified_as_for_the_other_erp():
    w = BusinessCentralWriter()

    def outcome(op, status, code="X", message="m"):
        request = w.request(op, "upsert")
        body = json.dumps({"error": {"code": code, "message": message}})
        return classify(Result(Operation(op, request), status, PartResponse(status, "", {}, body)), w)

    assert outcome(_row(), 412, "Request_EntityChanged") == "changed_since_extract"
    assert outcome(_row(), 400, "BadRequest_InvalidToken") == "failed"
    assert outcome(_row("create", etag=None), 400, "Internal_EntityWithSameKeyExists", "The record already exists.") == "exists"
    assert outcome(_row("create", etag=None), 409) == "exists"
    assert outcome(_row("create", etag=None), 400, "Unknown", "validation") == "failed"


# --- the JSON $batch codec -----------------------------------------------------------------------------


def test_json_batch_round_trip_and_the_systems_codecs():
    parts = [PartRequest("PATCH", "companies(x)/customers(y)", {"If-Match": 'W/"1"'}, {"displayName": "Ä"}),
             PartRequest("DELETE", "companies(x)/contacts(z)", {"If-Match": 'W/"2"'})]
    ctype, body, groups = JSON_BATCH.build(parts, 0)
    assert ctype == "application/json" and groups == [[0], [1]]
    sent = json.loads(body)
    assert sent == {"requests": [
        {"method": "PATCH", "id": "1", "url": "companies(x)/customers(y)", "headers": {"If-Match": 'W/"1"'}, "body": {"displayName": "Ä"}},
        {"method": "DELETE", "id": "2", "url": "companies(x)/contacts(z)", "headers": {"If-Match": 'W/"2"'}}]}
    answer = {"responses": [{"id": "2", "status": 412, "headers": {}, "body": {"error": {"code": "Request_EntityChanged"}}}]}
    parsed = JSON_BATCH.parse("application/json", json.dumps(answer).encode(), groups, 2)
    assert parsed[0] is None and parsed[1].status == 412 and parsed[1].json()["error"]["code"] == "Request_EntityChanged"
    assert JSON_BATCH.url("/api/v2.0/", "companies(x)/customers") == "companies(x)/customers"
    assert not JSON_BATCH.answered(400, "application/json") and MULTIPART.answered(400, "multipart/mixed; boundary=b")
    assert LIMITS.codec is JSON_BATCH and LIMITS.max_batch == 100
    from systems import system_for

    assert system_for("crm").limits.codec is MULTIPART


def test_250_writes_go_as_3_json_batches_of_at_most_100():
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v2.0/$batch" and request.headers["content-type"] == "application/json"
        ops = json.loads(request.content)["requests"]
        seen.append(len(ops))
        return httpx.Response(200, json={"responses": [{"id": o["id"], "status": 200, "body": {}} for o in ops]})

    client = httpx.Client(base_url="http://bc/api/v2.0/", transport=httpx.MockTransport(handler))
    executor = BatchExecutor(client, "erp", WritebackConfig(concurrency=1), sleep=lambda s: None)
    w = BusinessCentralWriter()
    ops = [Operation(r, w.request(r, "upsert")) for r in (_row(number=f"C-{i}") for i in range(250))]
    results = [res for batch in executor.run(ops) for res in batch]
    assert seen == [100, 100, 50] and executor.requests_sent == 3
    assert len(results) == 250 and all(r.status == 200 for r in results)


# --- against the emulator --------------------------------------------------------------------------------


@pytest.fixture
def bc(tmp_path: Path):
    store = Store(tmp_path / "bc.sqlite", BC_ENTITIES)
    store.insert("companies", {"id": COMPANY, "name": "CRONUS USA", "displayName": "CRONUS USA",
                               "systemVersion": "1", "businessProfileId": ""})
    with serve(create_app(store), "/api/v2.0/") as base:
        yield base


def _write(tmp_path, base, rows, name="w.duckdb"):
    conn = warehouse(tmp_path / name, rows)
    sizes: list[int] = []

    def count(request: httpx.Request) -> None:
        if request.url.path.endswith("$batch"):
            sizes.append(len(json.loads(request.content)["requests"]))

    client = httpx.Client(base_url=base, event_hooks={"request": [count]})
    result = Writeback(conn, {"erp": client}, WritebackConfig(), sleep=lambda s: None).run()
    log = {r[0]: r[1:] for r in conn.execute(
        "select record_key, status, http_status, error_code, error_message from p2c_sync.writeback_log").fetchall()}
    return result, log, sizes


def _customers(base: str) -> dict[str, dict]:
    with httpx.Client(base_url=base) as c:
        return {v["number"]: v for v in c.get(f"companies({COMPANY})/customers").json()["value"]}


def test_250_creates_then_stale_and_missing_etags_against_the_emulator(tmp_path, bc):
    creates = [_row("create", number=f"T-{i:04d}", etag=None) for i in range(250)]
    result, log, sizes = _write(tmp_path, bc, creates)
    assert result.clean, result.totals
    assert sizes == [100, 100, 50]
    now = _customers(bc)
    assert {f"T-{i:04d}" for i in range(250)} <= set(now)

    # an edit in BC after "extraction": the stale ETag is refused (412), reported, not retried
    a, b = now["T-0001"], now["T-0002"]
    with httpx.Client(base_url=bc) as c:
        assert c.patch(f"companies({COMPANY})/customers({a['id']})", json={"displayName": "edited in BC"},
                       headers={"If-Match": a["@odata.etag"]}).status_code == 200
    updates = [_row(number="T-0001", etag=a["@odata.etag"], key={"companyId": COMPANY, "id": a["id"]},
                    payload={"displayName": "from CRM"}),
               _row(number="T-0002", etag=b["@odata.etag"], key={"companyId": COMPANY, "id": b["id"]},
                    payload={"displayName": "from CRM"}),
               _row(number="T-0003", etag=None, key={"companyId": COMPANY, "id": now["T-0003"]["id"]},
                    payload={"displayName": "from CRM"})]
    result, log, sizes = _write(tmp_path, bc, updates, name="w2.duckdb")
    after = _customers(bc)
    assert after["T-0001"]["displayName"] == "edited in BC"
    assert log["usmf|T-0001"][:3] == ("changed_since_extract", 412, "Request_EntityChanged")
    assert after["T-0002"]["displayName"] == "from CRM" and log["usmf|T-0002"][0] == "written"
    # no ETag: never sent, failed with the reason
    assert after["T-0003"]["displayName"] == "Name T-0003"
    assert log["usmf|T-0003"][0] == "failed" and "If-Match: *" in log["usmf|T-0003"][3]
    assert sizes == [2]  # one batch, the two guarded PATCHes; the 412 not resent


def test_a_warehouse_that_once_ran_finops_keeps_its_models_but_they_are_never_read(tmp_path):
    from reverse_etl import store

    stale = row(system="erp", target_set="CustomersV3", target_key={"dataAreaId": "usmf", "CustomerAccount": "A-1"})
    conn = warehouse(tmp_path / "w.duckdb", [stale, _row("create", etag=None), row()])
    conn.execute("alter table writeback.erp__customersv3 rename to erp__customers_v3")  # as dbt named it
    assert {(g[1], g[2], g[3]) for g in store.writeback_groups(conn)} == {
        ("erp", "customers", "erp__customers"), ("crm", "accounts", "crm__accounts")}
    assert {r.target_set for r in store.read_writeback_rows(conn)} == {"customers", "accounts"}


def test_the_tenant_check_asks_for_the_companies_and_the_sets():
    from systems import system_for

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/companies"):
            return httpx.Response(200, json={"value": []})
        return httpx.Response(200, json={"value": [{"name": "customers", "url": "customers"}]})

    with httpx.Client(base_url="http://bc/api/v2.0/", transport=httpx.MockTransport(handler)) as client:
        problems = system_for("erp").tenant_problems(client, "erp")
    assert any("lists no company" in p for p in problems)
    assert any(p.startswith("ERP salesOrders:") for p in problems)
    assert not any(p.startswith("ERP customers:") for p in problems)
