"""A quiet night skips dbt only when nothing dbt reads has changed (transform.inputs)."""

from __future__ import annotations

import duckdb
import pytest

from transform import inputs
from p2c_core import sync_schema


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "p2c.duckdb"
    with duckdb.connect(str(path)) as conn:
        sync_schema.ensure(conn)
        conn.execute("create schema crm_raw; create schema erp_raw; create schema writeback")
        conn.execute("create table crm_raw.accounts (accountid varchar, name varchar, _dlt_load_id varchar, _dlt_id varchar)")
        conn.execute("insert into crm_raw.accounts values ('a1', 'Contoso', 'load-1', 'x1'), ('a2', 'Fabrikam', 'load-1', 'x2')")
        conn.execute("create table crm_raw._dlt_loads (load_id varchar)")
        conn.execute("create table writeback.crm__accounts (record_key varchar)")
        conn.execute("create table writeback.base_updates (record_key varchar)")
    return path


def _sql(path, sql):
    with duckdb.connect(str(path)) as conn:
        conn.execute(sql)


def test_the_same_inputs_after_an_empty_plan_skip_dbt(warehouse):
    digest = inputs.current(warehouse)
    assert inputs.remember(warehouse, digest, "run-1")
    # a reload by dlt changes only dlt's own columns and tables: still the same inputs
    _sql(warehouse, "update crm_raw.accounts set _dlt_load_id = 'load-2', _dlt_id = _dlt_id || 'b'")
    _sql(warehouse, "insert into crm_raw._dlt_loads values ('load-2')")
    assert inputs.unchanged_since(warehouse, inputs.current(warehouse)) == "run-1"


@pytest.mark.parametrize("change", [
    "update crm_raw.accounts set name = 'Contoso Ltd' where accountid = 'a1'",
    "insert into crm_raw.accounts values ('a3', 'Litware', 'load-2', 'x3')",
    "delete from crm_raw.accounts where accountid = 'a2'",
    "insert into p2c_sync.conflict_decisions values ('customer', 'usmf|A', 'name', 'crm', null, now()::timestamp, 'me', null)",
    "insert into p2c_sync.sync_state values ('customer', 'usmf|A', 'name', 'x', 'r', now()::timestamp)",
])
def test_any_change_dbt_reads_runs_dbt(warehouse, change):
    assert inputs.remember(warehouse, inputs.current(warehouse), "run-1")
    _sql(warehouse, change)
    assert inputs.unchanged_since(warehouse, inputs.current(warehouse)) is None


def test_a_plan_with_rows_is_never_skipped(warehouse):
    _sql(warehouse, "insert into writeback.crm__accounts values ('usmf|A')")
    digest = inputs.current(warehouse)
    assert not inputs.remember(warehouse, digest, "run-1")
    assert inputs.unchanged_since(warehouse, digest) is None


def test_a_failed_or_running_build_forgets_the_mark(warehouse):
    digest = inputs.current(warehouse)
    inputs.remember(warehouse, digest, "run-1")
    inputs.forget(warehouse)
    assert inputs.unchanged_since(warehouse, digest) is None


def test_an_edited_model_or_seed_runs_dbt(warehouse, tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "seeds").mkdir(parents=True)
    (project / "profiles.yml").write_text((inputs.settings.PROJECT_DIR / "profiles.yml").read_text())
    (project / "seeds" / "country_map.csv").write_text("iso_country_code,crm_country_name\nUS,United States\n")
    monkeypatch.setattr(inputs.settings, "PROJECT_DIR", project)
    assert inputs.remember(warehouse, inputs.current(warehouse), "run-1")
    (project / "seeds" / "country_map.csv").write_text("iso_country_code,crm_country_name\nUS,USA\n")
    assert inputs.unchanged_since(warehouse, inputs.current(warehouse)) is None
