"""What a run and its stages share: the run id, the outcome a stage hands back, and the one
writer of ``p2c_sync.runs``.

Every stage (extract, transform, writeback) returns a :class:`StageOutcome`; the orchestrator
(``p2c.run``, or the Dagster code location) books it in ``p2c_sync.runs`` under the run's id with
:func:`book_stage`. A stage run on its own (``p2c writeback`` without ``--run-id``) takes a fresh
id from :func:`new_run_id` and books itself through the same function. :func:`close_interrupted`
marks what a dead process left ``running``.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from p2c_core import sync_schema

RUNS = f"{sync_schema.SCHEMA}.runs"
_COLUMNS = ("run_id", "stage", "entity", "status", "started_at", "finished_at", "counts", "message", "pid", "host")
INTERRUPTED_MESSAGE = "interrupted: its process ended before the run finished (killed, or the machine stopped)"


@dataclass
class StageOutcome:
    """What a stage reports back: counts per entity, and whether records failed or wait."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    partial: bool = False
    message: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: UTC time to the second plus a short random suffix."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def book_stage(
    conn,
    run_id: str,
    stage: str,
    status: str,
    started: datetime,
    finished: datetime | None = None,
    counts: Mapping[str, Mapping[str, int]] | None = None,
    message: str | None = None,
    entity_statuses: Mapping[str, str] | None = None,
) -> None:
    """Write one stage's rows to ``p2c_sync.runs`` in one transaction, replacing what the stage
    booked before under this run: its total row, and one row per entity of ``counts`` (its status
    from ``entity_statuses``, by default the stage's). ``conn``: a ``p2c_core.warehouse`` connection."""
    counts = counts or {}
    total: dict[str, int] = {}
    for per_entity in counts.values():
        for key, value in per_entity.items():
            total[key] = total.get(key, 0) + int(value or 0)
    process = sync_schema.this_process()
    rows = [(run_id, stage, "", status, started, finished, json.dumps(total), message, *process)]
    rows += [
        (run_id, stage, entity, (entity_statuses or {}).get(entity, status), started, finished, json.dumps(dict(c)),
         None, *process)
        for entity, c in sorted(counts.items())
    ]
    with conn.transaction():
        conn.execute(f"delete from {RUNS} where run_id = ? and stage = ?", [run_id, stage])
        conn.insert(RUNS, _COLUMNS, rows)


def close_interrupted(conn) -> list[dict[str, Any]]:
    """Mark every ``running`` row ``interrupted`` and return those runs (id, start), oldest first.

    Call it only while holding the run lock: then no run of this warehouse is running, so a row
    still saying so belongs to a process that died."""
    runs = conn.execute(
        f"""select run_id, started_at from {RUNS}
           where status = 'running' and stage = 'run' and entity = '' order by started_at"""
    ).fetchall()
    conn.execute(
        f"update {RUNS} set status = 'interrupted', message = coalesce(message, ?) where status = 'running'",
        [INTERRUPTED_MESSAGE],
    )
    return [{"run_id": run_id, "started_at": started_at} for run_id, started_at in runs]
