"""What ``dbt build`` reads, fingerprinted, so a quiet night does not rebuild what cannot change.

The models are deterministic functions of their inputs: the raw tables dlt loaded (``crm_raw``,
``erp_raw``; dlt's own ``_dlt*`` columns and tables left out, they change with every load), the
``p2c_sync`` tables the models read (couplings, sync_state, conflict_decisions) and the dbt
project itself (models, macros, seeds, data tests, ``dbt_project.yml``, ``profiles.yml``).

After a build whose plan is empty (no writeback row, no base update) the transform stage
(:func:`transform.stage.transform_stage`) stores the fingerprint of those inputs in
``p2c_sync.transform_inputs`` (declared with the other ``p2c_sync`` tables in
:mod:`p2c_core.sync_schema`). When the next run finds the same fingerprint and the writeback
models still empty, dbt would build the same empty plan again: the run skips ``dbt build`` and
says so. Any change on either system, in the sync state, a conflict decision or the project gives
another fingerprint, and dbt runs in full. The warehouse is reached through
:mod:`p2c_core.warehouse`; the row hashes are DuckDB's, so a PostgreSQL warehouse always builds
(:func:`fingerprinted`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

from p2c_core import settings, sync_schema, warehouse as wh

RAW_SCHEMAS = tuple(settings.DATASET_NAMES.values())
SYNC_TABLES = ("couplings", "sync_state", "conflict_decisions")
PROJECT_FILES = ("dbt_project.yml", "profiles.yml")  # beside the folders dbt_project.yml declares
MARKS = f"{sync_schema.SCHEMA}.transform_inputs"  # declared in p2c_core.sync_schema with the other tables


def dbt_paths(kind: str, project: Path | None = None) -> list[Path]:
    """The dbt project's ``model-paths``, ``macro-paths``, ``seed-paths`` or ``test-paths`` (``kind``: "model" |
    "macro" | "seed" | "test") as dbt_project.yml declares them: ``models/`` and each system's home (``systems/<system>/models``)."""
    project = project or settings.PROJECT_DIR
    config = project / "dbt_project.yml"
    declared = yaml.safe_load(config.read_text(encoding="utf-8")) if config.exists() else {}
    return [project / path for path in declared.get(f"{kind}-paths", [f"{kind}s"])]


def playing_paths(kind: str, project: Path | None = None) -> list[Path]:
    """:func:`dbt_paths` without the homes of the systems not playing a role now (F&O's while Business
    Central plays the ERP): the folders whose files dbt enables (dbt_project.yml's switch)."""
    from systems import ROLES, choice

    project = project or settings.PROJECT_DIR
    playing = {choice(role) for role in ROLES}
    return [path for path in dbt_paths(kind, project)
            if path.relative_to(project).parts[0] != "systems" or path.relative_to(project).parts[1] in playing]


def project_digest() -> str:
    """One digest of the dbt project's files (models, macros, seeds, data tests, its yml)."""
    digest = hashlib.sha256()
    paths = [*(path for kind in ("model", "macro", "seed", "test") for path in dbt_paths(kind)),
             *(settings.PROJECT_DIR / name for name in PROJECT_FILES)]
    for root in paths:
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in files:
            if path.exists():
                digest.update(str(path.relative_to(settings.PROJECT_DIR)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def fingerprinted(warehouse: Path) -> bool:
    """Whether a quiet night can be told on this warehouse: the fingerprint's row hashes are DuckDB's
    (``hash``, ``bit_xor``, ``hugeint``), so a PostgreSQL warehouse always builds."""
    return wh.current(warehouse).destination == "duckdb"


def fingerprint(conn: wh.Connection) -> str:
    """One digest of every input of the dbt project (see the module docstring); a DuckDB connection."""
    digest = hashlib.sha256(project_digest().encode())
    tables = conn.execute(
        "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' and ("
        f"(table_schema in {RAW_SCHEMAS!r} and table_name not like '\\_dlt%' escape '\\')"
        f" or (table_schema = '{sync_schema.SCHEMA}' and table_name in {SYNC_TABLES!r}))"
        " order by table_schema, table_name").fetchall()
    for schema, table in tables:
        columns = [c for (c,) in conn.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?"
            " and column_name not like '\\_dlt%' escape '\\' order by ordinal_position", [schema, table]).fetchall()]
        row_hash = f"hash({', '.join(f'{chr(34)}{c}{chr(34)}' for c in columns)})" if columns else "0"
        # order-independent: count, xor and sum of the row hashes
        count, xor, total = conn.execute(
            f'select count(*), bit_xor({row_hash}), sum({row_hash}::hugeint) from "{schema}"."{table}"').fetchone()
        digest.update(f"{schema}.{table}:{','.join(columns)}:{count}:{xor}:{total};".encode())
    return digest.hexdigest()


def _plan_is_empty(conn: wh.Connection) -> bool:
    tables = conn.tables("writeback")
    return bool(tables) and all(conn.execute(f'select count(*) from writeback."{t}"').fetchone()[0] == 0
                                for t in tables)


def connect(warehouse: Path) -> wh.Connection:
    """A connection to the warehouse with the ``p2c_sync`` tables ensured (the marks this module and
    :mod:`transform.incremental` keep there)."""
    conn = wh.current(warehouse).connect()
    sync_schema.ensure(conn)
    return conn


def unchanged_since(warehouse: Path, digest: str) -> str | None:
    """The run whose empty plan these inputs would build again, or None (dbt must run)."""
    if not wh.current(warehouse).exists():
        return None
    with connect(warehouse) as conn:
        row = conn.execute(f"select run_id from {MARKS} where fingerprint = ?", [digest]).fetchone()
        return (row[0] or "?") if row and _plan_is_empty(conn) else None


def current(warehouse: Path) -> str:
    with connect(warehouse) as conn:
        return fingerprint(conn)


def forget(warehouse: Path) -> None:
    if wh.current(warehouse).exists():
        with connect(warehouse) as conn:
            conn.execute(f"delete from {MARKS}")


def remember(warehouse: Path, digest: str, run_id: str) -> bool:
    """After a build: keep ``digest`` if the plan it built is empty, else forget any. True if kept."""
    with connect(warehouse) as conn:
        conn.execute(f"delete from {MARKS}")
        if not _plan_is_empty(conn):
            return False
        conn.execute(f"insert into {MARKS} (fingerprint, run_id, recorded_at) values (?, ?, current_timestamp::timestamp)",
                     [digest, run_id])
        return True
