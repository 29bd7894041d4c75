"""Queries over the warehouse, shared by the inspection commands and the HTML report, and the one
write a person makes there.

One function per question a person asks after a run (what ran, what conflicts are open, what is in
quarantine, how a record is coupled); :func:`record_decision` stores how a person settled a conflict
(``p2c conflicts decide``), which the next run's merge applies. Every function takes a DuckDB connection and returns plain
dicts; a table that does not exist yet (a warehouse before its first dbt build) reads as empty, so
the commands and the report work on a fresh warehouse too. Failed writes come from
:func:`reverse_etl.store.read_errors`, the writeback's own query.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from p2c_core import sync_schema

SYNC = sync_schema.SCHEMA

# the per-entity numbers a run reports, in the order people read them
COUNT_COLUMNS = ("extracted", "created", "updated", "unchanged", "conflicts", "quarantined", "failed", "waiting")


def has_table(conn, schema: str, table: str) -> bool:
    return bool(
        conn.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def _dicts(cursor) -> list[dict[str, Any]]:
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, row)) for row in cursor.fetchall()]


def _counts(raw: Any) -> dict[str, int]:
    """``runs.counts`` (JSON text) as ints; keys other than numbers are dropped."""
    if raw is None:
        return {}
    data = json.loads(raw) if isinstance(raw, str) else dict(raw)
    return {k: int(v) for k, v in data.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _seconds(started: datetime | None, finished: datetime | None) -> float | None:
    if started is None or finished is None:
        return None
    return max((finished - started).total_seconds(), 0.0)


# --- runs ---------------------------------------------------------------------------------------


def recent_runs(conn, limit: int = 30) -> list[dict[str, Any]]:
    """The last runs, newest first: status, times, duration and the run's total counts."""
    if not has_table(conn, SYNC, "runs"):
        return []
    columns = {
        r[0] for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = 'runs'", [SYNC]
        ).fetchall()
    }
    # a warehouse the current version has not written to yet lacks the later columns
    process = ", ".join(c if c in columns else f"null as {c}" for c in ("pid", "host"))
    rows = _dicts(
        conn.execute(
            f"""
            select run_id, status, started_at, finished_at, counts, message, {process}
            from {SYNC}.runs
            where stage = 'run' and entity = ''
            order by started_at desc, run_id desc
            limit ?
            """,
            [limit],
        )
    )
    for row in rows:
        pid, host = row.pop("pid"), row.pop("host")
        if row["status"] == "running" and sync_schema.process_gone(pid, host):
            # killed (SIGKILL, OOM, a reboot): the next run closes it for good and says so
            row["status"] = "interrupted"
            row["message"] = row["message"] or "interrupted: its process is gone; the next run resumes"
        row["counts"] = _counts(row["counts"])
        row["seconds"] = _seconds(row["started_at"], row["finished_at"])
        # what an execution history shows per run: records that went through, records that did not
        row["succeeded"] = row["counts"].get("created", 0) + row["counts"].get("updated", 0)
        row["errors"] = row["counts"].get("failed", 0)
    return rows


def latest_run_id(conn) -> str | None:
    runs = recent_runs(conn, limit=1)
    return runs[0]["run_id"] if runs else None


def run_stages(conn, run_id: str) -> list[dict[str, Any]]:
    """Each stage of one run (its total row), in the order the stages ran."""
    if not has_table(conn, SYNC, "runs"):
        return []
    rows = _dicts(
        conn.execute(
            f"""
            select stage, status, started_at, finished_at, counts, message
            from {SYNC}.runs
            where run_id = ? and entity = '' and stage <> 'run'
            order by started_at, case stage when 'extract' then 1 when 'transform' then 2
                     when 'writeback' then 3 when 'report' then 4 else 5 end
            """,
            [run_id],
        )
    )
    for row in rows:
        row["counts"] = _counts(row["counts"])
        row["seconds"] = _seconds(row["started_at"], row["finished_at"])
    return rows


def run_entities(conn, run_id: str) -> list[dict[str, Any]]:
    """Per entity, the run's summary counts (every column of :data:`COUNT_COLUMNS`, 0 when absent)."""
    if not has_table(conn, SYNC, "runs"):
        return []
    rows = conn.execute(
        f"select entity, counts from {SYNC}.runs where run_id = ? and stage = 'run' and entity <> '' order by entity",
        [run_id],
    ).fetchall()
    from p2c.run import CANONICAL_ENTITIES, REFERENCE_DATA

    order = {name: i for i, name in enumerate((REFERENCE_DATA, *CANONICAL_ENTITIES))}
    out = []
    for entity, raw in sorted(rows, key=lambda r: (order.get(r[0], len(order)), r[0])):  # dependency order
        counts = _counts(raw)
        out.append({"entity": entity, **{c: counts.get(c, 0) for c in COUNT_COLUMNS}})
    return out


def run_summary(conn, run_id: str) -> dict[str, Any] | None:
    """One run's total row (as :func:`recent_runs` gives it), or None when the run is unknown."""
    if not has_table(conn, SYNC, "runs"):
        return None
    rows = _dicts(
        conn.execute(
            f"""
            select run_id, status, started_at, finished_at, counts, message
            from {SYNC}.runs where run_id = ? and stage = 'run' and entity = ''
            """,
            [run_id],
        )
    )
    if not rows:
        return None
    row = rows[0]
    row["counts"] = _counts(row["counts"])
    row["seconds"] = _seconds(row["started_at"], row["finished_at"])
    return row


# --- conflicts ----------------------------------------------------------------------------------

CONFLICT_COLUMNS = (
    "entity", "record_key", "field", "crm_value", "erp_value", "base_value", "owner", "policy", "outcome",
    "is_open", "crm_modified_at", "erp_modified_at",
)


def conflicts(conn, *, open_only: bool = True, entity: str | None = None) -> list[dict[str, Any]]:
    """Conflicts the last transform found (``audit.conflicts``), with any decision already recorded.

    ``decision`` is ``crm``/``erp``/``value: …`` when someone decided and the next run has not yet
    applied it; such a conflict stays listed until that run.
    """
    if not has_table(conn, "audit", "conflicts"):
        return []
    where = ["c.is_open"] if open_only else []
    params: list[Any] = []
    if entity:
        where.append("lower(c.entity) = lower(?)")
        params.append(entity)
    cond = ("where " + " and ".join(where)) if where else ""
    has_decisions = has_table(conn, SYNC, "conflict_decisions")
    decision = (
        "case when d.take = 'value' then 'value: ' || coalesce(d.value, '(empty)') else d.take end"
        if has_decisions
        else "cast(null as varchar)"
    )
    join = (
        f"""left join {SYNC}.conflict_decisions d
              on d.entity = c.entity and d.record_key = c.record_key and d.field = c.field
              and d.applied_run_id is null"""
        if has_decisions
        else ""
    )
    cols = ", ".join(f"c.{col}" for col in CONFLICT_COLUMNS)
    return _dicts(
        conn.execute(
            f"select {cols}, {decision} as decision from audit.conflicts c {join} {cond} "
            "order by c.entity, c.record_key, c.field",
            params,
        )
    )


def find_conflict(conn, entity: str, record_key: str, field: str) -> dict[str, Any] | None:
    for row in conflicts(conn, open_only=False, entity=entity):
        if row["record_key"] == record_key and row["field"] == field:
            return row
    return None


# --- quarantine and reconciliation --------------------------------------------------------------

QUARANTINE_COLUMNS = ("system", "entity_set", "entity", "source_id", "natural_key", "company", "reason", "reason_text")


def quarantine(conn, entity: str | None = None) -> list[dict[str, Any]]:
    """Source rows the models could not map, with the reason code and the sentence explaining it."""
    if not has_table(conn, "audit", "quarantine"):
        return []
    cond, params = ("where lower(entity) = lower(?)", [entity]) if entity else ("", [])
    cols = ", ".join(QUARANTINE_COLUMNS)
    return _dicts(
        conn.execute(f"select {cols} from audit.quarantine {cond} order by entity, system, natural_key", params)
    )


def reconciliation(conn) -> list[dict[str, Any]]:
    """Per entity and system: source rows vs canonical + quarantined rows (``difference`` must be 0)."""
    if not has_table(conn, "audit", "reconciliation"):
        return []
    return _dicts(
        conn.execute(
            "select entity, system, source_rows, canonical_rows, quarantined_rows, unmatched_rows, difference "
            "from audit.reconciliation order by entity, system"
        )
    )


# --- failed writes ------------------------------------------------------------------------------


def failures(conn) -> list[dict[str, Any]]:
    """Records whose latest write failed or waits, in the service's own words (the writeback's query)."""
    from reverse_etl import store

    return store.read_errors(conn)


# --- couplings ----------------------------------------------------------------------------------

COUPLING_COLUMNS = ("entity", "record_key", "company", "crm_id", "erp_key", "coupled_by", "how", "run_id", "coupled_at")


def coupling_how(coupled_by: str | None) -> str:
    """``couplings.coupled_by`` in words: how the pair was found."""
    if coupled_by and coupled_by.startswith("match:"):
        return "matched on " + " + ".join(f.strip() for f in coupled_by[len("match:"):].split("+"))
    return {
        "natural_key": "same natural key",
        "created_by_p2c": "created by p2c",
        "manual": "coupled by hand",
    }.get(coupled_by or "", coupled_by or "")


def couplings(conn, entity: str | None = None, key: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Which CRM record is which ERP record; ``key`` matches the record key or either system's id."""
    if not has_table(conn, SYNC, "couplings"):
        return []
    where, params = [], []
    if entity:
        where.append("lower(entity) = lower(?)")
        params.append(entity)
    if key:
        # people paste whatever they have at hand: the canonical key, a GUID or the ERP account
        where.append("(record_key = ? or lower(crm_id) = lower(?) or erp_key like ? or record_key like ?)")
        params += [key, key, f'%"{key}"%', f"%|{key}"]
    cond = ("where " + " and ".join(where)) if where else ""
    lim = f"limit {int(limit)}" if limit else ""
    cols = ", ".join(c for c in COUPLING_COLUMNS if c != "how")
    rows = _dicts(conn.execute(f"select {cols} from {SYNC}.couplings {cond} order by entity, record_key {lim}", params))
    return [{c: (coupling_how(r["coupled_by"]) if c == "how" else r[c]) for c in COUPLING_COLUMNS} for r in rows]


def pending_matches(conn, entity: str | None = None) -> dict[str, int]:
    """The last build's match-based coupling not recorded yet (model ``audit.matches``): pairs matched whose
    coupling the writeback has not recorded (``matched``), and rows held for several candidates (``ambiguous``)."""
    if not has_table(conn, "audit", "matches"):
        return {}
    recorded = (f"and not exists (select 1 from {SYNC}.couplings c where c.entity = m.entity "
                "and c.record_key = m.record_key)") if has_table(conn, SYNC, "couplings") else ""
    cond, params = ("and lower(m.entity) = lower(?)", [entity]) if entity else ("", [])
    rows = conn.execute(
        f"""select outcome, count(distinct m.entity || ' ' || m.record_key) from audit.matches m
            where (outcome = 'ambiguous' or (outcome = 'matched' {recorded})) {cond} group by outcome""",
        params,
    ).fetchall()
    return {outcome: int(n) for outcome, n in rows}


def uncouple(conn, entity: str, record_key: str) -> dict[str, Any] | None:
    """Remove one coupling and its merge base (``sync_state``), in one transaction; the next run pairs the
    records again by key or match rule (a first sync: nothing is assumed agreed). None when no such coupling."""
    if not has_table(conn, SYNC, "couplings"):
        return None
    cols = ", ".join(c for c in COUPLING_COLUMNS if c != "how")
    found = _dicts(conn.execute(f"select {cols} from {SYNC}.couplings where entity = ? and record_key = ?",
                                [entity, record_key]))
    if not found:
        return None
    with conn.transaction():
        conn.execute(f"delete from {SYNC}.couplings where entity = ? and record_key = ?", [entity, record_key])
        if has_table(conn, SYNC, "sync_state"):
            conn.execute(f"delete from {SYNC}.sync_state where entity = ? and record_key = ?", [entity, record_key])
    row = found[0]
    return {**row, "how": coupling_how(row["coupled_by"])}


def sync_base(conn, entity: str, record_key: str) -> list[dict[str, Any]]:
    """The base of the three-way merge for one record: per field, the value last agreed on both sides."""
    if not has_table(conn, SYNC, "sync_state"):
        return []
    return _dicts(
        conn.execute(
            f"select field, value, run_id, updated_at from {SYNC}.sync_state "
            "where entity = ? and record_key = ? order by field",
            [entity, record_key],
        )
    )


def write_history(conn, record_key: str, limit: int = 10) -> list[dict[str, Any]]:
    """The latest writeback attempts for one record key, newest first."""
    if not has_table(conn, SYNC, "writeback_log"):
        return []
    return _dicts(
        conn.execute(
            f"""
            select run_id, system, entity, operation, status, http_status, error_code, error_message, logged_at
            from {SYNC}.writeback_log where record_key = ? order by logged_at desc limit ?
            """,
            [record_key, limit],
        )
    )


def record_decision(
    conn, entity: str, record_key: str, field: str, take: str, value: str | None, decided_by: str | None
) -> None:
    """Store (or replace) the decision on one conflict; the next run's merge applies it."""
    sync_schema.ensure(conn)
    conn.execute(
        f"""insert into {SYNC}.conflict_decisions
            (entity, record_key, field, take, value, decided_at, decided_by, applied_run_id)
            values (?, ?, ?, ?, ?, ?, ?, null)
            on conflict (entity, record_key, field) do update set take = excluded.take, value = excluded.value,
                decided_at = excluded.decided_at, decided_by = excluded.decided_by, applied_run_id = null""",
        [entity, record_key, field, take, value, datetime.now(timezone.utc).replace(tzinfo=None), decided_by],
    )
