"""p2c as a Dagster code location: ``dagster dev -m orchestration.definitions``.

The asset graph is the nightly run, one asset per table::

    crm_raw/<table>, erp_raw/<table>   dlt resources (dagster-dlt's @dlt_assets), loaded by p2c's
                                       extract runner (pipelines.extract), one step per system
      → stg_* → int_* → canonical, audit, writeback models
                                       the dbt project (dagster-dbt's @dbt_assets): ``dbt build``,
                                       every data test an asset check
      → p2c_writeback                  reverse_etl.apply.run_stage: the differences written back
      → p2c_report                     the HTML report; books the run in p2c_sync.runs

dbt's sources ``crm_raw.<table>`` / ``erp_raw.<table>`` get the same keys as the dlt assets
(:class:`RawTableTranslator`), so lineage runs from the API to the writeback.

Each step runs one stage through :func:`p2c.run.execute_stage` (the function ``p2c run`` uses),
under the run lock, and books it in ``p2c_sync.runs`` under one p2c run id per Dagster run, so
``p2c status`` and the report show Dagster's runs beside the CLI's. Exit-code semantics:

=====================  =================================================================
p2c exit code          in Dagster
=====================  =================================================================
0 all written          every step succeeds; check ``p2c_writeback:every_record_written`` passes
1 partial              the check fails (severity WARN) with the failed / waiting counts
2 configuration        the step fails (``Failure``, no retry); downstream steps are skipped
3 lock held            the step fails at once naming the holder; nothing ran, nothing is skipped
                       silently
4 invariant            the failing dbt tests are failed asset checks; the dbt step fails, so
                       ``p2c_writeback`` is skipped and nothing is written
=====================  =================================================================

Steps run one after another in one process (``in_process_executor``): DuckDB has one writer.
The nightly schedule is ``30 2 * * *`` UTC (``P2C_DAGSTER_CRON``, ``P2C_DAGSTER_TIMEZONE``).
"""


import json
import os
import sys
from datetime import timezone
from functools import partial
from pathlib import Path
from typing import Any, Iterator, Mapping

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets
from dagster_dlt import DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from p2c.lock import LockHeld, run_lock
from p2c.run import EXIT_LOCKED, EXIT_OK, RunSummary, StageRecord, default_pipeline, execute_stage, record_stage
from p2c_core import settings, warehouse as p2c_warehouse
from p2c_core.connection import ROLES, Role
from p2c_core.runs import new_run_id
from pipelines.extract import extract_stage, make_pipeline
from systems import system_for
from transform.runner import dbt_args, run_dbt
from transform.stage import TransformResult, nightly_dbt_args, summarize_run_results, transform_stage

CRON = os.environ.get("P2C_DAGSTER_CRON", "30 2 * * *")
TIMEZONE = os.environ.get("P2C_DAGSTER_TIMEZONE", "UTC")
WRITEBACK_CHECK = "every_record_written"
# dbt-core's executable beside this interpreter (a venv need not be on PATH under `dagster dev`)
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt")) if Path(sys.executable).with_name("dbt").exists() else "dbt"


# --- run id and bookkeeping -------------------------------------------------------------------


def p2c_run_id(context: dg.AssetExecutionContext) -> str:
    """One p2c run id per Dagster run: the run's creation time (sortable) and its id's first digits."""
    record = context.instance.get_run_record_by_id(context.run.run_id)
    created = record.create_timestamp if record is not None else None
    if created is not None and created.tzinfo is None:
        created = created.replace(tzinfo=timezone.utc)
    return new_run_id(created).rsplit("-", 1)[0] + "-" + context.run.run_id[:4]


def book_run(run_id: str, *, final: bool) -> RunSummary:
    """The ``run`` rows of ``p2c_sync.runs`` from the stage rows this Dagster run booked so far."""
    warehouse = settings.warehouse_path()
    with p2c_warehouse.current(warehouse).connect(read_only=True) as conn:
        totals = conn.execute(
            "select stage, status, started_at, finished_at, message from p2c_sync.runs"
            " where run_id = ? and entity = '' and stage <> 'run' order by started_at",
            [run_id],
        ).fetchall()
        per_entity = conn.execute(
            "select stage, entity, counts from p2c_sync.runs where run_id = ? and entity <> '' and stage <> 'run'",
            [run_id],
        ).fetchall()
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for stage, entity, values in per_entity:
        counts.setdefault(stage, {})[entity] = json.loads(values) if isinstance(values, str) else dict(values)
    summary = RunSummary(run_id=run_id)
    summary.stages = [StageRecord(stage, status, 0.0, counts.get(stage, {}), message)
                      for stage, status, _, _, message in totals]
    statuses = {s.status for s in summary.stages}
    failed = [s for s in summary.stages if s.status == "failed"]
    if failed:
        summary.status, summary.message = "failed", f"{failed[0].stage}: {failed[0].message}"
    elif not final:
        summary.status = "running"
    else:
        summary.status = "partial" if "partial" in statuses else "ok"
    started = min((t[2] for t in totals), default=None)
    finished = max((t[3] for t in totals if t[3] is not None), default=None) if (final or failed) else None
    if started is not None:
        record_stage(warehouse, run_id, "run", summary.status, started, finished, summary.entities(), summary.message)
    return summary


def run_stage(context: dg.AssetExecutionContext, name: str, stage) -> tuple[StageRecord, int]:
    """One p2c stage as a Dagster step: under the run lock, booked in ``p2c_sync.runs``.

    A held lock or a failed stage raises :class:`dagster.Failure` (the exit code in its metadata),
    so Dagster skips every step downstream."""
    run_id = p2c_run_id(context)
    try:
        with run_lock(settings.lock_path(), run_id):
            record, code = execute_stage(name, stage, run_id)
            book_run(run_id, final=False)
    except LockHeld as held:
        raise dg.Failure(
            description=f"not started: {held}",
            metadata={"exit_code": EXIT_LOCKED, "p2c_run_id": run_id},
            allow_retries=False,
        ) from None
    context.log.info(f"p2c run {run_id}: {name} {record.status} in {record.seconds:.1f}s — {record.message or ''}")
    if record.status == "failed":
        raise dg.Failure(
            description=f"{name} failed (p2c exit code {code}): {record.message}",
            metadata={"exit_code": code, "p2c_run_id": run_id},
            allow_retries=False,
        )
    return record, code


# --- dlt: one multi-asset per system ----------------------------------------------------------


class RawTableTranslator(DagsterDltTranslator):
    """dlt resource → asset ``<dataset>/<table>`` (``crm_raw/accounts``): the key dbt gives its
    source ``crm_raw.accounts``, so the dbt staging models hang off the dlt assets."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        dataset = data.pipeline.dataset_name if data.pipeline else data.resource.source_name
        return spec.replace_attributes(
            key=dg.AssetKey([dataset, data.resource.table_name]),
            deps=[],
            group_name=dataset,
        )


def _dlt_asset(system: Role) -> dg.AssetsDefinition:
    """The multi-asset of one role's raw tables, from the source of the system playing it."""
    by_table = {e.table: e.entity_set for e in system_for(system).entities}
    # the source and pipeline only describe the assets here (the resources' HTTP client is never
    # used: the step runs p2c's extract runner, which opens its own)
    source = system_for(system).dlt_source(None)  # type: ignore[arg-type]

    @dlt_assets(
        dlt_source=source,
        dlt_pipeline=make_pipeline(system),
        name=f"extract_{system}",
        dagster_dlt_translator=RawTableTranslator(),
    )
    def extract(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
        keys = sorted(context.selected_asset_keys, key=lambda k: k.path[-1])
        entity_sets = [by_table[key.path[-1]] for key in keys]
        selection = None if len(entity_sets) == len(by_table) else entity_sets
        record, _ = run_stage(
            context, f"extract {system}", partial(extract_stage, systems=[system], entities=selection)
        )
        detail = record.detail.get(system, {})
        rows = detail.get("rows", {})
        for key, entity_set in zip(keys, entity_sets):
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={
                    "entity_set": entity_set,
                    "rows_read": rows.get(entity_set, 0),
                    "load_id": detail.get("load_id") or "",
                    "dlt_pipeline": settings.PIPELINE_NAMES[system],
                },
            )

    return extract


# --- dbt: the project as assets, its data tests as checks ---------------------------------------


def dbt_project() -> DbtProject:
    """The dbt project with the manifest ``p2c transform`` would write (parsed if missing)."""
    args = dbt_args("parse", settings.warehouse_path())
    target = Path(args[args.index("--target-path") + 1])
    project = DbtProject(project_dir=settings.PROJECT_DIR, profiles_dir=settings.PROJECT_DIR, target_path=target)
    if not project.manifest_path.exists():
        result = run_dbt("parse")
        if not result.success:
            raise RuntimeError(f"dbt parse failed: {result.exception}")
    return project


class P2cDbtTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn") or []
        return f"dbt_{fqn[1]}" if len(fqn) > 2 else "dbt"


DBT_PROJECT = dbt_project()
DBT_TRANSLATOR = P2cDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(manifest=DBT_PROJECT.manifest_path, project=DBT_PROJECT, dagster_dbt_translator=DBT_TRANSLATOR,
            name="dbt_build")
def dbt_build(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """``dbt build`` (the nightly build: unit tests left out), as ``p2c run``'s transform stage."""
    events: list = []

    def build(warehouse: Path) -> TransformResult:
        invocation = dbt.cli(nightly_dbt_args(warehouse), context=context, raise_on_error=False)
        events.extend(invocation.stream())
        return summarize_run_results(invocation.get_artifact("run_results.json"), invocation.is_successful())

    # the transform stage of `p2c run` with dbt run by Dagster; it always builds (a skipped build
    # would leave the dbt assets unmaterialized and skip the writeback and the report)
    transform = partial(transform_stage, build=build, skip_quiet_night=False)
    try:
        run_stage(context, "transform", transform)
    finally:
        yield from events  # the failed checks are recorded even when the step fails


# --- writeback and report ---------------------------------------------------------------------


def _writeback_models() -> list[dg.AssetKey]:
    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())
    return [
        DBT_TRANSLATOR.get_asset_spec(manifest, unique_id, DBT_PROJECT).key
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["fqn"][1:2] == ["writeback"]
    ]


@dg.asset(
    deps=_writeback_models(),
    group_name="writeback",
    check_specs=[dg.AssetCheckSpec(WRITEBACK_CHECK, asset="p2c_writeback",
                                   description="p2c exit code 0: no record failed or waits (p2c errors lists them)")],
    kinds={"python"},
)
def p2c_writeback(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """The differences in the writeback models, written to both systems (``reverse_etl``)."""
    record, code = run_stage(context, "writeback", default_pipeline().writeback)
    totals: dict[str, int] = {}
    for counts in record.counts.values():
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + int(value or 0)
    metadata = {key: totals.get(key, 0) for key in ("created", "updated", "deactivated", "failed",
                                                    "changed_since_extract", "waiting", "skipped")}
    return dg.MaterializeResult(
        metadata={**metadata, "http_requests": record.detail.get("http_requests", 0)},
        check_results=[
            dg.AssetCheckResult(
                check_name=WRITEBACK_CHECK,
                passed=code == EXIT_OK,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"exit_code": code, "failed": metadata["failed"], "waiting": metadata["waiting"],
                          "changed_since_extract": metadata["changed_since_extract"]},
                description=record.message,
            )
        ],
    )


@dg.asset(deps=[p2c_writeback], group_name="writeback", kinds={"html"})
def p2c_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """The run's HTML report (``reports/run-<id>.html``); books the whole run in ``p2c_sync.runs``."""
    run_id = p2c_run_id(context)
    summary = book_run(run_id, final=True)
    path = default_pipeline().report(run_id)
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(path), "p2c_run_id": run_id,
                                          "status": summary.status})


# --- the code location --------------------------------------------------------------------------

ASSETS = [*(_dlt_asset(role) for role in ROLES), dbt_build, p2c_writeback, p2c_report]
nightly = dg.define_asset_job("p2c_nightly", selection=dg.AssetSelection.all(), executor_def=dg.in_process_executor)
nightly_schedule = dg.ScheduleDefinition(name="p2c_nightly_schedule", job=nightly, cron_schedule=CRON,
                                         execution_timezone=TIMEZONE)

defs = dg.Definitions(
    assets=ASSETS,
    jobs=[nightly],
    schedules=[nightly_schedule],
    resources={"dbt": DbtCliResource(project_dir=DBT_PROJECT, profiles_dir=str(settings.PROJECT_DIR),
                                     dbt_executable=DBT_EXECUTABLE)},
    executor=dg.in_process_executor,
)
