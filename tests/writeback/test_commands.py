"""`p2c plan` and `p2c errors` over a scratch warehouse."""

from __future__ import annotations

import csv
import hashlib
import json

import pytest

from typer.testing import CliRunner

from p2c.cli import app
from reverse_etl.apply import Writeback
from reverse_etl.config import WritebackConfig

from .fake_service import FakeService
from .helpers import row, warehouse

runner = CliRunner()


def _rows():
    upd = row(key="usmf|A-1", op="update", etag='W/"3"', payload={"name": "New"}, target_key={"accountnumber": "A-1"})
    upd = upd.__class__(**{**upd.__dict__, "changes": {"name": {"old": "Old", "new": "New"}}})
    return [
        row(key="usmf|A-2"),
        upd,
        row(key="usmf|A-3", op="deactivate", payload={}),
        row("order", "usmf|SO-1", target_set="salesorders", target_key={"ordernumber": "SO-1"},
            depends_on=[("customer", "usmf|A-9")], sequence=7),
        row(system="erp", target_set="CustomersV3", target_key={"dataAreaId": "usmf", "CustomerAccount": "A-2"}),
    ]


def test_plan_counts_per_system_and_entity_and_writes_nothing(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    conn = warehouse(db, _rows())
    conn.execute("create schema audit; create table audit.quarantine as select 'customer' entity, 'A-9' natural_key, 'usmf' company, 'missing_key' reason")
    conn.execute("create table audit.conflicts as select 'customer' entity, 'usmf|A-5' record_key, true is_open")
    conn.close()
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    monkeypatch.setenv("P2C_WAREHOUSE", str(db))
    out = runner.invoke(app, ["plan", "--json", "--no-refresh"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    by = {(s["system"], s["entity_set"]): s for s in report["entities"]}
    assert (by[("crm", "accounts")]["create"], by[("crm", "accounts")]["update"], by[("crm", "accounts")]["deactivate"]) == (1, 1, 1)
    assert by[("crm", "accounts")]["held"] == 1
    assert by[("crm", "salesorders")]["waiting"] == 1 and by[("crm", "salesorders")]["create"] == 0
    assert by[("erp", "CustomersV3")]["create"] == 1
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest  # a dry run writes nothing

    out = runner.invoke(app, ["plan", "--key", "usmf|A-1", "--no-refresh"])
    assert out.exit_code == 0 and "name: 'Old' → 'New'" in out.stdout


def test_errors_lists_the_service_message_and_exports_csv(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    conn = warehouse(db, [row(key="usmf|A-1", payload={"bad": True}), row(key="usmf|A-2")])
    Writeback(conn, {"crm": FakeService().client()}, WritebackConfig(), sleep=lambda s: None).run()
    conn.close()
    monkeypatch.setenv("P2C_WAREHOUSE", str(db))
    out = runner.invoke(app, ["errors", "--entity", "accounts", "--csv", str(tmp_path / "e.csv"), "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert [r["record_key"] for r in rows] == ["usmf|A-1"]
    assert rows[0]["http_status"] == 400 and rows[0]["error_code"] == "0x80044331"
    with (tmp_path / "e.csv").open() as fh:
        exported = list(csv.DictReader(fh))
    assert exported[0]["record_key"] == "usmf|A-1" and "validation" in exported[0]["error_message"]
    assert json.loads(runner.invoke(app, ["errors", "--key", "usmf|A-2", "--json"]).stdout) == []


@pytest.mark.parametrize("erp, orders, customers", [("finops", "CDSSalesOrderHeaders", "CustomersV3"),
                                                   ("business_central", "salesOrders", "customers")])
def test_errors_lists_the_writes_the_target_refuses_with_their_reason(tmp_path, monkeypatch, erp, orders, customers):
    """A write the target will not take by its rules (a row's skip_reason: a posted order, a blocked
    customer) is listed skipped with its reason, whichever ERP plays; one the entity's mode leaves out is not."""
    monkeypatch.setenv("P2C__ERP", erp)
    db = tmp_path / "w.duckdb"
    posted = "the ERP has posted sales order SO-1: the ERP owns it from now on"
    conn = warehouse(db, [
        row("order", "usmf|SO-1", system="erp", target_set=orders, op="update", etag='W/"1"',
            target_key={"id": "o"}, skip_reason=posted),
        row(system="erp", key="usmf|A-7", target_set=customers, skip_reason="customer A-7 is blocked"),
        row(key="usmf|A-8"),  # left out by its mode
    ])
    config = WritebackConfig(modes={"accounts": "update_only"})
    Writeback(conn, {"crm": FakeService().client()}, config, sleep=lambda s: None).run()
    conn.close()
    monkeypatch.setenv("P2C_WAREHOUSE", str(db))
    out = runner.invoke(app, ["errors", "--json"])
    assert out.exit_code == 0, out.output
    listed = {r["record_key"]: r for r in json.loads(out.stdout)}
    assert set(listed) == {"usmf|SO-1", "usmf|A-7"}
    assert listed["usmf|SO-1"]["status"] == "skipped" and listed["usmf|SO-1"]["error_message"] == posted
    assert listed["usmf|A-7"]["error_message"] == "customer A-7 is blocked"
    table = runner.invoke(app, ["errors", "--system", "erp"]).stdout
    assert "skipped" in table and "is blocked" in " ".join(table.split())


def test_writeback_without_credentials_exits_2_before_writing(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    warehouse(db, [row(key="usmf|A-1")]).close()
    monkeypatch.setenv("P2C_WAREHOUSE", str(db))
    for system in ("CRM", "ERP"):
        monkeypatch.setenv(f"SOURCES__{system}__CREDENTIALS__CLIENT_SECRET", "")
    out = runner.invoke(app, ["writeback"])
    assert out.exit_code == 2, out.output
    assert "client_secret" in out.output
    import duckdb

    with duckdb.connect(str(db), read_only=True) as conn:
        assert conn.execute("select count(*) from information_schema.tables where table_schema = 'p2c_sync'").fetchone()[0] == 0
