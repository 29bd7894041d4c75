"""One nightly run: extract → transform (dbt build) → writeback → report.

The run holds the lock for its whole length, gives itself a run id, and records each stage's
counts and duration in ``p2c_sync.runs``. Stages talk to the warehouse themselves and close it
before the next one starts (DuckDB allows one writing process at a time), so this module only
opens the warehouse briefly to book-keep (through :mod:`p2c_core.runs`, the table's one writer).
:func:`default_pipeline` wires the real stages: ``pipelines``, ``transform``, ``reverse_etl`` and
the report; ``p2c run``, ``p2c watch``, ``p2c plan`` and the Dagster code location run it.

Exit codes (stated in ``p2c run --help`` and the README):

== =====================================================================================
0  every planned record was written
1  the run completed, but some records failed or wait (see ``p2c errors``)
2  configuration or connection error before anything was written
3  another run holds the lock
4  a dbt test that guards an invariant failed: the writeback did not start, nothing written
== =====================================================================================
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from p2c import preflight
from p2c.lock import run_lock
from p2c_core import runs, settings, sync_schema, warehouse as wh
from p2c_core.crashpoints import crashpoint
from p2c_core.errors import ConfigError, InvariantFailed
from p2c_core.runs import StageOutcome, new_run_id
from transform import seeds

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_CONFIG = 2
EXIT_LOCKED = 3
EXIT_INVARIANT = 4

SUMMARY_COLUMNS = (
    "extracted",
    "created",
    "updated",
    "unchanged",
    "conflicts",
    "quarantined",
    "failed",
    "waiting",
)


# canonical entities in dependency order (the summary's row order), as seeds/entities.csv declares
# them; anything else a stage counts (currencies, units, business units, …) is reference data and
# shares one row
CANONICAL_ENTITIES = seeds.canonical_entities()
REFERENCE_DATA = "reference data"
# outcomes that are not "unchanged" when computing it from a stage's canonical record count
_TOUCHED = ("created", "updated", "deactivated", "failed", "waiting", "changed_since_extract")


@dataclass
class StageRecord:
    stage: str
    status: str
    seconds: float
    counts: dict[str, dict[str, int]]
    message: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunSummary:
    run_id: str
    status: str = "running"
    exit_code: int = EXIT_OK
    stages: list[StageRecord] = field(default_factory=list)
    report_path: str | None = None
    message: str | None = None
    resumed_after: list[str] = field(default_factory=list)  # interrupted runs this one follows

    def entities(self) -> dict[str, dict[str, int]]:
        """Per canonical entity (dependency order, reference data first), the summary columns
        across all stages; ``unchanged`` = canonical records that no write touched."""
        raw = by_canonical_entity(*(stage.counts for stage in self.stages))
        table: dict[str, dict[str, int]] = {}
        for name, counts in raw.items():
            row = {column: counts.get(column, 0) for column in SUMMARY_COLUMNS}
            if "canonical" in counts:
                row["unchanged"] = max(0, counts["canonical"] - sum(counts.get(k, 0) for k in _TOUCHED))
            table[name] = row
        return table

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "exit_code": self.exit_code,
            "message": self.message,
            "report": self.report_path,
            "resumed_after": self.resumed_after,
            "stages": [
                {"stage": s.stage, "status": s.status, "seconds": round(s.seconds, 2), "message": s.message}
                for s in self.stages
            ],
            "entities": self.entities(),
        }


Stage = Callable[[str], StageOutcome]


def by_canonical_entity(*stage_counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """Sum counts per canonical entity, in dependency order; every other entity a stage counted
    (currencies, units, …) goes into one ``reference data`` row, first."""
    raw: dict[str, dict[str, int]] = {}
    for counts in stage_counts:
        for entity, values in counts.items():
            row = raw.setdefault(entity if entity in CANONICAL_ENTITIES else REFERENCE_DATA, {})
            for key, value in values.items():
                row[key] = row.get(key, 0) + int(value or 0)
    return {name: raw[name] for name in (REFERENCE_DATA, *CANONICAL_ENTITIES) if name in raw}


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def record_stage(
    warehouse: Path,
    run_id: str,
    stage: str,
    status: str,
    started: datetime,
    finished: datetime | None,
    counts: dict[str, dict[str, int]] | None = None,
    message: str | None = None,
) -> None:
    """Book one stage of a run in the warehouse's ``p2c_sync.runs`` (:func:`p2c_core.runs.book_stage`)."""
    with wh.current(warehouse).connect() as conn:
        sync_schema.ensure(conn)
        runs.book_stage(conn, run_id, stage, status, started, finished, counts, message)


def close_interrupted_runs(warehouse: Path) -> list[dict[str, Any]]:
    """The runs a dead process left ``running``, now ``interrupted`` (:func:`p2c_core.runs.close_interrupted`).

    The next run re-extracts and re-plans from what both systems hold, so nothing the interrupted
    run wrote is written twice."""
    store = wh.current(warehouse)
    if not store.exists():
        return []
    with store.connect() as conn:
        sync_schema.ensure(conn)
        return runs.close_interrupted(conn)


def writable_warehouse_dir(warehouse: Path) -> None:
    """Raise ConfigError naming ``P2C_WAREHOUSE`` when its directory cannot be created or written."""
    try:
        warehouse.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=warehouse.parent):
            pass
    except OSError as err:
        raise ConfigError(
            "P2C_WAREHOUSE",
            f"cannot create or write the warehouse's directory {warehouse.parent} ({err.strerror or err}); "
            "point P2C_WAREHOUSE at a file in a writable directory",
        ) from None


@dataclass
class Pipeline:
    """The stages of a run, injectable so tests can replace one."""

    preflight: Callable[[], None]
    extract: Stage
    transform: Stage
    writeback: Stage
    report: Callable[[str], str | None]


def execute(
    pipeline: Pipeline,
    *,
    warehouse: Path | None = None,
    lock_path: Path | None = None,
    run_id: str | None = None,
    on_stage: Callable[[str, str, "StageRecord | None"], None] = lambda stage, state, record: None,
    on_notice: Callable[[str], None] = lambda message: None,
    dry_run: bool = False,
) -> RunSummary:
    """Run every stage under the lock; never raises for a run that got as far as starting.

    Before it starts it raises :class:`ConfigError` (``P2C_WAREHOUSE`` cannot be written, ``p2c.erp``
    names no system, a bad ``[warehouse]`` setting) and
    :class:`LockHeld` (another run holds the lock).

    ``dry_run``: extract and transform only (what ``p2c plan`` refreshes): nothing is written to
    either system, the stages are booked (so a later plan can say which extract it reflects) but
    no run and no report.
    """
    warehouse = warehouse or settings.warehouse_path()
    lock_path = lock_path or settings.lock_path()
    summary = RunSummary(run_id=run_id or new_run_id())
    writable_warehouse_dir(warehouse)
    preflight.roles()  # a p2c.erp that names no system: ConfigError naming it
    wh.current(warehouse).check()  # a bad [warehouse] setting or connection: ConfigError naming it

    with run_lock(lock_path, summary.run_id):  # LockHeld propagates: the caller exits 3
        started = _now()
        crashpoint("run.after_lock")
        summary.resumed_after = [r["run_id"] for r in close_interrupted_runs(warehouse)]
        if summary.resumed_after:
            on_notice(
                f"resuming after interrupted run {', '.join(summary.resumed_after)} (its process ended before it "
                "finished): this run extracts again and writes only what is still missing"
            )
        try:
            on_stage("preflight", "start", None)
            pipeline.preflight()
        except ConfigError as err:
            summary.status, summary.exit_code, summary.message = "failed", EXIT_CONFIG, str(err)
            if not dry_run:
                record_stage(warehouse, summary.run_id, "run", "failed", started, _now(), {}, str(err))
            return summary
        if not dry_run:
            record_stage(warehouse, summary.run_id, "run", "running", started, None)

        stages = [("extract", pipeline.extract), ("transform", pipeline.transform), ("writeback", pipeline.writeback)]
        for name, stage in stages[:2] if dry_run else stages:
            on_stage(name, "start", None)
            record, code = execute_stage(name, stage, summary.run_id, warehouse=warehouse)
            summary.stages.append(record)
            if record.status == "failed":
                summary.status, summary.exit_code, summary.message = "failed", code, f"{name}: {record.message}"
                break
            if code == EXIT_PARTIAL:
                summary.exit_code = EXIT_PARTIAL
            on_stage(name, record.status, record)

        if summary.status == "running":
            summary.status = "partial" if summary.exit_code == EXIT_PARTIAL else "ok"
        if dry_run:
            return summary
        record_stage(
            warehouse,
            summary.run_id,
            "run",
            summary.status,
            started,
            _now(),
            summary.entities(),
            summary.message,
        )
        try:
            on_stage("report", "start", None)
            summary.report_path = pipeline.report(summary.run_id)
        except Exception as err:  # a report that cannot be drawn must not hide the run's outcome
            summary.message = (summary.message or "") + f" (report failed: {err})"
        return summary


def execute_stage(name: str, stage: Stage, run_id: str, *, warehouse: Path | None = None) -> tuple[StageRecord, int]:
    """Run one stage and book it in ``p2c_sync.runs``; never raises for a stage that failed.

    Returns the stage's record and its exit code (:data:`EXIT_OK`, :data:`EXIT_PARTIAL` when some
    records failed or wait, :data:`EXIT_CONFIG`, :data:`EXIT_INVARIANT`). ``p2c run`` calls it for
    each stage under its lock; an orchestrator calls it once per task, each under the lock.
    """
    warehouse = warehouse or settings.warehouse_path()
    t0, started = time.monotonic(), _now()
    try:
        try:
            outcome = stage(run_id)
        finally:
            release_memory()
    except ConfigError as err:
        # only extraction and transformation can still see configuration errors, and both come
        # before the writeback: nothing has been written
        code, message = EXIT_CONFIG, str(err)
    except InvariantFailed as err:
        code, message = EXIT_INVARIANT, str(err)
    except Exception as err:  # a stage crashed: the run failed, say where
        code, message = (EXIT_CONFIG if name == "extract" else EXIT_PARTIAL), f"{type(err).__name__}: {err}"
    else:
        status = "partial" if outcome.partial else "ok"
        record = StageRecord(name, status, time.monotonic() - t0, outcome.counts, outcome.message, outcome.detail)
        record_stage(warehouse, run_id, name, status, started, _now(), outcome.counts, outcome.message)
        crashpoint("run.after_stage_recorded")
        return record, (EXIT_PARTIAL if outcome.partial else EXIT_OK)
    # the callers' progress display learns of the failure through the record it gets back
    record_stage(warehouse, run_id, name, "failed", started, _now(), {}, message)
    return StageRecord(name, "failed", time.monotonic() - t0, {}, message), code


def release_memory() -> None:
    """Hand the memory a finished stage freed back to the system, so the next stage does not start
    on top of it: the stages run in one process (dbt in-process), and glibc's malloc keeps what
    DuckDB, Arrow and dlt freed in its arenas (``malloc_trim``; a no-op where libc has none)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):
        pass


# --- the real stages (tests inject others through Pipeline) ---------------------------------------


def _extract(run_id: str) -> StageOutcome:
    from pipelines.extract import extract_stage

    return extract_stage(run_id)


def _transform(run_id: str) -> StageOutcome:
    from transform.stage import transform_stage

    # the company map check, a quiet night's skip, dbt build, the audit and canonical counts
    return transform_stage(run_id)


def _writeback(run_id: str) -> StageOutcome:
    from reverse_etl.apply import run_stage

    return run_stage(run_id)


def _report(run_id: str) -> str:
    from p2c.report import write_report

    with wh.current().connect(read_only=True) as conn:
        return str(write_report(conn, run_id, settings.reports_dir()))


def default_pipeline() -> Pipeline:
    """The real stages: what ``p2c run``, ``p2c watch``, ``p2c plan`` and the Dagster code location run."""
    return Pipeline(
        preflight=preflight.before_run,
        extract=_extract,
        transform=_transform,
        writeback=_writeback,
        report=_report,
    )


def iter_summary_rows(summary: RunSummary) -> Iterator[tuple[str, ...]]:
    for entity, counts in summary.entities().items():
        yield (entity, *(str(counts[c]) for c in SUMMARY_COLUMNS))
