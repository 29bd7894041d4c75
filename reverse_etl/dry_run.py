"""The writeback's dry run: what the next run would write, from the ``writeback`` models, writing
nothing.

``p2c plan`` prints it; an orchestrator may call it too (the command keeps only its options and
output). :func:`plan_basis` names the transform the models come from and the extract that
transform read; :func:`applied_since` lists the records written after it (a plan from an older
transform counts them as applied, not pending); :func:`plan_report` is the plan as data: counts
per system and entity set, what waits or is held, and the field-by-field changes of one record.
"""

from __future__ import annotations

from typing import Any

from reverse_etl import store
from reverse_etl.config import load_config
from reverse_etl.plan import build_plan, static_waiting, summarize


def plan_basis(conn) -> dict[str, Any]:
    """Which transform the writeback models come from, and which extract that transform read."""
    try:
        stages = conn.execute(
            "select stage, run_id, finished_at from p2c_sync.runs where entity = '' and stage in ('extract', 'transform')"
            " and status in ('ok', 'partial') and finished_at is not null order by finished_at desc"
        ).fetchall()
    except Exception:  # no p2c_sync yet: a warehouse p2c never ran on
        stages = []
    transform = next(((r, t) for stage, r, t in stages if stage == "transform"), None)
    extract = next(((r, t) for stage, r, t in stages if stage == "extract" and (transform is None or t <= transform[1])), None)
    return {
        "transform_run_id": transform[0] if transform else None,
        "transformed_at": transform[1] if transform else None,
        "extract_run_id": extract[0] if extract else None,
        "extracted_at": extract[1] if extract else None,
    }


def applied_since(conn, since) -> set[tuple[str, str, str]]:
    """(system, entity set, record key) of every record written after ``since``."""
    if since is None:
        return set()
    try:
        rows = conn.execute(
            "select distinct system, entity, record_key from p2c_sync.writeback_log where status = 'written' and logged_at > ?",
            [since],
        ).fetchall()
    except Exception:
        return set()
    return {(a, b, c) for a, b, c in rows}


def plan_report(
    conn, entity: str | None = None, key: str | None = None, applied: set[tuple[str, str, str]] | None = None
) -> dict[str, Any]:
    """The dry run as data: counts per system and entity set, and per-record changes when asked.

    ``applied``: records written since the transform these models come from; they are counted as
    ``applied_since`` and not planned again.
    """
    config = load_config()
    rows = store.read_writeback_rows(conn)
    if entity:
        rows = [r for r in rows if entity.lower() in (r.entity.lower(), r.target_set.lower())]
    done: dict[tuple[str, str], int] = {}
    if applied:
        kept = []
        for r in rows:
            if (r.target_system, r.target_set, r.record_key) in applied:
                done[(r.target_system, r.target_set)] = done.get((r.target_system, r.target_set), 0) + 1
            else:
                kept.append(r)
        rows = kept
    plan = build_plan(rows, config)
    waiting = static_waiting(plan, store.read_quarantine(conn))
    held = store.read_held(conn)
    if entity:
        held = {e: n for e, n in held.items() if e.lower() == entity.lower()}
    summary = summarize(plan, waiting, held)
    seen = {s["entity"] for s in summary}
    summary += [{"system": "-", "entity_set": "-", "entity": e, "create": 0, "update": 0, "deactivate": 0,
                 "waiting": 0, "skipped": 0, "held": n} for e, n in sorted(held.items()) if e not in seen]
    for s in summary:
        s["applied_since"] = done.pop((s["system"], s["entity_set"]), 0)
    entity_of = {(r.target_system, r.target_set): r.entity for r in store.read_writeback_rows(conn)} if done else {}
    summary += [{"system": system, "entity_set": entity_set, "entity": entity_of.get((system, entity_set), "-"),
                 "create": 0, "update": 0, "deactivate": 0, "waiting": 0, "skipped": 0, "held": 0, "applied_since": n}
                for (system, entity_set), n in sorted(done.items())]
    out: dict[str, Any] = {"entities": summary, "base_updates": len(store.read_base_updates(conn))}
    if key:
        out["records"] = [
            {"system": r.target_system, "entity_set": r.target_set, "entity": r.entity, "record_key": r.record_key,
             "operation": r.operation,
             "status": "waiting" if (r.target_system, r.target_set, r.record_key) in waiting else "planned",
             "waiting_for": waiting.get((r.target_system, r.target_set, r.record_key)),
             "changes": r.changes}
            for r in plan.rows + [row for row, _ in plan.skipped] if r.record_key == key
        ]
    return out
