"""The run's own logic with stages replaced: lock, exit codes, stop rules, bookkeeping."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from p2c.lock import LockHeld, run_lock
from p2c.run import (
    EXIT_CONFIG,
    EXIT_INVARIANT,
    EXIT_OK,
    EXIT_PARTIAL,
    Pipeline,
    execute,
)
from p2c_core.errors import ConfigError, InvariantFailed
from p2c_core.runs import StageOutcome


class Recorder:
    def __init__(self) -> None:
        self.called: list[str] = []

    def stage(self, name: str, outcome: StageOutcome | Exception):
        def run(run_id: str) -> StageOutcome:
            self.called.append(name)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        return run

    def pipeline(self, extract=None, transform=None, writeback=None, preflight_error=None) -> Pipeline:
        def preflight() -> None:
            self.called.append("preflight")
            if preflight_error:
                raise preflight_error

        def report(run_id: str) -> str:
            self.called.append("report")
            return f"reports/run-{run_id}.html"

        return Pipeline(
            preflight=preflight,
            extract=self.stage("extract", extract or StageOutcome({"customer": {"extracted": 5}})),
            transform=self.stage("transform", transform or StageOutcome({"customer": {"quarantined": 1}})),
            writeback=self.stage("writeback", writeback or StageOutcome({"customer": {"created": 4}})),
            report=report,
        )


@pytest.fixture()
def paths(tmp_path: Path) -> dict:
    return {"warehouse": tmp_path / "p2c.duckdb", "lock_path": tmp_path / "p2c.duckdb.lock"}


def runs_rows(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.sql(
            "select stage, entity, status, counts from p2c_sync.runs order by started_at, stage, entity"
        ).fetchall()


def test_clean_run_calls_every_stage_in_order_and_books_them(paths):
    rec = Recorder()
    summary = execute(rec.pipeline(), **paths)
    assert summary.exit_code == EXIT_OK and summary.status == "ok"
    assert rec.called == ["preflight", "extract", "transform", "writeback", "report"]
    assert summary.entities()["customer"]["extracted"] == 5
    assert summary.entities()["customer"]["created"] == 4
    assert summary.entities()["customer"]["quarantined"] == 1
    rows = runs_rows(paths["warehouse"])
    stages = {(stage, entity): (status, json.loads(counts)) for stage, entity, status, counts in rows}
    assert stages[("run", "")][0] == "ok"
    assert stages[("writeback", "customer")] == ("ok", {"created": 4})
    assert stages[("run", "customer")][1]["created"] == 4


def test_configuration_error_stops_before_extraction_with_exit_2(paths):
    rec = Recorder()
    err = ConfigError("sources.crm.credentials.client_secret", "missing")
    summary = execute(rec.pipeline(preflight_error=err), **paths)
    assert summary.exit_code == EXIT_CONFIG
    assert rec.called == ["preflight"]
    assert "sources.crm.credentials.client_secret" in summary.message


def test_failing_invariant_test_stops_before_the_writeback(paths):
    rec = Recorder()
    summary = execute(rec.pipeline(transform=InvariantFailed("reconciliation failed")), **paths)
    assert summary.exit_code == EXIT_INVARIANT
    assert "writeback" not in rec.called
    assert ("transform", "", "failed") in [(s, e, st) for s, e, st, _ in runs_rows(paths["warehouse"])]


def test_records_that_failed_or_wait_give_exit_1(paths):
    rec = Recorder()
    partial = StageOutcome({"order": {"created": 2, "failed": 1}}, partial=True)
    summary = execute(rec.pipeline(writeback=partial), **paths)
    assert summary.exit_code == EXIT_PARTIAL and summary.status == "partial"
    assert "report" in rec.called


def test_second_run_while_one_holds_the_lock_is_refused(paths):
    with run_lock(paths["lock_path"], "first-run"):
        with pytest.raises(LockHeld) as held:
            execute(Recorder().pipeline(), **paths)
    assert "first-run" in str(held.value)


def test_lock_left_by_a_killed_process_is_taken_over(paths):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from p2c.lock import run_lock\n"
            "with run_lock(__import__('pathlib').Path(sys.argv[1]), 'doomed'):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(paths["lock_path"]),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld):
            execute(Recorder().pipeline(), **paths)
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert paths["lock_path"].exists()  # the dead run left its lock file behind …
    summary = execute(Recorder().pipeline(), **paths)  # … and it is stale
    assert summary.exit_code == EXIT_OK


def test_summary_has_one_row_per_canonical_entity_and_counts_unchanged(paths):
    rec = Recorder()
    pipeline = rec.pipeline(
        extract=StageOutcome({"customer": {"extracted": 12}, "Currencies": {"extracted": 4}, "uoms": {"extracted": 5}}),
        transform=StageOutcome({"customer": {"canonical": 10, "quarantined": 2}}),
        writeback=StageOutcome({"customer": {"created": 3, "updated": 1}}),
    )
    rows = execute(pipeline, **paths).entities()
    assert list(rows) == ["reference data", "customer"]
    assert rows["reference data"]["extracted"] == 9
    assert rows["customer"] == {
        "extracted": 12, "created": 3, "updated": 1, "unchanged": 6,
        "conflicts": 0, "quarantined": 2, "failed": 0, "waiting": 0,
    }
