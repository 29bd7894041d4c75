"""A run killed mid-way shows as interrupted, and the next run says it resumes after it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb

import p2c_process

from p2c.run import EXIT_OK, execute
from p2c_core import sync_schema

from .test_orchestration import Recorder, paths  # noqa: F401  (the fixture)

# a `p2c run` whose extraction hangs, so it can be killed while its row says `running`
HANGING_RUN = """
import sys, time
from pathlib import Path
from p2c.run import Pipeline, execute
from p2c_core.runs import StageOutcome

def extract(run_id):
    print("extracting", run_id, flush=True)
    time.sleep(120)

wh = Path(sys.argv[1])
execute(Pipeline(lambda: None, extract, lambda r: StageOutcome(), lambda r: StageOutcome(), lambda r: None),
        warehouse=wh, lock_path=wh.with_name(wh.name + ".lock"))
"""


def _status(warehouse: Path) -> list[dict]:
    done = p2c_process.run(["status", "--json"], {**os.environ, "P2C_WAREHOUSE": str(warehouse)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _kill_a_run(warehouse: Path) -> str:
    proc = subprocess.Popen([sys.executable, "-c", HANGING_RUN, str(warehouse)], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().split()
        assert line[:1] == ["extracting"], line
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    return line[1]


def test_a_killed_run_shows_as_interrupted_not_running(paths):  # noqa: F811
    killed = _kill_a_run(paths["warehouse"])
    with duckdb.connect(str(paths["warehouse"]), read_only=True) as conn:  # the row itself still says so …
        assert conn.execute("select status from p2c_sync.runs where run_id = ? and stage = 'run'",
                            [killed]).fetchone() == ("running",)
    [run] = _status(paths["warehouse"])  # … but the process is gone
    assert run["run_id"] == killed and run["status"] == "interrupted"
    assert "interrupted" in run["message"]


def test_a_live_run_still_shows_as_running(paths):  # noqa: F811
    pid, host = sync_schema.this_process()
    assert not sync_schema.process_gone(pid, host)
    assert not sync_schema.process_gone(None, host)  # nothing recorded: cannot tell
    assert not sync_schema.process_gone(1, "another-host")


def test_the_next_run_says_it_resumes_and_closes_the_interrupted_one(paths):  # noqa: F811
    killed = _kill_a_run(paths["warehouse"])
    notices: list[str] = []
    summary = execute(Recorder().pipeline(), **paths, on_notice=notices.append)
    assert summary.exit_code == EXIT_OK and summary.resumed_after == [killed]
    assert len(notices) == 1 and f"resuming after interrupted run {killed}" in notices[0]
    with duckdb.connect(str(paths["warehouse"]), read_only=True) as conn:
        statuses = dict(conn.execute("select run_id, status from p2c_sync.runs where stage = 'run'").fetchall())
    assert statuses == {killed: "interrupted", summary.run_id: "ok"}
    assert execute(Recorder().pipeline(), **paths, on_notice=notices.append).resumed_after == []
    assert len(notices) == 1


def test_a_warehouse_written_before_the_pid_columns_gains_them(tmp_path):
    db = tmp_path / "old.duckdb"
    old_runs = sync_schema.TABLES["runs"]
    with duckdb.connect(str(db)) as conn:
        conn.execute(f"create schema p2c_sync; create table p2c_sync.runs ({old_runs})")
        sync_schema.ensure(conn)
        columns = [r[0] for r in conn.execute("select column_name from information_schema.columns "
                                              "where table_name = 'runs' order by ordinal_position").fetchall()]
    assert columns[-2:] == ["pid", "host"]
