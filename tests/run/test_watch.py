"""`p2c watch`: one process runs the cycle every interval; a CRM edit reaches the ERP within two
cycles of it; SIGTERM ends it cleanly. Slow on 2 shared cores (several full cycles at `small`), so
it runs with the reliability suite (`make reliability`), not in `make test`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.reliability]


def _cycles(proc: subprocess.Popen, until, limit_s: float) -> list[dict]:
    """Read the watcher's JSON lines until ``until(lines)`` holds."""
    lines: list[dict] = []
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        raw = proc.stdout.readline()
        if not raw:
            break
        lines.append(json.loads(raw))
        if until(lines):
            return lines
    raise AssertionError(f"the watcher did not get there: {lines}")


def test_a_crm_edit_reaches_the_erp_within_two_cycles_and_sigterm_stops_cleanly(sandbox_factory, tmp_path):
    sb = sandbox_factory(scale="small", seed=7)
    env = {**os.environ, **sb.env(), "P2C_WAREHOUSE": str(tmp_path / "w" / "p2c.duckdb"),
           "P2C_REPORTS_DIR": str(tmp_path / "reports")}
    proc = subprocess.Popen([sys.executable, "-m", "p2c.cli", "watch", "--every", "5s", "--json"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        # the initial sync, until a cycle writes nothing
        converged = _cycles(proc, lambda ls: ls[-1].get("written") == 0 and ls[-1].get("exit_code") == 0, 1800)
        assert all(c["status"] in ("ok", "partial") for c in converged), converged
        with sb.client("erp") as erp, sb.client("crm") as crm:
            customer = erp.get("CustomersV3?cross-company=true&$top=1&$orderby=CustomerAccount").json()["value"][0]
            account = crm.get(f"accounts?$filter=accountnumber eq '{customer['CustomerAccount']}'").json()["value"][0]
            crm.patch(f"accounts({account['accountid']})", json={"telephone1": "+1 555 0199"}).raise_for_status()
            edited_at = len(converged)
            # the cycle running now may have extracted before the edit: the next one has it
            after = _cycles(proc, lambda ls: len(ls) >= 2 or (ls[-1].get("written") or 0) > 0, 900)
            key = f"dataAreaId='{customer['dataAreaId']}',CustomerAccount='{customer['CustomerAccount']}'"
            assert erp.get(f"CustomersV3({key})?cross-company=true").json()["PrimaryContactPhone"] == "+1 555 0199", (
                edited_at, after)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=900) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
