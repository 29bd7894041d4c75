"""Mistakes a new user makes: an unwritable warehouse, a refused secret, a killed run.

Each goes through the real ``p2c`` command line (a subprocess) and checks what the user sees and
the exit code the README states."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from p2c.run import EXIT_CONFIG, EXIT_OK, Pipeline, execute
from p2c_core.errors import ConfigError
from p2c_core.runs import StageOutcome
import p2c_process


def _p2c(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return p2c_process.run(args, os.environ | env, timeout=120)


@pytest.mark.parametrize("where", ["under a file", "under /proc"])
def test_an_uncreatable_warehouse_path_exits_2_naming_the_setting(tmp_path, where):
    # tests run as root, which chmod does not stop: use paths nobody can create
    if where == "under a file":
        (tmp_path / "a-file").write_text("not a directory")
        warehouse = tmp_path / "a-file" / "wh" / "p2c.duckdb"
    else:
        warehouse = Path("/proc/p2c-nosuch/p2c.duckdb")
    done = _p2c(["run"], {"P2C_WAREHOUSE": str(warehouse)})
    out = done.stdout + done.stderr
    assert done.returncode == EXIT_CONFIG, out
    assert "P2C_WAREHOUSE" in out and "Traceback" not in out
    assert len(out) < 600, out  # one message, not a traceback


def _pipeline(preflight_error: Exception | None = None, on_extract=None) -> Pipeline:
    def preflight() -> None:
        if preflight_error:
            raise preflight_error

    def extract(run_id: str) -> StageOutcome:
        if on_extract:
            on_extract()
        return StageOutcome({"customer": {"extracted": 1}})

    return Pipeline(preflight=preflight, extract=extract,
                    transform=lambda run_id: StageOutcome({}),
                    writeback=lambda run_id: StageOutcome({"customer": {"created": 1}}),
                    report=lambda run_id: None)


def test_a_refused_secret_prints_nothing_but_the_error(tmp_path, monkeypatch):
    from p2c.cli import app
    from p2c.commands import run as run_command

    monkeypatch.setenv("P2C_WAREHOUSE", str(tmp_path / "p2c.duckdb"))
    refused = ConfigError("sources.crm.credentials.client_secret", "the identity provider refused the client secret")
    monkeypatch.setattr(run_command, "default_pipeline", lambda: _pipeline(preflight_error=refused))
    done = CliRunner().invoke(app, ["run"], terminal_width=200)
    assert done.exit_code == EXIT_CONFIG
    # no empty results table, no stage banner: the error and nothing else
    assert " ".join(done.output.split()) == f"not started: {refused}", done.output


KILLED_RUN = """
import os, signal, sys
from pathlib import Path
from p2c.run import Pipeline, execute
def die(run_id):
    os.kill(os.getpid(), signal.SIGKILL)
execute(Pipeline(preflight=lambda: None, extract=die, transform=die, writeback=die, report=lambda r: None),
        warehouse=Path(sys.argv[1]), lock_path=Path(sys.argv[1] + ".lock"), run_id="killed-run")
"""


def test_a_killed_run_shows_interrupted_and_the_next_run_says_it_resumes(tmp_path):
    warehouse = tmp_path / "p2c.duckdb"
    killed = subprocess.run([sys.executable, "-c", KILLED_RUN, str(warehouse)], timeout=120)
    assert killed.returncode == -signal.SIGKILL
    with duckdb.connect(str(warehouse), read_only=True) as conn:  # what the dead process left
        assert conn.sql("select status from p2c_sync.runs where run_id = 'killed-run'").fetchall() == [("running",)]

    status = _p2c(["status", "--json"], {"P2C_WAREHOUSE": str(warehouse)})
    assert status.returncode == 0, status.stderr
    assert '"status": "interrupted"' in status.stdout and '"status": "running"' not in status.stdout

    notices: list[str] = []
    summary = execute(_pipeline(), warehouse=warehouse, lock_path=Path(f"{warehouse}.lock"), on_notice=notices.append)
    assert summary.exit_code == EXIT_OK and summary.resumed_after == ["killed-run"]
    assert len(notices) == 1 and "resuming after interrupted run killed-run" in notices[0]
    with duckdb.connect(str(warehouse), read_only=True) as conn:  # closed for good: said once
        assert conn.sql("select distinct status from p2c_sync.runs where run_id = 'killed-run'").fetchall() == [
            ("interrupted",)]


def test_a_running_row_whose_process_lives_stays_running(tmp_path):
    from p2c import inspect
    from p2c_core import sync_schema

    warehouse = tmp_path / "p2c.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        sync_schema.ensure(conn)
        conn.execute("""insert into p2c_sync.runs (run_id, stage, entity, status, started_at, pid, host)
                        values ('live', 'run', '', 'running', now(), ?, ?)""", list(sync_schema.this_process()))
        assert [r["status"] for r in inspect.recent_runs(conn)] == ["running"]
