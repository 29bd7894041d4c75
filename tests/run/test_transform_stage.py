"""The transform stage, one function for every runner (``p2c run`` and Dagster's dbt step): the
company map check, a quiet night's skip, the build (injected here), its failures, the counts."""

from __future__ import annotations

import duckdb
import pytest

from p2c_core import sync_schema
from p2c_core.errors import ConfigError, InvariantFailed
from transform import incremental, stage
from transform.stage import TransformResult


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    """A warehouse as an extract and a build left it: the demo's organisations, an empty plan."""
    path = tmp_path / "p2c.duckdb"
    monkeypatch.setenv("P2C_WAREHOUSE", str(path))
    with duckdb.connect(str(path)) as conn:
        sync_schema.ensure(conn)
        conn.execute("create schema crm_raw; create schema erp_raw; create schema writeback; create schema canonical;"
                     " create schema audit; create schema intermediate")
        conn.execute("create table intermediate.int_record_digests as select 'customer' as entity,"
                     " 'usmf|ACC-1' as record_key, 'd1' as digest")
        # the first build: every record is new (the models compare with p2c_sync.record_digests)
        conn.execute("create table intermediate.int_changed_records as select entity, record_key"
                     " from intermediate.int_record_digests")
        conn.execute("create table erp_raw.legal_entities as select * from (values ('usmf'), ('demf')) t(legal_entity_id)")
        conn.execute("create table crm_raw.businessunits as select * from (values ('Contoso US'), ('Contoso Europe')) t(name)")
        conn.execute("create table writeback.base_updates (record_key varchar)")
        conn.execute("create table canonical.customers as select 'usmf|ACC-1' as record_key")
        conn.execute("create table audit.conflicts (entity varchar, is_open boolean)")
        conn.execute("create table audit.quarantine as select 'customer' as entity")
    return path


class Build:
    """A build injected into the stage, as Dagster's dbt step injects its own."""

    def __init__(self, result: TransformResult) -> None:
        self.result, self.calls, self.full_refresh = result, 0, []

    def __call__(self, warehouse):
        self.calls += 1
        self.full_refresh.append(incremental.build_args(warehouse) == ["--full-refresh"])
        return self.result


def test_a_build_with_an_empty_plan_is_skipped_the_next_night(warehouse):
    build = Build(TransformResult(success=True, models={"success": 3}))
    first = stage.transform_stage("run-1", build=build)
    assert build.calls == 1 and first.message is None
    assert first.counts["customer"] == {"quarantined": 1, "canonical": 1}
    assert first.detail["models"] == {"success": 3}

    quiet = stage.transform_stage("run-2", build=build)
    assert build.calls == 1
    assert quiet.message == "dbt build not run: its inputs are those of run run-1, whose plan was empty"
    assert quiet.counts["customer"] == {"quarantined": 1, "canonical": 1}

    # a runner whose build must run every time (Dagster's: its assets must materialize)
    stage.transform_stage("run-3", build=build, skip_quiet_night=False)
    assert build.calls == 2


def test_a_failed_build_is_an_invariant_failure_and_forgets_the_quiet_mark(warehouse):
    ok = Build(TransformResult(success=True))
    stage.transform_stage("run-1", build=ok)
    with duckdb.connect(str(warehouse)) as conn:  # something changed: the next night builds
        conn.execute("insert into crm_raw.businessunits values ('Contoso')")
    failed = Build(TransformResult(success=False, failures=["test.p2c.unique_customer: Got 1 result"]))
    with pytest.raises(InvariantFailed, match="unique_customer"):
        stage.transform_stage("run-2", build=failed)
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("delete from crm_raw.businessunits where name = 'Contoso'")
    stage.transform_stage("run-3", build=ok)  # the inputs of run-1 again, but run-2 failed in between
    assert ok.calls == 2


def test_a_build_is_incremental_only_after_a_passed_build_of_the_same_project(warehouse, monkeypatch):
    ok, failed = Build(TransformResult(success=True)), Build(TransformResult(success=False, failures=["model: x"]))
    stage.transform_stage("run-1", build=ok, skip_quiet_night=False)  # the first build: every record
    with duckdb.connect(str(warehouse)) as conn:  # it kept the digests the next build compares with
        assert conn.execute("select * from p2c_sync.record_digests").fetchall() == [("customer", "usmf|ACC-1", "d1")]
    with duckdb.connect(str(warehouse)) as conn:  # the next build: one record changed, one is gone
        conn.execute("insert into p2c_sync.record_digests values ('customer', 'usmf|ACC-2', 'd9')")
        conn.execute("update intermediate.int_record_digests set digest = 'd2'")
        conn.execute("insert into intermediate.int_changed_records values ('customer', 'usmf|ACC-2')")
    stage.transform_stage("run-2", build=ok, skip_quiet_night=False)
    with duckdb.connect(str(warehouse)) as conn:  # the stored digests are the build's again
        assert conn.execute("select * from p2c_sync.record_digests").fetchall() == [("customer", "usmf|ACC-1", "d2")]
    with pytest.raises(InvariantFailed):
        stage.transform_stage("run-3", build=failed, skip_quiet_night=False)
    stage.transform_stage("run-4", build=ok, skip_quiet_night=False)  # after a failed build
    monkeypatch.setattr(incremental, "project_digest", lambda: "a model changed")
    stage.transform_stage("run-5", build=ok, skip_quiet_night=False)
    stage.transform_stage("run-6", build=ok, skip_quiet_night=False)
    assert ok.full_refresh == [True, False, True, True, False] and failed.full_refresh == [False]


def test_a_company_map_the_systems_do_not_match_stops_before_dbt(warehouse):
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("delete from erp_raw.legal_entities where legal_entity_id = 'demf'")
    build = Build(TransformResult(success=True))
    with pytest.raises(ConfigError, match=r"legal entity 'demf' \(company\) does not exist in the ERP"):
        stage.transform_stage("run-1", build=build)
    assert build.calls == 0


def test_run_results_of_a_build_run_elsewhere_are_counted_like_the_in_process_ones():
    run_results = {"results": [
        {"unique_id": "model.p2c.canonical_customers", "status": "success", "message": "OK"},
        {"unique_id": "seed.p2c.currency_map", "status": "success"},
        {"unique_id": "test.p2c.unique_customers_record_key.1a2b", "status": "fail", "message": " Got 2 results\n"},
        {"unique_id": "test.p2c.not_null_customers_name.3c4d", "status": "pass"},
    ]}
    result = stage.summarize_run_results(run_results, success=False)
    assert result.models == {"success": 2} and result.tests == {"fail": 1, "pass": 1}
    assert result.failures == ["test.p2c.unique_customers_record_key.1a2b: Got 2 results"]
    with pytest.raises(InvariantFailed, match="unique_customers_record_key"):
        stage.outcome(result, warehouse=None)


def test_an_incremental_build_whose_model_fails_is_built_whole_in_the_same_run(warehouse):
    # at `large` the night after a first sync re-merged most records one by one and ran out of
    # DuckDB's memory limit where a whole rebuild did not: the run rebuilds whole instead of failing
    class ModelFailsIncrementally(Build):
        def __call__(self, warehouse):
            super().__call__(warehouse)
            if self.full_refresh[-1]:
                return TransformResult(success=True)
            return TransformResult(success=False, models={"error": 1},
                                   failures=["model.p2c.int_field_values: Out of Memory Error"])

    stage.transform_stage("run-1", build=Build(TransformResult(success=True)), skip_quiet_night=False)
    flaky = ModelFailsIncrementally(TransformResult(success=True))
    stage.transform_stage("run-2", build=flaky, skip_quiet_night=False)
    assert flaky.full_refresh == [False, True]
    # a failed data test is the data's verdict: built once, the run fails
    failing = Build(TransformResult(success=False, models={"success": 3}, tests={"fail": 1},
                                    failures=["test.p2c.unique_customers_record_key: Got 2 results"]))
    with pytest.raises(InvariantFailed, match="unique_customers_record_key"):
        stage.transform_stage("run-3", build=failing, skip_quiet_night=False)
    assert failing.full_refresh == [False]
