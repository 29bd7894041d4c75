"""Named crash points: the one fault-injection mechanism for "crash anywhere, resume clean".

Product code calls :func:`crashpoint` at the places listed in :data:`POINTS` only. When the
environment variable ``P2C_CRASH_AT`` names that point (``<point>`` or ``<point>:<occurrence>``,
occurrence counted from 1 per process, default 1), the process kills itself with ``SIGKILL``:
no exception handler, ``finally`` block, atexit hook or DuckDB commit runs — exactly what an
out-of-memory kill or a pulled plug does. Unset (every real run), a call costs one dict lookup.

The reliability tests (``tests/reliability/test_crash_resume.py``) kill ``p2c run`` at each point
and check that the next run converges. ``docs/reliability.md`` lists the points.
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "P2C_CRASH_AT"

# every crash point, in pipeline order, with what has and has not happened when it fires
POINTS: dict[str, str] = {
    "run.after_lock": "the run holds the lock and booked nothing yet",
    "run.after_stage_recorded": "a stage finished and its row in p2c_sync.runs was written; the next stage has not started",
    "extract.after_preflight": "both tokens fetched, nothing read",
    "extract.page_fetched": "during paging: a page was read from the service, the next one not yet",
    "extract.after_dlt_extract": "dlt extracted a system into its load package; normalize has not run",
    "extract.after_dlt_normalize": "dlt normalized the package; nothing loaded into the warehouse",
    "extract.after_dlt_load": "one system's raw tables are loaded (and dlt state saved); the other may be mid-way",
    "transform.before_dbt": "raw tables loaded, dbt build not started",
    "transform.model_built": "inside dbt build: a model (or seed) was just built, later models not",
    "transform.after_dbt": "dbt build finished, its audit counts not yet read",
    "writeback.before_base_updates": "the writeback opened the warehouse; no base update, no HTTP",
    "writeback.after_base_updates": "base updates (no HTTP) committed; no record sent",
    "writeback.refs_resolved": "CRM lookups resolved to GUIDs; the group's batches not yet sent",
    "writeback.before_batch_sent": "a $batch is built and about to be posted",
    "writeback.after_batch_sent": "a $batch was answered by the service; its answer is not recorded",
    "writeback.sync_log_inserted": "inside the p2c_sync transaction: log rows inserted, sync_state not yet (rolled back)",
    "writeback.sync_state_upserted": "inside the p2c_sync transaction: sync_state upserted, couplings not yet (rolled back)",
    "writeback.after_batch_recorded": "between two batches: one batch's outcomes committed, the next not sent",
    "writeback.stage_done": "every batch recorded; the stage's counts not booked",
    "report.before_write": "the run is booked; the report is not written",
    "report.half_written": "the report's temporary file is half written, not renamed into place",
}

_lock = threading.Lock()
_seen: dict[str, int] = {}


def _target() -> tuple[str, int] | None:
    value = os.environ.get(ENV)
    if not value:
        return None
    name, _, occurrence = value.partition(":")
    return name, int(occurrence or 1)


def crashpoint(name: str) -> None:
    """SIGKILL this process if ``P2C_CRASH_AT`` names ``name`` and this is the chosen occurrence."""
    if name not in POINTS:
        raise KeyError(f"unknown crash point {name!r}: add it to p2c_core.crashpoints.POINTS")
    target = _target()
    if target is None or target[0] != name:
        return
    with _lock:
        _seen[name] = _seen.get(name, 0) + 1
        hit = _seen[name] == target[1]
    if hit:
        os.kill(os.getpid(), signal.SIGKILL)
