"""Correctness at scale: the `medium` demo tenant (~100,000 rows in both systems) end to end.

On a fresh `medium` sandbox, `p2c run` until a run writes nothing; then what a user would notice:
every entity reconciles in both systems, every quarantined record says why, no natural key is held
twice in either system, a run with no change writes nothing, skips its `dbt build` and leaves both
systems as they were; after a day of `p2c sandbox activity` the next runs carry the day's changes
across and converge again, reconciled; and the incremental models hold the rows a full refresh
gives (`python -m transform.incremental`). Convergence and reconciliation, never time: the run
times are the benchmark's (`bench/scale.py`).

A few minutes of both cores, so not in `make test`: pytest marker `scale`, `make scale-check`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import p2c_process
from activity_travel import untravelled
from tests.reliability import systems
from tests.reliability.helpers import Job, written
from transform import seeds

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.scale]
MAX_RUNS = 5  # the first run, the settling run for the ERP's computed values, a quiet one, and slack


@pytest.fixture(scope="module")
def job(sandbox_factory, tmp_path_factory):
    sb = sandbox_factory(scale="medium", seed=7)
    yield Job(sb, tmp_path_factory.mktemp("medium"))
    sb.stop()


@pytest.fixture(scope="module")
def planted(job) -> dict[str, list[str]]:
    """The natural keys the demo tenant holds twice before p2c ran (planted, quarantined, never written)."""
    return systems.duplicates(systems.snapshot(job.sandbox.dir))


@pytest.fixture(scope="module")
def initial(job, planted) -> list[dict]:
    return job.converge(limit=MAX_RUNS)


def reconciled(job: Job) -> None:
    """Every canonical entity is counted in both systems, each with difference 0."""
    counted = job.sql("select entity, system from audit.reconciliation")
    assert sorted(counted) == sorted((e, s) for e in seeds.canonical_entities() for s in ("crm", "erp")), counted
    assert job.sql("select entity, system, difference from audit.reconciliation"
                   " where difference is distinct from 0") == []


def unexplained_quarantine(job: Job) -> list[tuple]:
    return job.sql("select system, entity_set, natural_key from audit.quarantine"
                   " where coalesce(trim(reason), '') = '' or coalesce(trim(reason_text), '') = ''")


def unsettled(summary: dict) -> int:
    """Records a run could not write (failed, or waiting on a parent): its exit code is 1."""
    return sum(c.get("failed", 0) + c.get("waiting", 0) for c in summary["entities"].values())


def test_the_initial_sync_converges_reconciled(job, planted, initial):
    assert written(initial[0]) > 10_000 and written(initial[-1]) == 0, [s["entities"] for s in initial]
    assert initial[-1]["exit_code"] == (1 if unsettled(initial[-1]) else 0), initial[-1]
    reconciled(job)
    # the demo tenant plants bad records: each is quarantined with its reason
    assert job.sql("select count(*) from audit.quarantine")[0][0] > 0
    assert unexplained_quarantine(job) == []
    assert systems.duplicates(systems.snapshot(job.sandbox.dir)) == planted


def test_a_run_with_no_change_writes_nothing_skips_dbt_and_leaves_both_systems_as_they_were(job, initial):
    before = systems.snapshot(job.sandbox.dir)
    code, quiet = job.run()
    assert written(quiet) == 0 and code == (1 if unsettled(quiet) else 0), quiet
    transform = next(s for s in quiet["stages"] if s["stage"] == "transform")
    assert transform["message"].startswith("dbt build not run"), transform
    assert systems.diff(before, systems.snapshot(job.sandbox.dir)) == {}


@pytest.fixture(scope="module")
def day(job, initial) -> tuple[list[dict], list[dict]]:
    act = job.sandbox.cli("activity", "--seed", "5")
    assert act.returncode == 0, act.stdout + act.stderr
    changes = json.loads((job.sandbox.dir / "activity.json").read_text())[-1]["changes"]
    return changes, job.converge(limit=MAX_RUNS)


def test_a_day_of_activity_travels_and_converges_again_reconciled(job, planted, day):
    changes, runs = day
    assert len(changes) > 20 and written(runs[0]) > 0, runs[0]["entities"]
    missing = untravelled(job.sandbox, changes)
    assert not any(missing.values()), missing
    reconciled(job)
    assert unexplained_quarantine(job) == []
    assert systems.duplicates(systems.snapshot(job.sandbox.dir)) == planted


def test_the_incremental_models_hold_what_a_full_refresh_gives(job, day):
    check = p2c_process.run([], job.env, ROOT, timeout=1200, module="transform.incremental")
    assert check.returncode == 0, check.stdout + check.stderr[-3000:]
    found = json.loads(check.stdout)
    assert "intermediate.int_merge" in found and "canonical.customers" in found, found
    assert not any(found.values()), found
