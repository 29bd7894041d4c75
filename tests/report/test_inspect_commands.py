"""``p2c status / conflicts / conflicts decide / couplings / couplings uncouple / mappings`` on a warehouse with
known rows."""

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


def _add_match(wh: Path) -> None:
    """A customer coupled by match rule (recorded), one matched by the last build but not written yet, and
    one held for two candidates (model audit.matches as the build leaves it)."""
    with duckdb.connect(str(wh)) as conn:
        conn.execute(
            "insert into p2c_sync.couplings (entity, record_key, company, crm_id, erp_key, coupled_by, run_id, coupled_at) values ('customer', 'usmf|ACC-00020', 'usmf', "
            "'9a1f7b7e-0000-4000-8000-000000000020', '{\"dataAreaId\":\"usmf\",\"CustomerAccount\":\"C-77\"}', "
            "'match:name+postal_code', ?, ?)", [warehouse.RUN_ID, warehouse.T0])
        conn.execute("""create table audit.matches (entity varchar, system varchar, source_id varchar,
            natural_record_key varchar, record_key varchar, outcome varchar, priority integer, fields varchar,
            coupled_by varchar, candidate_keys varchar, reason_detail varchar)""")
        conn.executemany(
            "insert into audit.matches values ('customer', ?, ?, ?, ?, ?, 2, 'name+postal_code', "
            "'match:name+postal_code', ?, ?)",
            [("crm", "g-21", "usmf|ACC-00021", "usmf|ACC-00021", "matched", "usmf|C-78", None),
             ("erp", "e-78", "usmf|C-78", "usmf|ACC-00021", "matched", "usmf|ACC-00021", None),
             ("crm", "g-22", "usmf|ACC-00022", "usmf|ACC-00022", "ambiguous", "usmf|C-80, usmf|C-81", "match rule 2 …")])


def test_couplings_say_how_each_pair_was_coupled(wh):
    _add_match(wh)
    by_key = {c["record_key"]: c for c in _json(["couplings", "--entity", "customer", "--json"])}
    assert by_key["usmf|ACC-00001"]["how"] == "same natural key"
    assert by_key["demf|ACC-00012"]["how"] == "created by p2c"
    assert by_key["usmf|ACC-00020"]["coupled_by"] == "match:name+postal_code"
    assert by_key["usmf|ACC-00020"]["how"] == "matched on name + postal_code"
    (detail,) = _json(["couplings", "--key", "C-77", "--json"])
    assert detail["coupling"]["record_key"] == "usmf|ACC-00020"
    result = runner.invoke(app, ["couplings"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "matched on name + postal_code" in said and "same natural key" in said
    assert "1 pair(s) matched by the last build" in said  # ACC-00021: matched, not recorded yet
    assert "1 record(s) match more than one counterpart" in said and "p2c quarantine" in said


def test_uncouple_removes_one_coupling_and_its_base(wh):
    result = runner.invoke(app, ["couplings", "uncouple", "customer", "usmf|ACC-00001"], input="n\n")
    assert result.exit_code == 1 and "nothing changed" in result.output  # declined: still there
    assert len(_json(["couplings", "--json"])) == len(warehouse.COUPLINGS)
    result = runner.invoke(app, ["couplings", "uncouple", "customer", "usmf|ACC-00001"], input="y\n")
    assert result.exit_code == 0, result.output
    assert "uncoupled customer usmf|ACC-00001" in " ".join(result.output.split())
    keys = [c["record_key"] for c in _json(["couplings", "--json"])]
    assert "usmf|ACC-00001" not in keys and len(keys) == len(warehouse.COUPLINGS) - 1
    with duckdb.connect(str(wh), read_only=True) as conn:
        assert conn.execute("select count(*) from p2c_sync.sync_state where record_key = 'usmf|ACC-00001'"
                            ).fetchone()[0] == 0
    result = runner.invoke(app, ["couplings", "uncouple", "order", "usmf|SO-00003", "--yes"])
    assert result.exit_code == 0, result.output
    assert [c["record_key"] for c in _json(["couplings", "--json"])] == ["demf|ACC-00012"]


@pytest.mark.parametrize("args", [["customer", "usmf|ACC-99999"], ["order", "usmf|ACC-00001"], ["customer", "ACC-00001"]])
def test_uncouple_refuses_a_coupling_it_does_not_know(wh, args):
    result = runner.invoke(app, ["couplings", "uncouple", *args, "--yes"])
    assert result.exit_code == 1 and "no coupling" in result.output, result.output
    assert len(_json(["couplings", "--json"])) == len(warehouse.COUPLINGS)


def test_commands_say_where_the_warehouse_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("P2C_WAREHOUSE", str(tmp_path / "none.duckdb"))
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 2 and "no warehouse" in result.output


def test_every_command_has_help():
    for args in (["status"], ["conflicts"], ["conflicts", "decide"], ["couplings"], ["couplings", "uncouple"],
                 ["mappings"]):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, args
