"""``p2c transform``: run the transform stage (``dbt build``) on the warehouse and say what it found.

The stage itself is :mod:`transform.stage`; this module is the command and its console output:
models, tests, unit tests, and conflicts and quarantined rows per entity.
"""

from __future__ import annotations

from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from p2c_core import settings
from p2c_core.errors import ConfigError
from transform.stage import TransformResult, transform

EXIT_OK, EXIT_CONFIG, EXIT_FAILED = 0, 2, 4

console = Console()


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
