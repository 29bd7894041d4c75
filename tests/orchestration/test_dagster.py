"""The Dagster code location, materialized in-process against the sandbox.

One sandbox, one warehouse: a nightly materialization of every asset (dlt → dbt → writeback →
report) writes to both systems and books the run like ``p2c run``; a held run lock fails the job
before anything runs; a planted invariant break fails dbt's checks and blocks the writeback.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from p2c.lock import run_lock

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def location(sandbox_factory, tmp_path_factory):
    sb = sandbox_factory(scale="small", seed=5)
    tmp = tmp_path_factory.mktemp("dagster")
    env = {**sb.env(), "P2C_WAREHOUSE": str(tmp / "warehouse" / "p2c.duckdb"), "P2C_REPORTS_DIR": str(tmp / "reports")}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    sys.modules.pop("orchestration.definitions", None)  # the manifest path follows P2C_WAREHOUSE
    module = importlib.import_module("orchestration.definitions")
    yield module, sb
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    sys.modules.pop("orchestration.definitions", None)
    sb.stop()


def materialize(module, selection: dg.AssetSelection | None = None) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        module.ASSETS,
        resources=module.defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
        selection=selection,
        raise_on_error=False,
    )


def sql(query: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(os.environ["P2C_WAREHOUSE"], read_only=True) as conn:
        return conn.execute(query, params or []).fetchall()


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}


def check_results(result: dg.ExecuteInProcessResult) -> list:
    return [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]


def test_graph_runs_from_the_dlt_tables_through_dbt_to_the_writeback(location):
    module, _ = location
    graph = module.defs.resolve_asset_graph()
    staging = graph.get(dg.AssetKey(["staging", "stg_crm__accounts"]))
    assert staging.parent_keys == {dg.AssetKey(["crm_raw", "accounts"])}
    assert graph.get(dg.AssetKey(["erp_raw", "customers_v3"])).is_materializable  # a dlt asset, not an external source
    writeback_parents = graph.get(dg.AssetKey("p2c_writeback")).parent_keys
    assert dg.AssetKey(["writeback", "erp__customers_v3"]) in writeback_parents
    assert dg.AssetKey(["writeback", "base_updates"]) in writeback_parents
    assert module.defs.get_schedule_def("p2c_nightly_schedule").cron_schedule == "30 2 * * *"
    checks = {key.name for key in graph.asset_check_keys}
    assert any(name.startswith("all_zero_reconciliation_difference") for name in checks)


def test_nightly_materialization_writes_to_both_systems_and_books_the_run(location):
    module, sb = location
    result = materialize(module)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    done = materialized(result)
    assert {"crm_raw/accounts", "erp_raw/customers_v3", "canonical/customers", "p2c_writeback", "p2c_report"} <= done

    # dbt's tests ran as asset checks and passed; the writeback's own check reports p2c's exit code
    evaluations = check_results(result)
    assert len(evaluations) > 50
    dbt_failures = [e.check_name for e in evaluations if not e.passed and e.check_name != "every_record_written"]
    assert dbt_failures == []
    (writeback_check,) = [e for e in evaluations if e.check_name == "every_record_written"]
    failed_or_waiting = sql(
        "select count(*) from p2c_sync.writeback_log where status in ('failed', 'waiting', 'changed_since_extract')")[0][0]
    assert writeback_check.passed == (failed_or_waiting == 0)

    # the systems got the writes: CRM accounts became ERP customers
    (run_id,) = {r[0] for r in sql("select run_id from p2c_sync.runs where stage = 'run'")}
    created = sql("select record_key from p2c_sync.writeback_log where run_id = ? and system = 'erp'"
                  " and entity = 'CustomersV3' and operation = 'create' and status = 'written' limit 1", [run_id])
    assert created, "no ERP customer was created"
    company, account = created[0][0].split("|")
    with sb.client("erp") as erp:
        found = erp.get(f"CustomersV3?cross-company=true&$filter=CustomerAccount eq '{account}'").json()["value"]
    assert [c["dataAreaId"].lower() for c in found] == [company.lower()]

    # booked like `p2c run`: the stages and the run, with the report written
    stages = dict(sql("select stage, status from p2c_sync.runs where run_id = ? and entity = ''", [run_id]))
    assert stages["extract crm"] == stages["extract erp"] == stages["transform"] == "ok"
    assert stages["writeback"] in ("ok", "partial") and stages["run"] == stages["writeback"]
    assert (module.settings.reports_dir() / f"run-{run_id}.html").exists()


def test_a_held_run_lock_fails_the_job_before_anything_runs(location):
    module, _ = location
    before = sql("select count(*) from p2c_sync.runs")[0][0]
    with run_lock(module.settings.lock_path(), "someone-else"):
        result = materialize(module)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failures and all("another p2c run (someone-else" in e.message or "someone-else" in str(e.event_specific_data)
                            for e in failures)
    assert materialized(result) == set()
    assert sql("select count(*) from p2c_sync.runs")[0][0] == before  # nothing ran, nothing booked


def test_a_failing_invariant_test_blocks_the_writeback(location):
    module, _ = location
    # a corrupted coupling table: one CRM account coupled to two canonical records
    with duckdb.connect(os.environ["P2C_WAREHOUSE"]) as conn:
        conn.execute(
            "insert into p2c_sync.couplings (entity, record_key, company, crm_id, erp_key, coupled_by, run_id, coupled_at) select entity, record_key || '-twin', company, crm_id, erp_key,"
            " 'manual', null, now() from p2c_sync.couplings where entity = 'customer' and crm_id is not null limit 1")
    log_rows = sql("select count(*) from p2c_sync.writeback_log")[0][0]
    # the raw tables are there from the nightly run: build from dbt on
    result = materialize(module, dg.AssetSelection.all() - dg.AssetSelection.groups("crm_raw", "erp_raw"))
    assert not result.success
    failed_checks = [e.check_name for e in check_results(result) if not e.passed]
    assert failed_checks, "no dbt test failed"
    done = materialized(result)
    assert "p2c_writeback" not in done and "p2c_report" not in done
    assert sql("select count(*) from p2c_sync.writeback_log")[0][0] == log_rows  # nothing written
    run_id = sql("select run_id from p2c_sync.runs where stage = 'transform' and status = 'failed'")[0][0]
    assert dict(sql("select stage, status from p2c_sync.runs where run_id = ? and entity = ''", [run_id]))["run"] == "failed"


def test_the_pipeline_scripts_load_a_source_without_the_cli(location, tmp_path):
    _, sb = location
    root = Path(__file__).resolve().parents[2]
    warehouse = tmp_path / "standalone.duckdb"
    env = {**os.environ, **sb.env(), "P2C_WAREHOUSE": str(warehouse)}
    out = subprocess.run([sys.executable, "erp_pipeline.py", "--entity", "LegalEntities"], cwd=root, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "LegalEntities" in out.stdout
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        companies = {r[0] for r in conn.execute("select lower(legal_entity_id) from erp_raw.legal_entities").fetchall()}
    assert {"usmf", "demf"} <= companies
    # a wrong secret: exit 2, the setting named, the secret never printed
    bad = {**env, "SOURCES__CRM__CREDENTIALS__CLIENT_SECRET": "wrong-secret-value"}
    out = subprocess.run([sys.executable, "crm_pipeline.py"], cwd=root, env=bad, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "sources.crm.credentials" in out.stderr and "wrong-secret-value" not in out.stderr + out.stdout
