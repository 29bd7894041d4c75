"""The warehouse side of the writeback: reading the ``writeback`` models, writing ``p2c_sync``.

Every batch's outcome is stored in one warehouse transaction: its ``writeback_log`` rows, and for
the records written, their ``sync_state`` (from ``base_after``) and ``couplings``. A crash between
an HTTP write and this commit leaves the base *behind* the target, never ahead: the next run
re-extracts, sees the value already there, and the merge settles it without writing again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Iterator, Mapping

from p2c_core import sync_schema
from p2c_core.crashpoints import crashpoint
from reverse_etl.plan import WriteRow
from systems import ROLES, System, system_for, writeback_tables

ERP = "erp"  # the role whose key a coupling keeps as erp_key (p2c_sync.couplings)

WRITEBACK_SCHEMA = "writeback"
BASE_UPDATES = "base_updates"


@dataclass(frozen=True)
class LogEntry:
    row: WriteRow
    operation: str
    status: str  # written | failed | changed_since_extract | waiting | skipped
    http_status: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    crm_id: str | None = None  # learned from the write (a created record's GUID)


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def canonical_text(value: Any) -> str | None:
    """A canonical value as ``sync_state.value`` text: ``12.5`` not ``12.5000``, ``true``/``false``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        try:
            d = Decimal(str(value))
        except InvalidOperation:
            return str(value)
        text = format(d.normalize(), "f")
        return "0" if text in ("-0", "") else text
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _tables(conn, schema: str) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = ? order by table_name", [schema]
        ).fetchall()
    ]


def _dicts(cursor) -> list[dict[str, Any]]:
    cols = [d[0] for d in cursor.description]
    return [dict(zip(cols, r)) for r in cursor.fetchall()]


def _models(conn) -> list[str]:
    """The writeback models, but the stale ones of a system that no longer plays its role
    (``erp__customers_v3`` once BC is the ERP: :func:`systems.writeback_tables`), which are never read."""
    stale = frozenset().union(*(writeback_tables(role)[1] for role in ROLES))
    return [t for t in _tables(conn, WRITEBACK_SCHEMA) if t != BASE_UPDATES and "__" in t and t not in stale]


def _playing() -> dict[str, frozenset[str]]:
    """Role → the sets of the system playing it: a row for another set is never written."""
    return {role: writeback_tables(role)[0] for role in ROLES}


def read_writeback_rows(conn) -> list[WriteRow]:
    rows: list[WriteRow] = []
    playing = _playing()
    for table in _models(conn):
        found = [WriteRow.from_mapping(r) for r in _dicts(conn.execute(f'select * from {WRITEBACK_SCHEMA}."{table}"'))]
        rows += [r for r in found if r.target_set in playing.get(r.target_system, ())]
    return rows


def read_base_updates(conn) -> list[dict[str, Any]]:
    if BASE_UPDATES not in _tables(conn, WRITEBACK_SCHEMA):
        return []
    return _dicts(conn.execute(f"select * from {WRITEBACK_SCHEMA}.{BASE_UPDATES}"))


def _stream(conn, sql: str, params: list | None = None, chunk: int = 5000) -> Iterator[list[dict[str, Any]]]:
    """The rows of a query, ``chunk`` at a time, on a cursor of their own (the connection goes on
    writing ``p2c_sync`` meanwhile)."""
    # DuckDB: a cursor of its own; on PostgreSQL every execute has its own cursor already
    own = getattr(conn, "dialect", "duckdb") == "duckdb"
    cursor = conn.cursor() if own else conn.execute(sql, params or None)
    try:
        if own:
            cursor.execute(sql, params or [])
        cols = [d[0] for d in cursor.description]
        while batch := cursor.fetchmany(chunk):
            yield [dict(zip(cols, r)) for r in batch]
    finally:
        cursor.close()


def writeback_groups(conn) -> list[tuple[int, str, str, str, int]]:
    """(sequence, target system, target set, model, rows) of the writeback models, in plan order."""
    groups = []
    playing = _playing()
    for table in _models(conn):
        groups += [
            (int(seq or 0), system, target_set, table, n)
            for seq, system, target_set, n in conn.execute(
                f'select sequence, target_system, target_set, count(*) from {WRITEBACK_SCHEMA}."{table}" group by sequence, target_system, target_set'
            ).fetchall()
            if target_set in playing.get(system, ())
        ]
    return sorted(groups)


def stream_writeback_rows(conn, group: tuple[int, str, str, str, int], chunk: int) -> Iterator[list[WriteRow]]:
    """One group's rows (see :func:`writeback_groups`) by record key, ``chunk`` at a time: the
    plan is never held in Python whole."""
    sequence, system, target_set, table, _n = group
    sql = (f'select * from {WRITEBACK_SCHEMA}."{table}" where coalesce(sequence, 0) = ? and target_system = ?'
           " and target_set = ? order by record_key")
    for rows in _stream(conn, sql, [sequence, system, target_set], chunk):
        yield [WriteRow.from_mapping(r) for r in rows]


def stream_base_updates(conn, chunk: int) -> Iterator[list[dict[str, Any]]]:
    if BASE_UPDATES not in _tables(conn, WRITEBACK_SCHEMA):
        return
    yield from _stream(conn, f"select * from {WRITEBACK_SCHEMA}.{BASE_UPDATES}", chunk=chunk)


def read_quarantine(conn) -> dict[tuple[str, str], str]:
    """(entity, record_key) → reason, in both key spellings (with and without the company)."""
    if "quarantine" not in _tables(conn, "audit"):
        return {}
    out: dict[tuple[str, str], str] = {}
    for entity, key, company, reason in conn.execute(
        "select entity, natural_key, company, reason from audit.quarantine where natural_key is not null"
    ).fetchall():
        out[(entity, key)] = reason
        if company:
            out[(entity, f"{company}|{key}")] = reason
    return out


def read_held(conn) -> dict[str, int]:
    """Records held by open manual conflicts, per canonical entity."""
    if "conflicts" not in _tables(conn, "audit"):
        return {}
    return dict(
        conn.execute(
            "select entity, count(distinct record_key) from audit.conflicts where is_open group by entity"
        ).fetchall()
    )


def _erp_key(row: WriteRow) -> str | None:
    """The ERP-side key of a coupling: the model's, else the key this write addressed the ERP role by."""
    if row.erp_key:
        return row.erp_key
    return json.dumps(row.target_key, sort_keys=True) if row.target_system == ERP else None


def _company(row: WriteRow, erp: System) -> str | None:
    """The record's legal entity: from its ERP key (``erp``, the system playing the ERP role, knows
    where it keeps it), else its record key."""
    key = _erp_key(row)
    try:
        key = json.loads(key) if key else None
    except ValueError:
        key = None
    company = erp.company_of(key) if isinstance(key, dict) else None
    return company or (row.record_key.split("|", 1)[0] if "|" in row.record_key else None)


def refused_base(row) -> dict[str, Any]:
    """The base of a record whose update the target refuses by its rules (a posted order): what the
    target holds — each refused field's ``old`` value, the other fields as the row settles them.
    The next merge sees the source's edit as a change of its side alone, planned and skipped again
    with its reason, not as a conflict with the target night after night (no base, or a base the
    target never took, makes it one)."""
    return {**row.base_after, **{field: change.get("old") for field, change in (row.changes or {}).items()}}


def _state_rows(entity: str, record_key: str, base_after: Mapping[str, Any], run_id: str, ts) -> list[tuple]:
    return [(entity, record_key, f, canonical_text(v), run_id, ts) for f, v in base_after.items()]


# the error code of a write skipped because the target will not take it by its own rules (a row's
# skip_reason), listed by `p2c errors`; a write the entity's mode leaves out is logged MODE_SKIPPED
TARGET_REFUSED, MODE_SKIPPED = "p2c_target", "p2c_mode"
# a writeback_log row, as written and as `p2c errors` lists it
LOG_COLUMNS = ("run_id", "system", "entity", "record_key", "operation", "status", "http_status", "error_code",
               "error_message", "attempt", "logged_at")
_STATE_COLS = ("entity", "record_key", "field", "value", "run_id", "updated_at")
_COUPLING_COLS = ("entity", "record_key", "company", "crm_id", "erp_key", "coupled_by", "run_id", "coupled_at",
                  "erp_system")


def _first_per_key(rows: list[tuple], key: int, prefer=None) -> list[tuple]:
    """One row per key (its first ``key`` columns), the one ``prefer`` ranks lowest (by default
    the first): an upsert may not touch a row twice in one statement."""
    out: dict[tuple, tuple] = {}
    if prefer is None:  # a row per record and field: millions on a first sync at scale
        for row in rows:
            out.setdefault(row[:key], row)
        return list(out.values())
    for row in rows:
        k = row[:key]
        if k not in out or prefer(row) < prefer(out[k]):
            out[k] = row
    return list(out.values())


def _with_match_method(conn, couplings: list[tuple]) -> list[tuple]:
    """A pair this run's match-based coupling found (model ``audit.matches``) is recorded as
    ``coupled_by = 'match:<fields>'`` instead of ``natural_key``; the first recorded method stays."""
    if "matches" not in _tables(conn, "audit"):
        return couplings
    keys, value = conn.texts(sorted({c[1] for c in couplings}))
    found = {
        (entity, record_key): method
        for entity, record_key, method in conn.execute(
            "select distinct entity, record_key, coupled_by from audit.matches "
            f"where outcome = 'matched' and record_key in (select unnest({keys}))", [value]).fetchall()
    }
    if not found:
        return couplings
    return [(*c[:5], found.get((c[0], c[1]), c[5]), *c[6:]) for c in couplings]


def _write(conn, log: list[tuple], state: list[tuple], couplings: list[tuple]) -> None:
    """Insert log rows and upsert base and couplings, all in one transaction."""
    with conn.transaction():
        _insert(conn, log, state, couplings)


def _insert(conn, log: list[tuple], state: list[tuple], couplings: list[tuple]) -> None:
    """Insert log rows and upsert base and couplings (in the caller's transaction)."""
    s = sync_schema.SCHEMA
    if log:
        conn.insert(f"{s}.writeback_log", LOG_COLUMNS, log)
        crashpoint("writeback.sync_log_inserted")
    if state:
        conn.insert(f"{s}.sync_state", _STATE_COLS, _first_per_key(state, 3), """
            on conflict (entity, record_key, field) do update
            set value = excluded.value, run_id = excluded.run_id, updated_at = excluded.updated_at""")
        crashpoint("writeback.sync_state_upserted")
    if couplings:
        erp_system = system_for("erp").name  # the coupling belongs to the system playing the ERP role
        couplings = [(*c, erp_system) for c in _with_match_method(conn, couplings)]
        conn.insert(f"{s}.couplings", _COUPLING_COLS, _first_per_key(couplings, 2, lambda r: r[3] is None), """
            on conflict (entity, record_key) do update set
                company = coalesce(excluded.company, couplings.company),
                crm_id = coalesce(excluded.crm_id, couplings.crm_id),
                erp_key = coalesce(excluded.erp_key, couplings.erp_key),
                run_id = excluded.run_id,
                erp_system = excluded.erp_system""")


def record_outcomes(conn, run_id: str, entries: Iterable[LogEntry]) -> None:
    """Log one batch's outcomes and move the base of what was written (and of an update the target
    refuses by its rules: :func:`refused_base`): one transaction."""
    entries = list(entries)
    if not entries:
        return
    ts = now()
    attempts = _previous_attempts(conn, entries)
    erp = system_for(ERP)  # once a batch: the setting is read from dlt's configuration
    log, state, couplings = [], [], []
    for e in entries:
        r = e.row
        prior = attempts.get((r.target_system, r.target_set, r.record_key), 0)
        log.append((run_id, r.target_system, r.target_set, r.record_key, e.operation, e.status,
                    e.http_status, e.error_code, e.error_message, prior + 1, ts))
        if e.status == "skipped" and e.error_code == TARGET_REFUSED and r.operation != "create":
            state += _state_rows(r.entity, r.record_key, refused_base(r), run_id, ts)
        if e.status == "written":
            state += _state_rows(r.entity, r.record_key, r.base_after, run_id, ts)
            coupled_by = "created_by_p2c" if r.operation == "create" else "natural_key"
            couplings.append((r.entity, r.record_key, _company(r, erp), e.crm_id or r.crm_id, _erp_key(r), coupled_by, run_id, ts))
        for child in r.carries:  # created inside this request (deep insert): its outcome is this row's
            log.append((run_id, r.target_system, child["target_set"], child["record_key"], e.operation, e.status,
                        e.http_status, e.error_code, e.error_message, prior + 1, ts))
            if e.status == "written":
                state += _state_rows(child["entity"], child["record_key"], child["base_after"], run_id, ts)
                couplings.append((child["entity"], child["record_key"], _company(r, erp), child.get("crm_id"), None,
                                  "created_by_p2c", run_id, ts))
    _write(conn, log, state, couplings)


def _previous_attempts(conn, entries: list[LogEntry]) -> dict[tuple[str, str, str], int]:
    """Attempts since the record was last written (so ``p2c errors`` shows how often it failed)."""
    keys = {(e.row.target_system, e.row.target_set, e.row.record_key) for e in entries}
    log = f"{sync_schema.SCHEMA}.writeback_log"
    record_keys, value = conn.texts(sorted({k[2] for k in keys}))
    rows = conn.execute(f"""
        with hist as (
            select system, entity, record_key, status, logged_at from {log}
            where record_key in (select unnest({record_keys}))
        ), last_ok as (
            select system, entity, record_key, max(logged_at) as at from hist where status = 'written'
            group by system, entity, record_key
        )
        select h.system, h.entity, h.record_key, count(*) from hist h
        left join last_ok o on o.system = h.system and o.entity = h.entity and o.record_key = h.record_key
        where h.status in ('failed', 'changed_since_extract', 'waiting')
          and h.logged_at > coalesce(o.at, timestamp '1970-01-01')
        group by h.system, h.entity, h.record_key""", [value]).fetchall()
    return {(a, b, c): n for a, b, c, n in rows if (a, b, c) in keys}


def apply_base_updates(conn, run_id: str, updates: Iterable[list[dict[str, Any]]]) -> int:
    """Coupled records whose base moves with nothing written: no HTTP. ``updates`` comes in chunks
    (:func:`stream_base_updates`), each upserted in a transaction of its own: a first sync settles
    most records (~600k at ``large``, millions of ``sync_state`` rows), more than one transaction
    can hold within DuckDB's memory limit. Each record's base and coupling move together; a run
    killed between chunks leaves the rest moving, and the next run settles them (the same rows)."""
    ts = now()
    count = 0
    for chunk in updates:
        state, couplings = [], []
        for u in chunk:
            base = u.get("base_after")
            base = json.loads(base) if isinstance(base, str) else (base or {})
            state += _state_rows(u["entity"], u["record_key"], base, run_id, ts)
            erp_key = u.get("erp_key")
            if isinstance(erp_key, dict):
                erp_key = json.dumps(erp_key, sort_keys=True)
            couplings.append((u["entity"], u["record_key"], u.get("company"), u.get("crm_id"), erp_key,
                              "natural_key", run_id, ts))
        with conn.transaction():
            _insert(conn, [], state, couplings)
        count += len(chunk)
    return count


def read_errors(conn, entity: str | None = None, key: str | None = None, system: str | None = None) -> list[dict[str, Any]]:
    """Records whose latest outcome (in the latest writeback run) is not ``written``: failed, changed
    since extraction or waiting, and skipped because the target will not take the write by its own
    rules (:data:`TARGET_REFUSED`: a posted order, a blocked customer; the reason in
    ``error_message``). A write an entity's mode leaves out (:data:`MODE_SKIPPED`) is configuration, not listed."""
    if "writeback_log" not in _tables(conn, sync_schema.SCHEMA):
        return []
    where, params = [], []
    if entity:
        where.append("lower(entity) = lower(?)")
        params.append(entity)
    if key:
        where.append("record_key = ?")
        params.append(key)
    if system:
        where.append("system = ?")
        params.append(system)
    cond = ("and " + " and ".join(where)) if where else ""
    params.insert(0, TARGET_REFUSED)
    log = f"{sync_schema.SCHEMA}.writeback_log"
    return _dicts(
        conn.execute(
            f"""
            with latest as (
                select *, row_number() over (partition by system, entity, record_key order by logged_at desc) as rn
                from {log}
            )
            select {', '.join(LOG_COLUMNS)}
            from latest
            where rn = 1 and (status in ('failed', 'changed_since_extract', 'waiting')
                              or (status = 'skipped' and error_code = ?))
              and run_id = (select run_id from {log} order by logged_at desc limit 1) {cond}
            order by system, entity, record_key
            """,
            params,
        )
    )
