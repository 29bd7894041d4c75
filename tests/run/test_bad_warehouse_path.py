"""A warehouse path p2c cannot create or write stops `p2c run` with exit 2 naming P2C_WAREHOUSE."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import p2c_process


def _run(warehouse: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "P2C_WAREHOUSE": warehouse}
    return p2c_process.run(["run", *args], env, timeout=120)


@pytest.fixture(params=["parent-is-a-file", "under-proc"])
def uncreatable(request, tmp_path) -> str:
    if request.param == "parent-is-a-file":
        (tmp_path / "not-a-dir").write_text("")
        return str(tmp_path / "not-a-dir" / "warehouse" / "p2c.duckdb")
    return "/proc/p2c-warehouse/p2c.duckdb"  # not creatable, even by root


def test_an_uncreatable_warehouse_exits_2_naming_the_setting(uncreatable):
    done = _run(uncreatable)
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert "P2C_WAREHOUSE" in out and "Traceback" not in out
    assert len(out.strip().splitlines()) == 1, out  # the error, and nothing else


def test_the_json_summary_says_the_same(uncreatable):
    done = _run(uncreatable, "--json")
    assert done.returncode == 2, done.stderr
    summary = json.loads(done.stdout)
    assert summary["exit_code"] == 2 and summary["message"].startswith("P2C_WAREHOUSE:")
    assert "Traceback" not in done.stderr
