"""The writeback against the sandbox's F&O OData app, over real loopback HTTP."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from reverse_etl.apply import Writeback
from reverse_etl.config import WritebackConfig
from sandbox.finops import create_app
from sandbox.schema import ERP_ENTITIES
from sandbox.store import Store

from .helpers import row, serve, warehouse


@pytest.fixture
def erp(tmp_path: Path):
    store = Store(tmp_path / "erp.sqlite", ERP_ENTITIES)
    for le, name, cur in (("usmf", "Contoso US", "USD"), ("demf", "Contoso Europe", "EUR")):
        store.insert("LegalEntities", {"LegalEntityId": le, "Name": name, "AccountingCurrency": cur})
    with serve(create_app(store, SimpleNamespace(default_company="usmf")), "/data/") as base:
        yield base


def _customer(account: str, name: str, op="create", etag=None, **extra):
    return row(key=f"usmf|{account}", system="erp", target_set="CustomersV3", op=op, etag=etag,
               target_key={"dataAreaId": "usmf", "CustomerAccount": account},
               payload={"OrganizationName": name, **extra}, base_after={"name": name})


def _customers(base: str) -> dict[str, dict]:
    with httpx.Client(base_url=base) as c:
        return {v["CustomerAccount"]: v for v in c.get("CustomersV3", params={"cross-company": "true"}).json()["value"]}


def _write(tmp_path, base, rows, transport=None, name="w.duckdb"):
    conn = warehouse(tmp_path / name, rows)
    client = httpx.Client(base_url=base, transport=transport) if transport else httpx.Client(base_url=base)
    result = Writeback(conn, {"erp": client}, WritebackConfig(erp_batch_size=100), sleep=lambda s: None).run()
    log = {r[0]: r[1:] for r in conn.execute("select record_key, status, http_status, error_message from p2c_sync.writeback_log").fetchall()}
    return result, log


def test_creates_with_awkward_keys_then_guarded_updates(tmp_path, erp):
    keys = ["O'Brien", "Zürich 1", "A,B(1)", "plain"]
    result, _ = _write(tmp_path, erp, [_customer(k, f"Org {k}") for k in keys])
    assert result.clean and result.http_requests == 1
    now = _customers(erp)
    assert {k: now[k]["OrganizationName"] for k in keys} == {k: f"Org {k}" for k in keys}

    # an edit in the ERP after "extraction": the stale ETag must not overwrite it
    with httpx.Client(base_url=erp) as c:
        path = "CustomersV3(dataAreaId='usmf',CustomerAccount='O''Brien')"
        assert c.patch(path, json={"OrganizationName": "edited in F&O"}, headers={"If-Match": now["O'Brien"]["@odata.etag"]}).status_code == 204
    updates = [_customer("O'Brien", "from CRM", op="update", etag=now["O'Brien"]["@odata.etag"]),
               _customer("Zürich 1", "from CRM", op="update", etag=now["Zürich 1"]["@odata.etag"])]
    result, log = _write(tmp_path, erp, updates, name="w2.duckdb")
    after = _customers(erp)
    assert after["O'Brien"]["OrganizationName"] == "edited in F&O"
    assert log["usmf|O'Brien"][:2] == ("changed_since_extract", 412)
    assert after["Zürich 1"]["OrganizationName"] == "from CRM" and log["usmf|Zürich 1"][0] == "written"


def test_one_invalid_record_fails_alone_with_the_services_message(tmp_path, erp):
    rows = [_customer(f"C-{i}", f"Org {i}") for i in range(6)]
    rows[3] = _customer("C-3", "Org 3", NoSuchField="x")
    result, log = _write(tmp_path, erp, rows)
    assert log["usmf|C-3"][0] == "failed" and log["usmf|C-3"][1] == 400 and "NoSuchField" in log["usmf|C-3"][2]
    assert sorted(_customers(erp)) == ["C-0", "C-1", "C-2", "C-4", "C-5"]


def test_a_lost_batch_response_is_resent_without_duplicates(tmp_path, erp):
    real = httpx.HTTPTransport()
    state = {"dropped": False}

    class DropFirstAnswer(httpx.BaseTransport):
        def handle_request(self, request):
            response = real.handle_request(request)
            if request.url.path.endswith("$batch") and not state["dropped"]:
                state["dropped"] = True
                response.read()
                raise httpx.ReadError("connection dropped after the server answered")
            return response

    result, log = _write(tmp_path, erp, [_customer(f"D-{i}", f"Org {i}") for i in range(4)], transport=DropFirstAnswer())
    assert result.clean and state["dropped"]
    assert sorted(_customers(erp)) == ["D-0", "D-1", "D-2", "D-3"]
    assert all(v[0] == "written" for v in log.values())
