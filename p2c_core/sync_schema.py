"""The one definition of the ``p2c_sync`` schema.

The writeback keeps its state here (couplings, sync_state, writeback_log), runs are booked in
``runs`` (by :mod:`p2c_core.runs`, its one writer), ``p2c conflicts decide`` stores ``conflict_decisions``, and the dbt models read them as
sources; the transform stage keeps the fingerprint of a quiet night's inputs in ``transform_inputs``
(:mod:`transform.inputs`). On a fresh warehouse they do not exist yet, so every writer and dbt create them (empty)
from this module before anything else: the writers directly; on DuckDB, dbt through the
dbt-duckdb plugin ``transform.dbt_plugin`` that runs :data:`DDL` on every connection it opens;
on PostgreSQL (dbt-postgres has no plugins), the transform stage before it invokes dbt
(``python -m p2c_core.sync_schema`` does it before a hand-run ``dbt build``). The DDL is plain
SQL both engines accept.
"""

from __future__ import annotations

import os
import socket

from p2c_core import warehouse

SCHEMA = "p2c_sync"

TABLES: dict[str, str] = {
    # which CRM record is which ERP record
    "couplings": """
        entity        varchar not null,   -- canonical entity, e.g. 'customer'
        record_key    varchar not null,   -- canonical natural key, e.g. 'usmf|ACC-001'
        company       varchar,            -- ERP legal entity (dataAreaId)
        crm_id        varchar,            -- Dataverse primary key (GUID)
        erp_key       varchar,            -- F&O key as JSON, e.g. {"dataAreaId":"usmf","CustomerAccount":"ACC-001"}
        coupled_by    varchar not null,   -- 'natural_key' | 'match:<fields>' | 'created_by_p2c' | 'manual'
        run_id        varchar,
        coupled_at    timestamp not null,
        primary key (entity, record_key)
    """,
    # the base of the three-way merge: the last value written or agreed on both sides
    "sync_state": """
        entity        varchar not null,
        record_key    varchar not null,
        field         varchar not null,   -- canonical field name
        value         varchar,            -- canonical value, as text (null = empty)
        run_id        varchar,
        updated_at    timestamp not null,
        primary key (entity, record_key, field)
    """,
    # one row per record per attempt
    "writeback_log": """
        run_id        varchar not null,
        system        varchar not null,   -- 'crm' | 'erp'
        entity        varchar not null,   -- target entity set / collection
        record_key    varchar not null,
        operation     varchar not null,   -- 'create' | 'update' | 'deactivate' | 'upsert'
        status        varchar not null,   -- 'written' | 'failed' | 'changed_since_extract' | 'waiting' | 'skipped'
        http_status   integer,
        error_code    varchar,
        error_message varchar,
        attempt       integer not null default 1,
        logged_at     timestamp not null
    """,
    # one row per run and stage/entity with its counts
    "runs": """
        run_id        varchar not null,
        stage         varchar not null,   -- 'run' | 'extract' | 'transform' | 'writeback' | 'report'
        entity        varchar not null default '',
        status        varchar not null,   -- 'running' | 'ok' | 'partial' | 'failed' | 'interrupted'
        started_at    timestamp not null,
        finished_at   timestamp,
        counts        json,               -- e.g. {"extracted": 10, "created": 2, "failed": 0}
        message       varchar
    """,
    # decisions a person took on manual conflicts, applied by the next run
    "conflict_decisions": """
        entity        varchar not null,
        record_key    varchar not null,
        field         varchar not null,
        take          varchar not null,   -- 'crm' | 'erp' | 'value'
        value         varchar,            -- the value, when take = 'value'
        decided_at    timestamp not null,
        decided_by    varchar,
        applied_run_id varchar,
        primary key (entity, record_key, field)
    """,
    # per canonical record, the digest of what the last passed build merged it from
    # (intermediate.int_record_digests, copied by transform.incremental): the next build re-merges
    # only the records whose digest differs (int_changed_records)
    "record_digests": """
        entity        varchar not null,
        record_key    varchar not null,
        digest        varchar not null,
        primary key (entity, record_key)
    """,
    # the build the incremental models were last built by (transform.incremental): the project's
    # digest (models, seeds, the ERP playing the role) and whether it passed; at most one row. A
    # build of another project, or after one that did not pass, is a full refresh
    "incremental_build": """
        project_digest varchar not null,
        full_refresh  boolean not null,
        run_id        varchar,
        started_at    timestamp not null,
        passed_at     timestamp
    """,
    # the fingerprint of what the last build whose plan was empty read (transform.inputs): a run
    # that finds the same inputs skips dbt build; at most one row
    "transform_inputs": """
        fingerprint   varchar not null,
        run_id        varchar,
        recorded_at   timestamp
    """,
}

# columns added after a table's first release: added to existing warehouses, in this order
ADDED_COLUMNS: dict[str, tuple[str, ...]] = {
    # the process that wrote a 'running' row: a row whose process is gone is an interrupted run
    "runs": ("pid integer", "host varchar"),
    # the system that played the ERP role when the pair was coupled ('finops' | 'business_central';
    # null: coupled before this column, i.e. by F&O): a coupling belongs to its system, so a
    # deployment that changes its ERP never pairs records through the other ERP's keys
    "couplings": ("erp_system varchar",),
}

DDL: str = (
    f"create schema if not exists {SCHEMA};\n"
    + "\n".join(f"create table if not exists {SCHEMA}.{name} ({cols.rstrip()}\n);" for name, cols in TABLES.items())
    + "\n"
    + "\n".join(
        f"alter table {SCHEMA}.{name} add column if not exists {col};"
        for name, cols in ADDED_COLUMNS.items()
        for col in cols
    )
)


def this_process() -> tuple[int, str]:
    """``(pid, host)`` for the ``runs`` row of a stage this process runs."""
    return os.getpid(), socket.gethostname()


def process_gone(pid: int | None, host: str | None) -> bool:
    """True when the process that wrote a ``running`` row has ended (so the run was interrupted);
    False when it lives, or when it cannot be told (another host, no pid recorded)."""
    if pid is None or host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


def ensure(conn) -> None:
    """Create the ``p2c_sync`` schema and its tables if missing (a ``p2c_core.warehouse`` connection,
    or dbt-duckdb's own DuckDB connection)."""
    run = getattr(conn, "execute_script", None) or conn.execute
    run(DDL)


if __name__ == "__main__":  # before a hand-run `dbt build` on a server warehouse: python -m p2c_core.sync_schema
    with warehouse.current().connect() as connection:
        ensure(connection)
    print(f"{SCHEMA} is ready in {warehouse.current().describe()}")
