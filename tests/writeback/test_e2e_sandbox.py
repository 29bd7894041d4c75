"""End to end on the sandbox (small): extract → transform → writeback, for real.

One sandbox for the module: the first writeback runs under injected 429s and 503s and with one
record edited in the CRM after extraction; afterwards both systems must hold what the writeback
models said (the canonical values), the edited record must be untouched (412, reconsidered next
run), and the next clean run must settle it; one more run brings back what the ERP computed for
the records that waited (convergence bound), and then nothing is planned.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import duckdb
import pytest

from systems.dataverse.writer import key_segment as crm_key_segment
from systems.finops.writer import key_segment as erp_key_segment
from reverse_etl.plan import WriteRow
import p2c_process

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def _p2c(env, *args) -> subprocess.CompletedProcess:
    return p2c_process.run(list(args), env, ROOT, timeout=900)


def _cycle(env, *, writeback=True) -> subprocess.CompletedProcess | None:
    for step in ("extract", "transform"):
        res = _p2c(env, step)
        assert res.returncode == 0, f"p2c {step}: {res.stdout[-3000:]}{res.stderr[-3000:]}"
    return _p2c(env, "writeback", "--json") if writeback else None


def _rows(env) -> list[WriteRow]:
    from reverse_etl import store

    with duckdb.connect(env["P2C_WAREHOUSE"], read_only=True) as conn:
        return store.read_writeback_rows(conn)


def _same(want, got) -> bool:
    if isinstance(want, (int, float)) and not isinstance(want, bool) and got is not None:
        return abs(float(want) - float(got)) < 1e-6
    if isinstance(want, str) and isinstance(got, str) and "T" in want and want[:10] == got[:10]:
        return want.rstrip("Z").split("+")[0][:19] == got.rstrip("Z").split("+")[0][:19]
    return want == got


def _mismatches(sb, rows: list[WriteRow], skip: set[str]) -> list[tuple]:
    """Each written row's payload, read back from its target (lookup binds are not compared)."""
    out = []
    clients = {"crm": sb.client("crm"), "erp": sb.client("erp")}
    for r in rows:
        if r.record_key in skip or any(isinstance(v, dict) for v in r.target_key.values()):
            continue
        path = crm_key_segment(r.target_set, r.target_key) if r.target_system == "crm" else erp_key_segment(r.target_set, r.target_key)
        got = clients[r.target_system].get(path, params={"cross-company": "true"} if r.target_system == "erp" else None)
        if got.status_code != 200:
            out.append((r.target_set, r.record_key, "status", got.status_code))
            continue
        body = got.json()
        for field, want in r.payload.items():
            if "@" in field:
                continue
            if not _same(want, body.get(field)):
                out.append((r.target_set, r.record_key, field, want, body.get(field)))
    return out


@pytest.fixture(scope="module")
def first_run(sandbox_factory, tmp_path_factory):
    sb = sandbox_factory(scale="small", seed=7)
    work = tmp_path_factory.mktemp("wb-e2e")
    env = dict(os.environ, **sb.env(), P2C_WAREHOUSE=str(work / "p2c.duckdb"))
    _cycle(env, writeback=False)
    rows = _rows(env)
    assert rows, "the models planned no writes on a first sync"
    # a seller edits an account after extraction: its planned update must not overwrite the edit
    edited = next(r for r in rows if r.target_set == "accounts" and r.operation == "update")
    with sb.client("crm") as crm:
        res = crm.patch(crm_key_segment("accounts", edited.target_key), json={"telephone1": "+1 555 0100 (seller)"},
                        headers={"If-Match": "*"})
        assert res.status_code == 204
    sb.restart(error_rate=0.15, rate_limit="6/1", fault_seed=3)
    wb = _p2c(env, "writeback", "--json")
    sb.restart(error_rate=0.0, rate_limit=None)
    yield sb, env, rows, edited, wb


def test_writeback_under_throttling_and_503s_leaves_both_systems_as_the_models_said(first_run):
    sb, env, rows, edited, wb = first_run
    assert wb.returncode == 1, wb.stdout + wb.stderr  # one record changed since extraction
    counts = json.loads(wb.stdout)["counts"]
    assert sum(c.get("failed", 0) for c in counts.values()) == 0, counts
    assert counts["crm:accounts"]["changed_since_extract"] == 1
    with sb.client("crm") as crm:
        assert crm.get(crm_key_segment("accounts", edited.target_key)).json()["telephone1"] == "+1 555 0100 (seller)"
    with duckdb.connect(env["P2C_WAREHOUSE"], read_only=True) as conn:
        waiting = {k for (k,) in conn.execute("select record_key from p2c_sync.writeback_log where status = 'waiting'").fetchall()}
    assert _mismatches(sb, rows, skip={edited.record_key} | waiting) == []


def test_the_next_run_settles_the_edited_record(first_run):
    sb, env, rows, edited, _ = first_run
    second = _cycle(env)
    assert second.returncode in (0, 1), second.stdout + second.stderr
    counts = json.loads(second.stdout)["counts"]
    assert sum(c.get("failed", 0) + c.get("changed_since_extract", 0) for c in counts.values()) == 0, counts
    with duckdb.connect(env["P2C_WAREHOUSE"], read_only=True) as conn:
        last = conn.execute("""select status from p2c_sync.writeback_log where entity = 'accounts' and record_key = ?
                               order by logged_at desc limit 1""", [edited.record_key]).fetchone()
        base = dict(conn.execute("select field, value from p2c_sync.sync_state where entity = 'customer' and record_key = ?",
                                 [edited.record_key]).fetchall())
    assert last[0] == "written"  # the ERP-owned change went in over the seller's newer version
    with sb.client("crm") as crm:
        now = crm.get(crm_key_segment("accounts", edited.target_key)).json()
    assert now["telephone1"] == "+1 555 0100 (seller)"  # and the seller's edit is still there
    assert base  # the base moved with the write


def test_a_clean_run_after_that_plans_nothing(first_run):
    sb, env, rows, edited, _ = first_run
    # the second run created what waited for the edited record: the ERP's totals and tax for it
    # come back in one more run, and then nothing is left to write
    settle = _cycle(env)
    assert settle.returncode == 0, settle.stdout + settle.stderr
    _cycle(env, writeback=False)
    plan = json.loads(_p2c(env, "plan", "--json", "--no-refresh").stdout)
    pending = {(e["system"], e["entity_set"]): e["create"] + e["update"] + e["deactivate"] for e in plan["entities"]}
    assert sum(pending.values()) == 0, pending  # convergence (records still waiting are not counted here)
