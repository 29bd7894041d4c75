"""``p2c extract [crm|erp|all]``: load both systems into the warehouse's raw datasets.

Runs the dlt pipelines ``p2c_crm`` / ``p2c_erp`` (see ``pipelines/extract.py``) under the run
lock, with a progress line per entity (rows so far, pages) and a summary table at the end.
Exit codes: 0 loaded, 1 extraction failed (the message names the entity and URL), 2 configuration
or connection error before anything was read, 3 another run holds the lock.
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import List, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_LOCKED = 0, 1, 2, 3

console = Console(stderr=True)


class Target(str, Enum):
    crm = "crm"
    erp = "erp"
    all = "all"


def extract_cmd(
    target: Target = typer.Argument(Target.all, help="Which system to extract: crm, erp or all."),
    entity: Optional[List[str]] = typer.Option(
        None, "--entity", "-e", help="Only this entity set / collection (repeatable), e.g. accounts, CustomersV3."
    ),
    full_reload: bool = typer.Option(
        False, "--full-reload", help="Ignore stored delta links and modification marks: read every entity whole."
    ),
    max_connections: int = typer.Option(8, "--max-connections", min=1, help="HTTP connections per system."),
) -> None:
    """Extract Dynamics 365 Sales (Dataverse) and Finance & Operations into the warehouse.

    CRM tables merge on their primary key through change tracking (deleted rows keep their last
    values with _p2c_deleted = true); ERP tables are replaced whole per run, across all legal
    entities. The warehouse is P2C_WAREHOUSE (default warehouse/p2c.duckdb); dlt's working
    directory is beside it (dlt_pipelines/, or P2C_PIPELINES_DIR): inspect a run with
    `dlt pipeline --pipelines-dir <dir> p2c_crm info`.
    """
    from p2c.lock import LockHeld, run_lock
    from p2c_core import settings
    from p2c_core.connection import ROLES
    from p2c_core.errors import ConfigError
    from pipelines.extract import ExtractError, run_extract

    logging.basicConfig(level=logging.WARNING, handlers=[RichHandler(console=console, show_path=False)], format="%(message)s")
    systems = list(ROLES) if target is Target.all else [target.value]
    tasks: dict[tuple[str, str], int] = {}
    pages: dict[tuple[str, str], int] = {}
    rows: dict[tuple[str, str], int] = {}
    results = []
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<36}"),
        TextColumn("{task.fields[rows]:>10,} rows  {task.fields[pages]:>5} pages"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:

        def on_page(system: str, entity_set: str, n: int) -> None:
            key = (system, entity_set)
            if key not in tasks:
                tasks[key] = progress.add_task(f"{system} {entity_set}", total=None, rows=0, pages=0)
            rows[key] = rows.get(key, 0) + n
            pages[key] = pages.get(key, 0) + 1
            progress.update(tasks[key], rows=rows[key], pages=pages[key])

        try:
            with run_lock(settings.lock_path(), "extract"):
                results = run_extract(
                    systems,
                    entities=entity or None,
                    on_page=on_page,
                    full_reload=full_reload,
                    max_connections=max_connections,
                )
        except LockHeld as err:
            console.print(f"[red]{err}[/red]")
            raise typer.Exit(EXIT_LOCKED)
        except ConfigError as err:
            console.print(f"[red]configuration:[/red] {err}")
            raise typer.Exit(EXIT_CONFIG)
        except ExtractError as err:
            console.print(f"[red]extraction failed:[/red] {err}")
            raise typer.Exit(EXIT_FAILED)
        finally:
            for task in tasks.values():
                progress.update(task, completed=1, total=1)

    table = Table(title=f"extracted into {settings.warehouse_path()}")
    for column in ("system", "entity", "rows", "pages"):
        table.add_column(column, justify="right" if column in ("rows", "pages") else "left")
    for result in results:
        for entity_set, n in sorted(result.rows.items()):
            table.add_row(result.system, entity_set, f"{n:,}", str(result.pages[entity_set]))
        table.add_row(result.system, "[bold]total[/bold]", f"[bold]{result.total_rows:,}[/bold]", f"{result.seconds:.1f}s")
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("extract")(extract_cmd)
