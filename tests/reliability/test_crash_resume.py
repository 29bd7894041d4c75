"""Crash anywhere, resume clean: ``p2c run`` SIGKILLed at every named crash point, the sandbox
restarted mid-run and every access token revoked mid-run; then the next runs converge to exactly
the state a run without any crash produced.

Budget: a ``p2c run`` costs ~15-20 s (dbt build most of it), so 23 crashes each followed by a
full resume would not fit ``make test``. The crashes are chained instead, in pipeline order, on one
sandbox and one warehouse at the ``tiny`` demo scale: each killed run is the resume of the one
killed before it (so every crash is followed by a ``p2c run`` that must cope with what it left), a
crash early in a run costs only the time up to its point, the writeback points are reached by
``p2c writeback`` alone (no dbt build per kill), and they come while most of the first sync is
still to be written. A killed run must end by ``SIGKILL`` (exit -9) — proof that
its point was reached. The chain starts with a run during which the sandbox restarts, and the first
clean run after it has every access token revoked as its writeback starts. The reference (the same
demo data, synced without a crash) is computed once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from p2c_core.crashpoints import ENV, POINTS

from . import systems
from .helpers import figure, written
import p2c_process

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e
SEED = 41
SCALE = "tiny"

# (point, occurrence, command), in the order the chain visits them. The writeback's points are
# reached by `p2c writeback` alone (the stage a scheduler runs by itself, on the plan the last
# transform left): no dbt build per kill, and each resume re-sends a plan part of which the killed
# one already applied — the harder case for "nothing twice"
CHAIN: list[tuple[str, int, str]] = [
    ("run.after_lock", 1, "run"),
    ("extract.after_preflight", 1, "run"),
    ("extract.page_fetched", 3, "run"),
    ("extract.after_dlt_extract", 1, "run"),
    ("extract.after_dlt_normalize", 1, "run"),
    ("extract.after_dlt_load", 1, "run"),
    ("run.after_stage_recorded", 1, "run"),  # after extract
    ("transform.before_dbt", 1, "run"),
    ("transform.model_built", 40, "run"),
    ("transform.after_dbt", 1, "run"),
    ("run.after_stage_recorded", 2, "run"),  # after transform
    ("writeback.before_base_updates", 1, "writeback"),
    ("writeback.after_base_updates", 1, "writeback"),
    ("writeback.refs_resolved", 1, "writeback"),
    ("writeback.before_batch_sent", 1, "writeback"),
    ("writeback.after_batch_sent", 1, "writeback"),
    ("writeback.sync_log_inserted", 1, "writeback"),
    ("writeback.sync_state_upserted", 1, "writeback"),
    ("writeback.after_batch_recorded", 1, "writeback"),
    # a later batch of a fresh plan: the writeback-only resumes above have re-sent their plan until
    # what is left of it waits on records they applied unrecorded; a run extracts and plans anew
    ("writeback.after_batch_sent", 2, "run"),
    ("writeback.stage_done", 1, "writeback"),
    ("report.before_write", 1, "run"),
    ("report.half_written", 1, "run"),
]


class Job:
    def __init__(self, sandbox, tmp: Path) -> None:
        self.sandbox = sandbox
        self.warehouse = tmp / "warehouse" / "p2c.duckdb"
        self.reports = tmp / "reports"
        self.env = {**os.environ, **sandbox.env(), "P2C_WAREHOUSE": str(self.warehouse),
                    "P2C_REPORTS_DIR": str(self.reports)}
        self.env.pop(ENV, None)
        self.outputs: list[subprocess.CompletedProcess] = []

    def popen(self, crash: str | None = None, as_json: bool = True, command: str = "run"):
        env = dict(self.env)
        if crash:
            env[ENV] = crash
        args = [command, "--json"] if as_json else [command]
        return p2c_process.popen(args, {**env, "COLUMNS": "200"}, ROOT)

    def run(self, crash: str | None = None, command: str = "run") -> tuple[int, dict | None]:
        proc = self.popen(crash, command=command)
        out, err = proc.communicate(timeout=300)
        self.outputs.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
        return proc.returncode, (json.loads(out) if out.strip() else None)

    def converge(self, max_runs: int = 4) -> list[tuple[int, dict]]:
        """Clean runs until one writes nothing (the ERP's computed values travel back first)."""
        runs = []
        for _ in range(max_runs):
            code, summary = self.run()
            assert summary is not None, self.outputs[-1].stderr[-3000:]
            runs.append((code, summary))
            if written(summary) == 0:
                return runs
        pytest.fail(f"no convergence after {max_runs} runs: {runs[-1][1]['entities']}")

    def sql(self, query: str) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as conn:
            return conn.execute(query).fetchall()


def _follow(proc, stage: str, action) -> list[str]:
    """Read the run's progress lines; call ``action`` once when ``stage`` starts; wait for the end."""
    lines, done = [], False
    for line in proc.stdout:  # the progress display names each stage as it starts
        lines.append(line)
        if stage in line and not done:
            action()
            done = True
    proc.wait(300)
    assert done, "".join(lines)[-3000:]
    return lines


@pytest.fixture(scope="module")
def reference(sandbox_factory, tmp_path_factory):
    """The same demo data synced with no crash: both systems' full state."""
    sb = sandbox_factory(scale=SCALE, seed=SEED)
    job = Job(sb, tmp_path_factory.mktemp("reference"))
    job.converge()
    snap = systems.snapshot(sb.dir)
    sb.stop()
    return snap


@pytest.fixture(scope="module")
def crashed(sandbox_factory, tmp_path_factory):
    sb = sandbox_factory(scale=SCALE, seed=SEED)
    job = Job(sb, tmp_path_factory.mktemp("crashed"))
    # the sandbox goes down and comes back while the first run extracts: it fails cleanly or recovers
    proc = job.popen(as_json=False)
    lines = _follow(proc, "▶ extract", sb.restart)
    job.outputs.append(subprocess.CompletedProcess(proc.args, proc.returncode, "".join(lines), proc.stderr.read()))
    assert proc.returncode in (0, 1, 2), job.outputs[-1].stdout[-3000:] + job.outputs[-1].stderr[-3000:]
    survived: list[str] = []
    for point, occurrence, command in CHAIN:
        code, _ = job.run(f"{point}:{occurrence}", command)
        assert code == -signal.SIGKILL, (
            f"{point}:{occurrence} was not reached (exit {code}):\n{job.outputs[-1].stdout[-3000:]}\n"
            f"{job.outputs[-1].stderr[-2000:]}")
        survived.append(f"{point}:{occurrence}")
    yield job, survived
    sb.stop()


def test_every_crash_point_is_in_the_chain():
    assert set(POINTS) == {p for p, _, _ in CHAIN}
    assert len(POINTS) >= 20


def test_after_every_crash_the_next_runs_converge_to_the_uncrashed_state(crashed, reference):
    job, survived = crashed
    assert len(survived) == len(CHAIN)
    # every token revoked before the first clean run and again as its writeback starts: the client
    # renews its token once on the 401 and the run goes on, no record fails with 401
    job.sandbox.revoke_tokens()
    proc = job.popen(as_json=False)
    lines = _follow(proc, "▶ writeback", job.sandbox.revoke_tokens)
    job.outputs.append(subprocess.CompletedProcess(proc.args, proc.returncode, "".join(lines), proc.stderr.read()))
    assert proc.returncode in (0, 1), job.outputs[-1].stdout[-3000:] + job.outputs[-1].stderr[-3000:]
    assert job.sql("select count(*) from p2c_sync.writeback_log where http_status = 401") == [(0,)]
    runs = job.converge()
    assert runs[-1][0] in (0, 1)
    snap = systems.snapshot(job.sandbox.dir)
    # the only keys held twice are the duplicates the demo data planted (quarantined, never written)
    assert systems.duplicates(snap) == systems.duplicates(reference)
    assert systems.diff(reference, snap) == {}  # every row of every entity set, both systems
    # every record accounted for: canonical, quarantine or (soft-deleted) — difference 0 everywhere
    assert job.sql("select entity, system, difference from audit.reconciliation where difference <> 0") == []
    # a write whose answer was lost to a crash is never logged twice as written in one run
    assert job.sql("""select run_id, system, entity, record_key, count(*) from p2c_sync.writeback_log
                      where status = 'written' group by all having count(*) > 1""") == []
    assert (job.reports / "latest.html").read_text().rstrip().endswith("</html>")
    figure(f"crash chain: {len(survived)} SIGKILLs at {len({p.split(':')[0] for p in survived})} named points, "
           f"a sandbox restart mid-extract and two token revocations survived; then {len(runs)} clean run(s) to quiet, "
           f"end-state diff empty")


# every sandbox access token starts with this JWT header (sandbox.auth.TokenIssuer.issue)
TOKEN_PREFIX = "eyJ0eXAiOiAiSldUIiwgImFsZyI6ICJIUzI1NiJ9."


def _artefacts(job: Job) -> list[Path]:
    """Every file a run leaves: the warehouse, dlt's pipelines dir (state, traces, packages), dbt's
    target and logs (beside the warehouse), the reports, the lock."""
    roots = [job.warehouse.parent, job.reports]
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def test_no_secret_and_no_token_in_anything_a_run_leaves(crashed):
    job, _ = crashed
    secret = job.sandbox.client_secret
    token = job.sandbox.token("crm")  # a real token, to be sure the prefix is what tokens look like
    assert token.startswith(TOKEN_PREFIX)
    files = _artefacts(job)
    assert any(p.suffix == ".duckdb" for p in files) and any("dlt_pipelines" in p.parts for p in files)
    assert any("dbt_logs" in p.parts for p in files) and any("dbt_target" in p.parts for p in files)
    leaks = []
    for path in files:
        data = path.read_bytes()
        for needle in (secret, TOKEN_PREFIX, "Bearer ey"):
            if needle.encode() in data:
                leaks.append((str(path), needle))
    for i, out in enumerate(job.outputs):  # stdout/stderr of every run, crashed ones included
        for needle in (secret, TOKEN_PREFIX, "Bearer ey"):
            if needle in out.stdout + out.stderr:
                leaks.append((f"run {i} output", needle))
    assert leaks == []
