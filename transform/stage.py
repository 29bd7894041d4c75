"""The transform stage: ``dbt build``, and what the audit models found.

:func:`transform` checks the seeds, builds, and counts conflicts and quarantined rows per entity
(``p2c transform`` prints it); :func:`transform_stage` is the same step for ``p2c run`` (a failed
dbt test stops the run before the writeback). The nightly build leaves out dbt's unit tests
(development tests of the SQL on fixed inputs, ~3 of ~16 s on the sandbox's ``small``);
``p2c transform --unit-tests``, ``dbt build`` by hand and the test suite run them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from p2c_core import settings, warehouse as wh
from p2c_core.crashpoints import crashpoint
from p2c_core.errors import ConfigError, InvariantFailed
from p2c_core.runs import StageOutcome
from transform.runner import run_dbt
from transform.seeds import check_seeds

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


def summarize(res) -> TransformResult:
    """Counts of models and tests by status from a dbt run result (pure)."""
    result = TransformResult(success=bool(res.success))
    for node_result in getattr(res.result, "results", None) or []:
        node = node_result.node
        status = str(getattr(node_result.status, "value", node_result.status))
        bucket = {"model": result.models, "seed": result.models, "unit_test": result.unit_tests}.get(
            node.resource_type, result.tests)
        if node.resource_type in ("model", "seed", "test", "unit_test"):
            bucket[status] = bucket.get(status, 0) + 1
        if status == "error" and node.resource_type == "seed":
            first = next((line for line in (node_result.message or "").splitlines() if line.strip()), "")
            result.seed_errors.append((node.original_file_path, first.strip()))
        if status in ("error", "fail"):
            result.failures.append(f"{node.unique_id}: {(node_result.message or '').strip()}")
    if res.exception is not None:
        result.failures.append(f"dbt: {res.exception}")
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


def transform(
    warehouse: Path | None = None, select: str | None = None, quiet: bool = True, unit_tests: bool = False
) -> TransformResult:
    """``dbt build`` (without dbt's unit tests unless ``unit_tests``), then the audit counts per entity."""
    check_seeds()  # a hand-broken value map: exit 2 naming its file and line, before dbt runs
    warehouse = warehouse or settings.warehouse_path()
    extra = ["--select", select] if select else []
    if not unit_tests:
        extra += NIGHTLY_EXCLUDE
    crashpoint("transform.before_dbt")
    result = summarize(run_dbt("build", extra, warehouse=warehouse, quiet=quiet))
    crashpoint("transform.after_dbt")
    if wh.current(warehouse).exists():
        result.per_entity = audit_counts(warehouse)
    return result


def transform_stage(run_id: str) -> StageOutcome:
    """The transform step of ``p2c run``: raises ``InvariantFailed`` when dbt build fails, and
    ``ConfigError`` (naming the file) when dbt could not load a seed."""
    result = transform()
    if result.seed_errors:  # a value map is configuration, not an invariant
        path, message = result.seed_errors[0]
        raise ConfigError(path, message or "dbt could not load this seed")
    if not result.success:
        raise InvariantFailed("; ".join(result.failures[:5]) or "dbt build failed")
    return StageOutcome(counts=result.per_entity, detail={"models": result.models, "tests": result.tests,
                                                         "unit_tests": result.unit_tests})


def with_canonical_counts(outcome: StageOutcome) -> StageOutcome:
    """``outcome`` with the rows of each canonical table (``canonical.customers`` → ``customer``)
    as its entity's ``canonical`` count, for the run's summary."""
    with wh.current().connect(read_only=True) as conn:
        for name in conn.tables("canonical"):
            records = conn.execute(f'select count(*) from canonical."{name}"').fetchone()[0]
            outcome.counts.setdefault(name.removesuffix("s"), {})["canonical"] = records
    return outcome
