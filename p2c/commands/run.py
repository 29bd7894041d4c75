"""``p2c run``: the nightly job, extract → dbt build → writeback → report, as one run."""

from __future__ import annotations

import dataclasses
import json
import sys

import typer
from rich.console import Console

from p2c.commands.listing import show_table
from p2c.lock import LockHeld
from p2c.run import (
    EXIT_CONFIG,
    EXIT_LOCKED,
    SUMMARY_COLUMNS,
    RunSummary,
    StageRecord,
    by_canonical_entity,
    default_pipeline,
    execute,
    iter_summary_rows,
)
from p2c_core.errors import ConfigError

RUN_HELP = (
    "Run the whole sync once: extract both systems, dbt build, write the differences back, "
    "write the report. Holds a lock: a second run exits at once with code 3.\n\n"
    "Exit codes: 0 all written; 1 the run completed but some records failed or wait (p2c errors); "
    "2 configuration or connection error before anything was written; 3 another run holds the "
    "lock; 4 a dbt test guarding an invariant failed, nothing was written."
)


LABELS = {"canonical": "records", "changed_since_extract": "changed since extract"}


def _stage_printer(console: Console):
    def on_stage(stage: str, state: str, record: StageRecord | None) -> None:
        if stage == "preflight":  # a failed preflight prints its error and nothing else
            return
        if record is None:
            if stage == "preflight":  # a check, not a stage: its failure alone is printed
                return
            console.print(f"[bold]▶ {stage}[/bold]")
            return
        style = {"ok": "green", "partial": "yellow", "failed": "red"}.get(record.status, "white")
        console.print(f"  [{style}]{stage} {record.status}[/{style}] in {record.seconds:.1f}s"
                      + (f" — {record.message}" if record.message else ""))
        for entity, counts in by_canonical_entity(record.counts).items():
            shown = ", ".join(f"{LABELS.get(k, k)} {v:,}" for k, v in counts.items() if v)
            console.print(f"    {stage:<9} {entity:<15} {shown or 'nothing to do'}")

    return on_stage


class SetProgress:
    """The writeback's progress as ``p2c run`` prints it: one line per target set as it completes, in
    the plan's dependency order (currencies, units, customers, contacts, products, prices, documents),
    with its outcomes and, for records that wait, the first reason (a parent that failed or is
    quarantined). Salespeople are coupled in the transform (never written), so they have no line."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.totals: dict[tuple[str, str], int] = {}
        self.done: dict[tuple[str, str], int] = {}
        self.outcomes: dict[tuple[str, str], dict[str, int]] = {}
        self.waits: dict[tuple[str, str], str] = {}

    def start(self, system: str, entity_set: str, total: int) -> None:
        self.totals[(system, entity_set)] = self.totals.get((system, entity_set), 0) + total

    def outcome(self, entry) -> None:
        key = (entry.row.target_system, entry.row.target_set)
        counts = self.outcomes.setdefault(key, {})
        counts[entry.status] = counts.get(entry.status, 0) + 1
        if entry.status == "waiting" and key not in self.waits and entry.error_message:
            self.waits[key] = entry.error_message

    def advance(self, system: str, entity_set: str, n: int) -> None:
        key = (system, entity_set)
        self.done[key] = self.done.get(key, 0) + n
        if self.done[key] == self.totals.get(key):
            counts = ", ".join(f"{LABELS.get(k, k)} {v:,}" for k, v in sorted(self.outcomes.get(key, {}).items()))
            wait = f" — waits: {self.waits[key]}" if key in self.waits else ""
            self.console.print(f"    writeback {system} {entity_set}: {self.done[key]:,} of {self.totals[key]:,}"
                               f" ({counts}){wait}", highlight=False, soft_wrap=True)


def print_summary(summary: RunSummary, console: Console) -> None:
    show_table(f"run {summary.run_id}: {summary.status}", ("entity", *SUMMARY_COLUMNS),
               list(iter_summary_rows(summary)), right=SUMMARY_COLUMNS, out=console)


def run_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON (for schedulers)."),
) -> None:
    console = Console(stderr=as_json)
    try:
        pipeline = default_pipeline()
        if not as_json:  # each entity set's progress, in dependency order, as the writeback goes
            from reverse_etl.apply import run_stage

            pipeline = dataclasses.replace(pipeline, writeback=lambda run_id: run_stage(run_id, progress=SetProgress(console)))
        summary = execute(
            pipeline,
            on_stage=_stage_printer(console) if not as_json else (lambda *a: None),
            on_notice=lambda message: console.print(f"[yellow]{message}[/yellow]"),
        )
    except (LockHeld, ConfigError) as err:
        code = EXIT_LOCKED if isinstance(err, LockHeld) else EXIT_CONFIG
        if as_json:
            status = "locked" if code == EXIT_LOCKED else "failed"
            print(json.dumps({"status": status, "exit_code": code, "message": str(err)}))
        else:
            console.print(f"[red]not started:[/red] {err}", highlight=False, soft_wrap=True)
        raise typer.Exit(code) from None

    if as_json:
        sys.stdout.write(json.dumps(summary.as_json(), indent=2) + "\n")
    elif not summary.stages:  # nothing ran (the preflight stopped it): only the error
        console.print(f"[red]not started:[/red] {summary.message}", highlight=False, soft_wrap=True)
    else:
        if summary.stages:  # nothing ran (a refused secret, …): only the error, no empty table
            print_summary(summary, console)
        if summary.message and not summary.stages:
            console.print(f"[red]not started:[/red] {summary.message}")
        elif summary.message:
            console.print(f"[yellow]{summary.message}[/yellow]")
        if summary.report_path:
            console.print(f"report: {summary.report_path}")
    raise typer.Exit(summary.exit_code)


def register(app: typer.Typer) -> None:
    app.command("run", help=RUN_HELP)(run_cmd)
