"""Crash safety with real process kills: a writeback killed part-way, then a new run, ends in the
same state as an uninterrupted one, with no duplicates; faults (503s) change nothing either.

The ERP is the sandbox's F&O app in its own process; each "run" is a separate process that
re-reads the ERP, plans (as the models would) and writes back (see ``erp_process.py``).
"""

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

from .erp_process import desired, erp_state

HERE = Path(__file__).resolve().parent
N = 40


def _env():
    return {**os.environ, "PYTHONPATH": f"{HERE.parents[1]}:{HERE.parent}", "RUNTIME__DLTHUB_TELEMETRY": "false"}


@pytest.fixture
def erp_server(tmp_path):
    servers = []

    def start(latency_ms=0, error_rate=0.0):
        portfile = tmp_path / f"port{len(servers)}"
        proc = subprocess.Popen([sys.executable, str(HERE / "erp_process.py"), "serve", str(tmp_path), str(portfile),
                                 str(latency_ms), str(error_rate)], env=_env())
        servers.append(proc)
        deadline = time.monotonic() + 20
        while not portfile.exists() or not portfile.read_text():
            assert time.monotonic() < deadline and proc.poll() is None, "ERP server did not start"
            time.sleep(0.05)
        base = f"http://127.0.0.1:{portfile.read_text()}/data/"
        while True:
            try:
                erp_state(base)
                return base
            except Exception:
                assert time.monotonic() < deadline
                time.sleep(0.05)

    yield start
    for proc in servers:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def _run(tmp_path, base) -> dict:
    out = subprocess.run([sys.executable, str(HERE / "erp_process.py"), "write", str(tmp_path), base, str(N)],
                         env=_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _base(tmp_path) -> dict[str, str]:
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        return dict(conn.execute("select record_key, value from p2c_sync.sync_state where field = 'name'").fetchall())


def _expected_base() -> dict[str, str]:
    return {f"usmf|{k}": v for k, v in desired(N).items()}


def _settled(tmp_path, base):
    state = erp_state(base)
    assert {k: v["OrganizationName"] for k, v in state.items()} == desired(N)  # nothing lost, nothing extra
    assert _base(tmp_path) == _expected_base()
    again = _run(tmp_path, base)  # convergence: the next run plans and writes nothing
    assert again["planned"] == 0 and again["agreed"] == 0


@pytest.mark.parametrize("kill_at", [1, N // 2, 3 * N // 4])
def test_a_writeback_killed_part_way_converges_on_the_next_run(tmp_path, erp_server, kill_at):
    base = erp_server(latency_ms=120)  # slow enough that a loaded machine still sees each kill point
    proc = subprocess.Popen([sys.executable, str(HERE / "erp_process.py"), "write", str(tmp_path), base, str(N)],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(erp_state(base)) < kill_at:
        assert proc.poll() is None and time.monotonic() < deadline, "writer ended before the kill point"
        time.sleep(0.01)
    proc.kill()  # SIGKILL: no cleanup, no commit
    proc.wait(10)
    # the server may still finish the batch that was in flight: let it, as a real service would
    seen = -1
    while seen != len(erp_state(base)):
        seen = len(erp_state(base))
        time.sleep(0.3)
    assert 0 < seen <= N
    first = _run(tmp_path, base)
    assert first["totals"].get("failed", 0) == 0 and first["totals"].get("changed_since_extract", 0) == 0, first
    _settled(tmp_path, base)


def test_an_uninterrupted_run_under_503s_ends_in_the_same_state(tmp_path, erp_server):
    base = erp_server(error_rate=0.3)
    result = _run(tmp_path, base)
    assert result["totals"] == {"written": N}
    _settled(tmp_path, base)
