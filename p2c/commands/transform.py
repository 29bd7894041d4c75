"""``p2c transform``: run ``dbt build`` on the warehouse and say what it found.

dbt runs in-process through its Python API (``dbtRunner``) with the project's own
``profiles.yml`` (DuckDB file from ``P2C_WAREHOUSE``); its target and log directories live beside
the warehouse so runs on different warehouses never share them. Afterwards the audit models
give the conflicts and quarantined rows per entity. :func:`transform_stage` is the same step for
``p2c run`` (a failed dbt test stops the run before the writeback). The nightly build leaves out
dbt's unit tests (development tests of the SQL on fixed inputs, ~3 of ~16 s on the sandbox's
``small``); ``--unit-tests``, ``dbt build`` by hand and the test suite run them.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from p2c import preflight
from p2c_core import settings, warehouse as wh
from p2c_core.crashpoints import crashpoint
from p2c_core.errors import ConfigError

PROJECT_DIR = settings.PROJECT_DIR  # the dbt project and its profiles.yml
EXIT_OK, EXIT_CONFIG, EXIT_FAILED = 0, 2, 4
# the nightly build leaves dbt's unit tests out (``--unit-tests`` runs them)
NIGHTLY_EXCLUDE = ["--exclude", "resource_type:unit_test"]

console = Console()


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


def dbt_args(command: str, warehouse: Path, extra: list[str] | None = None, target: str | None = None) -> list[str]:
    """The dbt CLI arguments for this project and warehouse (``target``: the profile's target;
    by default the one ``[warehouse] destination`` chooses)."""
    work = warehouse.parent
    target_path = os.environ.get("DBT_TARGET_PATH") or str(work / "dbt_target")
    logs = os.environ.get("DBT_LOG_PATH") or str(work / "dbt_logs")
    return [
        command,
        "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(PROJECT_DIR),
        "--target-path", target_path,
        "--log-path", logs,
        "--target", target or wh.current(warehouse).dbt_target,
        *(extra or []),
    ]


def run_dbt(
    command: str = "build", extra: list[str] | None = None, warehouse: Path | None = None, quiet: bool = True
):
    """Invoke dbt in-process on the warehouse; returns dbt's ``dbtRunnerResult``."""
    from dbt.cli.main import dbtRunner

    warehouse = warehouse or settings.warehouse_path()
    target = prepare_dbt(warehouse, builds=command in ("build", "run", "test"))
    args = dbt_args(command, warehouse, extra, target=target)
    try:
        # dbt's own lines (its errors, even with --quiet) go to stderr: stdout is p2c's (`--json`)
        with contextlib.redirect_stdout(sys.stderr):
            runner = dbtRunner(manifest=_parsed(warehouse, target), callbacks=[_on_dbt_event])
            return runner.invoke((["--quiet"] if quiet else []) + args)
    finally:
        _release_warehouse()


def prepare_dbt(warehouse: Path, builds: bool = True) -> str:
    """Set up the environment dbt's profile reads for the configured warehouse; returns the target.

    ``builds``: dbt will read ``p2c_sync`` (a build), so it must exist: dbt-duckdb's plugin
    creates it on DuckDB; dbt-postgres has no plugins, so it is created here."""
    from p2c_core import sync_schema

    warehouse.parent.mkdir(parents=True, exist_ok=True)
    store = wh.current(warehouse)
    os.environ["P2C_WAREHOUSE"] = str(warehouse)
    os.environ.update(store.dbt_env())  # the postgres target's connection (its password as a dbt secret)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    if builds and store.destination != "duckdb":
        with store.connect() as conn:
            sync_schema.ensure(conn)
    return store.dbt_target


# a long-lived process (`p2c watch`) keeps dbt's parsed project between invocations
_KEPT: dict = {"on": False, "digest": None, "manifest": None}


def keep_parsed(on: bool) -> None:
    """Keep dbt's parsed project (its manifest) in this process between builds; it is parsed
    again when a model, macro, seed or data test changes."""
    _KEPT.update(on=on, digest=None, manifest=None)


def _parsed(warehouse: Path, target: str | None):
    if not _KEPT["on"]:
        return None
    from dbt.cli.main import dbtRunner

    from p2c.inputs import project_digest

    digest = project_digest()
    if digest != _KEPT["digest"]:
        with contextlib.redirect_stdout(sys.stderr):
            res = dbtRunner().invoke(["--quiet", *dbt_args("parse", warehouse, target=target)])
        _KEPT.update(digest=digest if res.success else None, manifest=res.result if res.success else None)
    return _KEPT["manifest"]


def _on_dbt_event(event) -> None:
    """dbt's event callback: a model or seed finished building (a crash point between models)."""
    if event.info.name == "NodeFinished":
        crashpoint("transform.model_built")


def _release_warehouse() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after an invocation, so
    the next stage can open the file in any mode (DuckDB refuses a second configuration)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV  # (no-op on other targets: dbt-duckdb opened nothing)
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()


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
    from p2c_core import warehouse as wh

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
    preflight.seeds()  # a hand-broken value map: exit 2 naming its file and line, before dbt runs
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


def transform_stage(run_id: str):
    """The transform step of ``p2c run``: raises ``InvariantFailed`` when dbt build fails, and
    ``ConfigError`` (naming the file) when dbt could not load a seed."""
    from p2c.run import InvariantFailed
    from p2c_core.runs import StageOutcome

    result = transform()
    if result.seed_errors:  # a value map is configuration, not an invariant
        path, message = result.seed_errors[0]
        raise ConfigError(path, message or "dbt could not load this seed")
    if not result.success:
        raise InvariantFailed("; ".join(result.failures[:5]) or "dbt build failed")
    return StageOutcome(counts=result.per_entity, detail={"models": result.models, "tests": result.tests,
                                                         "unit_tests": result.unit_tests})


def _print(result: TransformResult) -> None:
    status = "[green]ok[/green]" if result.success else "[red]failed[/red]"
    units = result.unit_tests or "not run (--unit-tests)"
    console.print(f"dbt build {status}: models {result.models or {}}, tests {result.tests or {}}, unit tests {units}")
    table = Table("entity", "conflicts", "open conflicts", "quarantined", title="per entity")
    for entity, c in result.per_entity.items():
        table.add_row(entity, str(c.get("conflicts", 0)), str(c.get("open_conflicts", 0)), str(c.get("quarantined", 0)))
    console.print(table)
    for failure in result.failures:
        console.print(f"[red]{failure}[/red]")


def register(app: typer.Typer) -> None:
    @app.command("transform")
    def transform_command(
        select: Optional[str] = typer.Option(None, "--select", "-s", help="dbt node selection (default: everything)."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Show dbt's own log of every node."),
        unit_tests: bool = typer.Option(
            False, "--unit-tests", help="Also run the dbt unit tests (development tests of the SQL; the nightly build leaves them out)."),
    ) -> None:
        """Run [bold]dbt build[/bold] on the warehouse (staging, mapping, merge, canonical, audit,
        writeback models and their data tests) and report models, tests, conflicts and quarantined
        rows per entity. Exit 0 when everything passed, 2 when a seed (value map) is malformed, 4 when
        a model or test failed."""
        try:
            result = transform(settings.warehouse_path(), select=select, quiet=not verbose, unit_tests=unit_tests)
        except ConfigError as err:
            console.print(f"[red]not started:[/red] {err}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_CONFIG) from None
        _print(result)
        raise typer.Exit(EXIT_OK if result.success else EXIT_FAILED)
