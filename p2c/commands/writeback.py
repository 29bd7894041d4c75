"""``p2c plan``, ``p2c writeback`` and ``p2c errors``: the reverse ETL's commands.

``plan`` is a dry run over the ``writeback`` models (:mod:`reverse_etl.dry_run`; the warehouse is
opened read-only, nothing is written anywhere); ``writeback`` applies it under the run lock with
progress per entity set;
``errors`` lists the records whose latest write did not go through, in the service's own words, and
the writes skipped because the target will not take them (with the reason).
Exit codes: 0 all written, 1 some records failed or wait, 2 configuration/connection error before
anything was written, 3 another run holds the lock.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from p2c.commands.listing import console, emit, open_warehouse

EXIT_OK, EXIT_PARTIAL, EXIT_CONFIG, EXIT_LOCKED = 0, 1, 2, 3


# --- plan ---------------------------------------------------------------------------------------


def _refresh() -> int:
    """Extract and transform (writing nothing to either system), as the next run would: its exit code."""
    from rich.console import Console

    from p2c.lock import LockHeld
    from p2c.run import default_pipeline, execute

    progress = Console(stderr=True)  # stdout stays the plan's (JSON with --json)
    try:
        summary = execute(default_pipeline(), dry_run=True,
                          on_stage=lambda stage, state, record: progress.print(f"[dim]plan: {stage}…[/dim]")
                          if record is None else None)
    except LockHeld as held:
        progress.print(f"[red]not started:[/red] {held}")
        return EXIT_LOCKED
    if summary.status == "failed":
        progress.print(f"[red]refresh failed:[/red] {summary.message}")
        return summary.exit_code or EXIT_PARTIAL
    return EXIT_OK


def plan_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON (for machines)."),
    entity: Optional[str] = typer.Option(None, "--entity", help="Only this canonical entity or entity set."),
    key: Optional[str] = typer.Option(None, "--key", help="Show the field-by-field change (old → new) of this record key."),
    refresh: bool = typer.Option(
        True, "--refresh/--no-refresh",
        help="Extract and transform first (default), so the plan is what the next run would write; "
             "--no-refresh plans from the last transform and says which extract it reflects."),
) -> None:
    """Dry run: what the next run would create, update, deactivate, and what waits or is held.

    By default it refreshes first (extract both systems and transform, under the run lock),
    writing nothing to either system. With --no-refresh it reads the last transform's writeback
    models, names the extract they reflect, and counts records written since as applied, not pending.
    """
    from reverse_etl.dry_run import applied_since, plan_basis, plan_report

    if refresh and (code := _refresh()) != EXIT_OK:
        raise typer.Exit(code)
    with open_warehouse(read_only=True) as conn:
        basis = plan_basis(conn)
        applied = None if refresh else applied_since(conn, basis["transformed_at"])
        report = plan_report(conn, entity, key, applied)
    report["basis"] = {**basis, "refreshed": refresh}
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2, default=str) + "\n")
        return
    if not refresh:
        if basis["extract_run_id"]:
            console.print(f"plan from the last transform (run {basis['transform_run_id']}, {basis['transformed_at']:%Y-%m-%d %H:%M} UTC),"
                          f" which reflects the extract of run {basis['extract_run_id']} ({basis['extracted_at']:%Y-%m-%d %H:%M} UTC);"
                          " records written since are counted as applied")
        else:
            console.print("plan from the writeback models as they are: no recorded extract or transform")
    table = Table(title="writeback plan")
    for col in ("system", "entity set", "entity"):
        table.add_column(col, no_wrap=True)
    columns = ("create", "update", "deactivate", "waiting", "held", "skipped") + (() if refresh else ("applied_since",))
    for col in columns:
        table.add_column({"deactivate": "deact.", "applied_since": "applied since"}.get(col, col), justify="right")
    for s in report["entities"]:
        table.add_row(s["system"], s["entity_set"], s["entity"], *(str(s[c]) for c in columns))
    console.print(table)
    console.print(f"base updates without any write: {report['base_updates']}")
    for rec in report.get("records", []):
        console.print(f"\n[bold]{rec['system']} {rec['entity_set']} {rec['record_key']}[/bold]: {rec['operation']}"
                      + (f" [yellow](waits: {rec['waiting_for']})[/yellow]" if rec["waiting_for"] else ""))
        for field, change in sorted(rec["changes"].items()):
            old, new = (change.get("old"), change.get("new")) if isinstance(change, dict) else (None, change)
            console.print(f"  {field}: {old!r} → {new!r}")
    if key and not report.get("records"):
        console.print(f"no planned write for record key {key!r}")


# --- writeback ----------------------------------------------------------------------------------


class _RichProgress:
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[tuple[str, str], int] = {}

    def start(self, system: str, entity_set: str, total: int) -> None:
        self.tasks[(system, entity_set)] = self.progress.add_task(f"{system} {entity_set}", total=total)

    def advance(self, system: str, entity_set: str, n: int) -> None:
        task = self.tasks.get((system, entity_set))
        if task is not None:
            self.progress.advance(task, n)


def writeback_cmd(
    run_id: Optional[str] = typer.Option(None, "--run-id", help="Run id to log under (default: a new one)."),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome counts as JSON."),
) -> None:
    """Apply the plan to both systems: batched, dependency-ordered, guarded by If-Match."""
    from p2c.lock import LockHeld, run_lock
    from p2c_core import settings
    from p2c_core.errors import ConfigError
    from p2c_core.runs import new_run_id
    from reverse_etl.apply import Writeback
    from reverse_etl.clients import make_clients
    from reverse_etl.config import load_config

    run_id = run_id or new_run_id()
    try:
        config = load_config()
        clients = make_clients(max_connections=max(8, config.concurrency))
    except (ConfigError, ValueError) as exc:
        console.print(f"[red]configuration error[/red]: {exc}")
        raise typer.Exit(EXIT_CONFIG)
    try:
        with run_lock(settings.lock_path(), run_id), open_warehouse(read_only=False) as conn:
            columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
            with Progress(*columns, console=console, disable=as_json) as progress:
                result = Writeback(conn, clients, config, run_id=run_id, progress=_RichProgress(progress)).run()
    except LockHeld as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_LOCKED)
    finally:
        for c in clients.values():
            c.close()
    counts = {k: dict(v) for k, v in sorted(result.counts.items())}
    if as_json:
        sys.stdout.write(json.dumps({"run_id": run_id, "counts": counts, "base_updates": result.base_updates,
                                     "http_requests": result.http_requests}, indent=2) + "\n")
    else:
        table = Table(title=f"writeback {run_id}")
        statuses = ("written", "failed", "changed_since_extract", "waiting", "skipped")
        for col in ("system:entity set", *statuses):
            table.add_column(col)
        for k, c in counts.items():
            table.add_row(k, *(str(c.get(s, 0)) for s in statuses))
        console.print(table)
        console.print(f"{result.records_attempted} records in {result.http_requests} HTTP requests; "
                      f"{result.base_updates} base updates without a write")
        if not result.clean:
            console.print("some records did not go through: [bold]p2c errors[/bold] lists them; the next run retries them")
    raise typer.Exit(EXIT_OK if result.clean else EXIT_PARTIAL)


# --- errors -------------------------------------------------------------------------------------

def errors_cmd(
    entity: Optional[str] = typer.Option(None, "--entity", help="Only this entity set (e.g. accounts, CustomersV3)."),
    key: Optional[str] = typer.Option(None, "--key", help="Only this record key."),
    system: Optional[str] = typer.Option(None, "--system", help="crm or erp."),
    csv_path: Optional[Path] = typer.Option(None, "--csv", help="Also write the list to this CSV file."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Records whose latest write failed, changed since extraction or waits, with the service's own
    message, and the writes the target will not take by its rules (a posted order, a blocked
    customer: skipped, with the reason; they stay skipped until the record changes)."""
    from reverse_etl import store

    with open_warehouse(read_only=True) as conn:
        rows = store.read_errors(conn, entity=entity, key=key, system=system)
    shown = ("system", "entity", "record_key", "status", "http_status", "error_code", "error_message", "attempt")
    emit(rows, store.LOG_COLUMNS, title="writeback errors (the next run retries them) and skipped records (with the reason)",
         empty="no failed, waiting or skipped records in the latest writeback", csv_path=csv_path, as_json=as_json,
         shown=shown)


def register(app: typer.Typer) -> None:
    app.command("plan")(plan_cmd)
    app.command("writeback")(writeback_cmd)
    app.command("errors")(errors_cmd)
