"""Incremental builds: a night's merge follows its changes, a project change is a full refresh.

``int_field_values``, the merge models, the canonical tables and ``base_updates`` are dbt
incremental models (``delete+insert`` on the canonical record, the macros in
``macros/incremental_records.sql``): a build unpivots and re-merges only the records of
``int_changed_records`` — those whose digest (``int_record_digests``: pair, mapped values read wide
from the mapping models, base, decisions) differs from the one the last passed build stored in
``p2c_sync.record_digests``. The mapping models, ``int_records`` and ``int_record_pairs`` stay
whole (match-based coupling and the quarantine cascade need every row).

What the incremental models were built by is kept in ``p2c_sync.incremental_build`` (one row):
the project's digest (models, macros, seeds, data tests, the ERP playing the role) and whether the
build passed. :func:`begin` decides before a build: a full refresh (``dbt build
--full-refresh``) when there is no passed build of this same project — the first build, a model
or seed changed, the ERP changed, or the last build failed or was killed (its incremental tables
may hold rows of records whose digests were never stored). :func:`passed` stores the digests and
the mark after a build that passed.

:func:`check` (``python -m transform.incremental``, exit 1 when a model differs) is what makes it
trustworthy: the rows an incremental build left in each incremental model against those of a
``--full-refresh`` build of the same models on the same inputs.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from p2c_core import sync_schema, warehouse as wh
from systems import system_for
from transform.inputs import connect, project_digest
from transform.runner import target_path

MARK = f"{sync_schema.SCHEMA}.incremental_build"  # declared in p2c_core.sync_schema
DIGESTS = f"{sync_schema.SCHEMA}.record_digests"
BUILT_DIGESTS = "intermediate.int_record_digests"
# the records whose digest differs from the stored one (or that are new or gone), as the build found them
CHANGED = "intermediate.int_changed_records"
FULL_REFRESH = "--full-refresh"
# dbt's selector of the incremental models
SELECTOR = "config.materialized:incremental"


def _project() -> str:
    """The project's digest with the system playing the ERP role (it enables its home's models)."""
    return f"{project_digest()}:{system_for('erp').name}"


def begin(warehouse: Path, run_id: str | None, full: bool = False) -> bool:
    """Before a build: decide whether it is a full refresh (``full``: one in any case) and mark it
    started; returns the decision."""
    project = _project()
    with connect(warehouse) as conn:
        row = conn.execute(f"select project_digest, passed_at from {MARK}").fetchone()
        full = full or row is None or row[0] != project or row[1] is None
        with conn.transaction():
            conn.execute(f"delete from {MARK}")
            conn.execute(f"insert into {MARK} (project_digest, full_refresh, run_id, started_at)"
                         " values (?, ?, ?, current_timestamp::timestamp)", [project, full, run_id])
    return full


def full_refresh(warehouse: Path) -> bool:
    """Whether the build :func:`begin` started is a full refresh (True when none is started: a
    build nobody began, whose digests :func:`passed` will not store, rebuilds every record)."""
    if not wh.current(warehouse).exists():
        return True
    with connect(warehouse) as conn:
        row = conn.execute(f"select full_refresh, passed_at from {MARK}").fetchone()
    return row is None or bool(row[0]) or row[1] is not None


# an incremental build is one of the project whose last build passed, and the seeds' files are part
# of the project's digest: the seed tables hold these files already. Such a build leaves the seeds
# and the data tests that read only seeds out (~20 seeds and ~55 tests, nothing in them can have
# changed); a test that reads a seed and a model (assert_seen_values_are_mapped_or_quarantined)
# still runs: "cautious" indirect selection excludes a test only when all it reads is excluded
SEEDS_LOADED = ["--exclude", "resource_type:seed", "--indirect-selection", "cautious"]


def build_args(warehouse: Path, leave_seeds: bool = False) -> list[str]:
    """dbt's extra arguments for the build :func:`begin` started: ``--full-refresh``, or for an
    incremental build none, or with ``leave_seeds`` :data:`SEEDS_LOADED` (p2c's own nightly build;
    a build of a selection, and Dagster's, whose seeds are assets it expects, load them)."""
    if full_refresh(warehouse):
        return [FULL_REFRESH]
    return list(SEEDS_LOADED) if leave_seeds else []


def passed(warehouse: Path) -> None:
    """After a build that passed: keep its records' digests (the next build's comparison) and mark it
    passed. Only the digests of the records the build listed in ``int_changed_records`` are
    replaced: every other record's digest equals the stored one already (rewriting a million
    digests took ~20-50 s at ``large``, a night's change a fraction of a second)."""
    with connect(warehouse) as conn, conn.transaction():
        conn.execute(f"delete from {DIGESTS} using {CHANGED} as changed"
                     f" where {DIGESTS}.entity = changed.entity and {DIGESTS}.record_key = changed.record_key")
        conn.execute(f"insert into {DIGESTS} (entity, record_key, digest)"
                     f" select built.entity, built.record_key, built.digest from {BUILT_DIGESTS} as built"
                     f" inner join {CHANGED} as changed"
                     " on built.entity = changed.entity and built.record_key = changed.record_key")
        conn.execute(f"update {MARK} set passed_at = current_timestamp::timestamp")


def incremental_models(warehouse: Path) -> list[str]:
    """The incremental models' tables (``schema.table``), from the manifest of the last dbt invocation."""
    manifest = json.loads((target_path(warehouse) / "manifest.json").read_text())
    return sorted(f"{node['schema']}.{node['alias']}" for node in manifest["nodes"].values()
                  if node["resource_type"] == "model" and node["config"].get("materialized") == "incremental"
                  and node["config"].get("enabled", True))


def check(warehouse: Path) -> dict[str, int]:
    """The check that an incremental build is right, on the warehouse's inputs as they are: an
    incremental ``dbt run`` of the incremental models and the models they read (every record
    changed since the last passed build: the writeback that followed it moved bases and keys), then each incremental model's rows against a
    ``--full-refresh`` run of the incremental models on the same inputs. Returns the differing
    rows per model (all 0: the same); the models are left as the full refresh built them. The
    mark and the stored digests stay those of the last passed build."""
    from transform.runner import run_dbt

    res = run_dbt("run", ["--select", f"+{SELECTOR}"], warehouse=warehouse)  # they and what they read
    if not res.success:
        raise RuntimeError(f"the incremental run failed: {_failures(res)}")
    models = incremental_models(warehouse)
    store = wh.current(warehouse)
    with store.connect() as conn:
        for relation in models:
            conn.execute(f"drop table if exists {relation}__incremental")
            conn.execute(f"create table {relation}__incremental as select * from {relation}")
    res = run_dbt("run", ["--select", SELECTOR, FULL_REFRESH], warehouse=warehouse)
    if not res.success:
        raise RuntimeError(f"the full refresh of the incremental models failed: {_failures(res)}")
    with store.connect() as conn:
        found = {relation: differences(conn, f"{relation}__incremental", relation) for relation in models}
        for relation in models:
            conn.execute(f"drop table {relation}__incremental")
    return found


def _failures(res) -> str:
    """The first failed nodes of a dbt result and their messages, or dbt's exception."""
    failed = [f"{r.node.name}: {(r.message or '').strip()[:300]}" for r in getattr(res.result, "results", None) or []
              if str(getattr(r.status, "value", r.status)) == "error"]
    return "; ".join(failed[:3]) or str(res.exception)


def differences(conn: wh.Connection, relation: str, reference: str) -> int:
    """Rows of ``relation`` and ``reference`` (two tables of the same columns) that the other does
    not hold, counted with their multiplicity (``except all`` both ways). JSON compares by value: an
    object's keys come in the order the rows were aggregated (``value_sources``, payloads)."""
    columns = [c for (c,) in conn.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?"
        " order by ordinal_position", relation.split(".", 1)).fetchall()]
    cols = ", ".join(f'cast("{c}" as varchar)' for c in columns)
    only = [Counter(tuple(_by_value(v) for v in row) for row in conn.execute(
        f"select {cols} from {a} except all select {cols} from {b}").fetchall())
        for a, b in ((relation, reference), (reference, relation))]
    return sum((only[0] - only[1]).values()) + sum((only[1] - only[0]).values())


def _by_value(text: str | None) -> str | None:
    if text and text[0] in "{[":
        try:
            return json.dumps(json.loads(text), sort_keys=True)
        except ValueError:
            pass
    return text


if __name__ == "__main__":  # python -m transform.incremental: the check on the configured warehouse
    from p2c_core import settings

    if not wh.current(settings.warehouse_path()).exists():
        raise SystemExit(f"no warehouse at {settings.warehouse_path()}: nothing to check")
    found = check(settings.warehouse_path())
    print(json.dumps(found, indent=1))
    raise SystemExit(1 if any(found.values()) else 0)
