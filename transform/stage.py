"""The transform stage: ``dbt build``, and what the audit models found.

:func:`transform` checks the seeds, builds, and counts conflicts and quarantined rows per entity
(``p2c transform`` prints it). :func:`transform_stage` is the transform step of a nightly run,
whoever runs it: ``p2c run`` (and ``p2c watch``, ``p2c plan``'s refresh) through :mod:`p2c.run`,
and the Dagster code location's dbt step. In order: the company map against the organisations
just extracted (:func:`transform.seeds.organisation`), the quiet night (:mod:`transform.inputs`:
inputs a build with an empty plan read already, no build), the seed check, the nightly build
(incremental, or ``--full-refresh``: :mod:`transform.incremental`; an incremental build a model
of which fails is built again whole in the same run), its
failures as ``ConfigError`` (a seed dbt refused: exit 2) or ``InvariantFailed`` (a model or test:
exit 4, the writeback does not start), then the audit and canonical counts.

Only the way dbt is invoked differs: in this process (:func:`build_in_process`, dbt's Python API),
or by the caller (Dagster's ``DbtCliResource``, with :func:`nightly_dbt_args` and
:func:`summarize_run_results`). The nightly build leaves out dbt's unit tests (development tests
of the SQL on fixed inputs, ~3 of ~16 s on the sandbox's ``small``); ``p2c transform
--unit-tests``, ``dbt build`` by hand and the test suite run them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from p2c_core import settings, warehouse as wh
from p2c_core.crashpoints import crashpoint
from p2c_core.errors import ConfigError, InvariantFailed
from p2c_core.runs import StageOutcome
from transform import incremental, inputs, seeds
from transform.runner import prepare_dbt, run_dbt
from transform.seeds import check_seeds, organisation

log = logging.getLogger("p2c.transform")

# the nightly build leaves dbt's unit tests out (``--unit-tests`` runs them)
NIGHTLY_EXCLUDE = ["--exclude", "resource_type:unit_test"]


@dataclass
class TransformResult:
    """What one ``dbt build`` did, and what the audit models say about the data."""

    success: bool
    models: dict[str, int] = field(default_factory=dict)  # status -> count
    tests: dict[str, int] = field(default_factory=dict)  # status -> count (data tests)
    unit_tests: dict[str, int] = field(default_factory=dict)  # status -> count
    failures: list[str] = field(default_factory=list)  # "<node>: <message>"
    seed_errors: list[tuple[str, str]] = field(default_factory=list)  # (seeds/<file>.csv, first line of dbt's error)
    per_entity: dict[str, dict[str, int]] = field(default_factory=dict)


def _tally(result: TransformResult, resource_type: str, unique_id: str, status: str, message: str | None) -> None:
    bucket = {"model": result.models, "seed": result.models, "unit_test": result.unit_tests}.get(
        resource_type, result.tests)
    if resource_type in ("model", "seed", "test", "unit_test"):
        bucket[status] = bucket.get(status, 0) + 1
    if status in ("error", "fail"):
        result.failures.append(f"{unique_id}: {(message or '').strip()}")


def summarize(res) -> TransformResult:
    """Counts of models and tests by status from a dbt run result (pure)."""
    result = TransformResult(success=bool(res.success))
    for node_result in getattr(res.result, "results", None) or []:
        node = node_result.node
        status = str(getattr(node_result.status, "value", node_result.status))
        _tally(result, node.resource_type, node.unique_id, status, node_result.message)
        if status == "error" and node.resource_type == "seed":
            first = next((line for line in (node_result.message or "").splitlines() if line.strip()), "")
            result.seed_errors.append((node.original_file_path, first.strip()))
    if res.exception is not None:
        result.failures.append(f"dbt: {res.exception}")
    return result


def summarize_run_results(run_results: dict[str, Any], success: bool) -> TransformResult:
    """The same counts from dbt's ``run_results.json``, for a build dbt ran outside this process
    (``success``: whether that invocation succeeded) (pure)."""
    result = TransformResult(success=success)
    for row in run_results.get("results", []):
        _tally(result, row["unique_id"].split(".", 1)[0], row["unique_id"], str(row.get("status")), row.get("message"))
    return result


def audit_counts(warehouse: Path) -> dict[str, dict[str, int]]:
    """Conflicts (and open ones), quarantined rows and writeback rows per entity, from the audit models."""
    counts: dict[str, dict[str, int]] = {}
    queries = {
        "conflicts": "select entity, count(*) from audit.conflicts group by 1",
        "open_conflicts": "select entity, count(*) from audit.conflicts where is_open group by 1",
        "quarantined": "select entity, count(*) from audit.quarantine group by 1",
    }
    with wh.current(warehouse).connect(read_only=True) as conn:
        for key, sql in queries.items():
            try:
                rows = conn.execute(sql).fetchall()
            except wh.MissingTable:  # the model was not built (an upstream failure)
                continue
            for entity, n in rows:
                counts.setdefault(entity, {})[key] = int(n)
    return dict(sorted(counts.items()))


def build_in_process(
    warehouse: Path, select: str | None = None, quiet: bool = True, unit_tests: bool = False
) -> TransformResult:
    """``dbt build`` in this process (without dbt's unit tests unless ``unit_tests``); a full
    refresh unless :func:`transform.incremental.begin` started an incremental build, which leaves
    the loaded seeds out (:data:`transform.incremental.SEEDS_LOADED`)."""
    extra = ["--select", select] if select else []
    extra += incremental.build_args(warehouse, leave_seeds=not select)
    if not unit_tests:
        extra += NIGHTLY_EXCLUDE
    crashpoint("transform.before_dbt")
    result = summarize(run_dbt("build", extra, warehouse=warehouse, quiet=quiet))
    crashpoint("transform.after_dbt")
    return result


def transform(
    warehouse: Path | None = None, select: str | None = None, quiet: bool = True, unit_tests: bool = False
) -> TransformResult:
    """``dbt build`` (without dbt's unit tests unless ``unit_tests``), then the audit counts per entity."""
    check_seeds()  # a hand-broken value map: exit 2 naming its file and line, before dbt runs
    warehouse = warehouse or settings.warehouse_path()
    incremental.begin(warehouse, None)
    result = build_in_process(warehouse, select, quiet, unit_tests)
    if result.success and not select:  # a selection leaves other incremental models behind: no mark
        incremental.passed(warehouse)
    if wh.current(warehouse).exists():
        result.per_entity = audit_counts(warehouse)
    return result


def nightly_dbt_args(warehouse: Path) -> list[str]:
    """dbt's arguments for the nightly build, for a caller that invokes dbt itself (Dagster's
    ``DbtCliResource``, which adds the project and profiles directories): the configured
    warehouse's target, with the environment its profile reads set up, the nightly selection and
    ``--full-refresh`` when the build :func:`transform.incremental.begin` started is one."""
    return ["build", "--target", prepare_dbt(warehouse), *NIGHTLY_EXCLUDE, *incremental.build_args(warehouse)]


def outcome(result: TransformResult, warehouse: Path) -> StageOutcome:
    """A build's result as the stage's outcome: ``ConfigError`` naming the file when dbt could not
    load a seed, ``InvariantFailed`` when a model or test failed, else the audit counts."""
    if result.seed_errors:  # a value map is configuration, not an invariant
        path, message = result.seed_errors[0]
        raise ConfigError(path, message or "dbt could not load this seed")
    if not result.success:
        raise InvariantFailed("; ".join(result.failures[:5]) or "dbt build failed")
    return StageOutcome(counts=audit_counts(warehouse), detail={"models": result.models, "tests": result.tests,
                                                                "unit_tests": result.unit_tests})


def transform_stage(
    run_id: str, build: Callable[[Path], TransformResult] = build_in_process, skip_quiet_night: bool = True
) -> StageOutcome:
    """The transform step of a nightly run (see the module docstring); ``build`` invokes dbt's
    nightly build on the warehouse. ``skip_quiet_night``: skip the build when its inputs are those
    of a build whose plan was empty (on DuckDB; a PostgreSQL warehouse always builds)."""
    warehouse = settings.warehouse_path()
    organisation(warehouse)  # a company map that does not match the systems: exit 2, before dbt
    fingerprinted = skip_quiet_night and inputs.fingerprinted(warehouse)
    digest = inputs.current(warehouse) if fingerprinted else None
    quiet_since = inputs.unchanged_since(warehouse, digest) if fingerprinted else None
    if quiet_since:
        return with_canonical_counts(StageOutcome(counts=audit_counts(warehouse), message=(
            f"dbt build not run: its inputs are those of run {quiet_since}, whose plan was empty")))
    if fingerprinted:
        inputs.forget(warehouse)  # until this build has passed
    check_seeds()  # a hand-broken value map: exit 2 naming its file and line, before dbt runs
    incremental.begin(warehouse, run_id)  # a full refresh unless the last build of this project passed
    result = build(warehouse)
    if not result.success and result.models.get("error") and not incremental.full_refresh(warehouse):
        # a model of an incremental build failed (at `large`, the night after a first sync changed
        # most records, and re-merging them record by record outgrew DuckDB's memory limit where a
        # whole rebuild does not): the same run builds again whole, as the next run would. A data
        # test that fails is the data's verdict, not the build's: it fails the run as it is.
        log.warning("a model of the incremental dbt build failed (%s); building again with --full-refresh",
                    "; ".join(result.failures[:3]))
        incremental.begin(warehouse, run_id, full=True)
        result = build(warehouse)
    done = outcome(result, warehouse)
    incremental.passed(warehouse)
    if fingerprinted:
        inputs.remember(warehouse, digest, run_id)
    return with_canonical_counts(done)


def with_canonical_counts(outcome: StageOutcome) -> StageOutcome:
    """``outcome`` with the rows of each canonical table (``canonical.customers`` → ``customer``)
    as its entity's ``canonical`` count, for the run's summary."""
    entity_of = {seeds.canonical_table(entity): entity for entity in seeds.canonical_entities()}
    with wh.current().connect(read_only=True) as conn:
        for name in conn.tables("canonical"):
            if name not in entity_of:
                continue
            records = conn.execute(f'select count(*) from canonical."{name}"').fetchone()[0]
            outcome.counts.setdefault(entity_of[name], {})["canonical"] = records
    return outcome
