"""``p2c status / conflicts / conflicts decide / couplings / mappings`` on a warehouse with known rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from p2c.cli import app

from . import warehouse

runner = CliRunner()


@pytest.fixture()
def wh(tmp_path, monkeypatch) -> Path:
    path = warehouse.build(tmp_path / "p2c.duckdb", history=5)
    monkeypatch.setenv("P2C_WAREHOUSE", str(path))
    monkeypatch.setenv("COLUMNS", "200")
    return path


def _json(args: list[str]):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_status_lists_the_last_runs_newest_first(wh, tmp_path):
    runs = _json(["status", "--json", "-n", "3"])
    assert [r["run_id"] for r in runs] == [warehouse.RUN_ID, warehouse.PREVIOUS_RUN, warehouse.FAILED_RUN]
    assert runs[0]["status"] == "partial" and runs[0]["created"] == 12 and runs[0]["failed"] == 1
    assert "client_secret" in runs[2]["message"]
    out = tmp_path / "runs.csv"
    result = runner.invoke(app, ["status", "--csv", str(out)])
    assert result.exit_code == 0 and warehouse.RUN_ID in result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert rows[0]["run_id"] == warehouse.RUN_ID and rows[0]["extracted"] == "71"


def test_conflicts_lists_open_ones_and_all_with_the_flag(wh):
    open_ = _json(["conflicts", "--json"])
    assert {(c["entity"], c["record_key"], c["field"]) for c in open_} == {
        ("customer", "usmf|ACC-00007", "phone"), ("order", "usmf|SO-00003", "name")}
    assert len(_json(["conflicts", "--all", "--json"])) == 3
    assert [c["entity"] for c in _json(["conflicts", "--entity", "order", "--json"])] == ["order"]


def test_decide_records_a_decision_the_list_then_shows(wh):
    result = runner.invoke(app, ["conflicts", "decide", "customer", "usmf|ACC-00007", "phone", "--take", "erp"])
    assert result.exit_code == 0, result.output
    assert "+1 555 0199" in result.output
    result = runner.invoke(app, ["conflicts", "decide", "order", "usmf|SO-00003", "name", "--value", "Bikes & co"])
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(wh), read_only=True) as conn:
        rows = conn.execute(
            "select entity, record_key, field, take, value, applied_run_id from p2c_sync.conflict_decisions order by entity"
        ).fetchall()
    assert rows == [("customer", "usmf|ACC-00007", "phone", "erp", None, None),
                    ("order", "usmf|SO-00003", "name", "value", "Bikes & co", None)]
    decisions = {c["record_key"]: c["decision"] for c in _json(["conflicts", "--json"])}
    assert decisions == {"usmf|ACC-00007": "erp", "usmf|SO-00003": "value: Bikes & co"}


@pytest.mark.parametrize(
    "args, code",
    [
        (["customer", "usmf|ACC-00007", "phone"], 2),  # neither --take nor --value
        (["customer", "usmf|ACC-00007", "phone", "--take", "both"], 2),
        (["customer", "usmf|ACC-00007", "phone", "--take", "crm", "--value", "x"], 2),
        (["customer", "usmf|NOPE", "phone", "--take", "crm"], 1),  # no such conflict
    ],
)
def test_decide_refuses_what_it_cannot_apply(wh, args, code):
    result = runner.invoke(app, ["conflicts", "decide", *args])
    assert result.exit_code == code, result.output
    with duckdb.connect(str(wh), read_only=True) as conn:
        assert conn.execute("select count(*) from p2c_sync.conflict_decisions").fetchone()[0] == 0


def test_couplings_find_a_record_by_any_of_its_keys(wh, tmp_path):
    assert len(_json(["couplings", "--json"])) == len(warehouse.COUPLINGS)
    assert [c["record_key"] for c in _json(["couplings", "--entity", "order", "--json"])] == ["usmf|SO-00003"]
    by_account = _json(["couplings", "--key", "ACC-00001", "--json"])
    by_guid = _json(["couplings", "--key", "0F8FAD5B-D9CB-469F-A165-70867728950E", "--json"])
    assert by_account == by_guid
    (detail,) = by_account
    assert detail["coupling"]["coupled_by"] == "natural_key"
    assert {b["field"]: b["value"] for b in detail["base"]} == {"name": "Contoso Bikes", "credit_limit": "25000"}
    assert detail["writes"][0]["status"] == "written"
    out = tmp_path / "c.csv"
    assert runner.invoke(app, ["couplings", "--csv", str(out)]).exit_code == 0
    assert len(list(csv.DictReader(out.open(encoding="utf-8-sig")))) == len(warehouse.COUPLINGS)


def test_commands_say_where_the_warehouse_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("P2C_WAREHOUSE", str(tmp_path / "none.duckdb"))
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 2 and "no warehouse" in result.output


def test_every_command_has_help():
    for args in (["status"], ["conflicts"], ["conflicts", "decide"], ["couplings"], ["mappings"]):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, args
