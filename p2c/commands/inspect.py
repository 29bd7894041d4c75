"""``p2c status``, ``p2c conflicts`` (and ``conflicts decide``), ``p2c couplings`` (and ``couplings uncouple``),
``p2c mappings``.

Read-only views of the warehouse for the people who run p2c: they open the warehouse read-only
(the exceptions: ``conflicts decide`` records a decision in ``p2c_sync.conflict_decisions``
that the next run applies; ``couplings uncouple`` removes a coupling and its base). Lists take
``--csv FILE`` for people who work in Excel and ``--json`` for scripts. The queries live in :mod:`p2c.inspect`, shared with the HTML report, and so does the
writer of a decision (:func:`p2c.inspect.record_decision`) and of an uncoupling
(:func:`p2c.inspect.uncouple`).
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from typing import Optional

import typer

from p2c import inspect
from p2c.commands.listing import (
    CSV_OPTION,
    JSON_OPTION,
    cell_text,
    console,
    emit as _emit,
    open_warehouse as _warehouse,
    show_table,
    write_csv,
)
from p2c_core import settings

EXIT_OK, EXIT_NOT_FOUND, EXIT_CONFIG, EXIT_BUSY = 0, 1, 2, 3


# --- status -------------------------------------------------------------------------------------

STATUS_COLUMNS = ("run_id", "status", "started_at", "seconds", *inspect.COUNT_COLUMNS, "message")


def status_cmd(
    limit: int = typer.Option(10, "--limit", "-n", help="How many runs to show, newest first."),
    csv_path: Optional[Path] = CSV_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The last runs: status, start, duration and counts (created, updated, conflicts, failed, …)."""
    with _warehouse() as conn:
        runs = inspect.recent_runs(conn, limit)
    rows = [{**{k: v for k, v in r.items() if k != "counts"}, **{c: r["counts"].get(c, 0) for c in inspect.COUNT_COLUMNS}}
            for r in runs]
    shown = ("run_id", "status", "started_at", "seconds", "extracted", "created", "updated", "conflicts",
             "quarantined", "failed", "waiting")
    _emit(rows, STATUS_COLUMNS, title="last runs (newest first)", empty="no run recorded yet: [bold]p2c run[/bold]",
          csv_path=csv_path, as_json=as_json, shown=shown)


# --- conflicts ----------------------------------------------------------------------------------

conflicts_app = typer.Typer(
    help="Conflicts the last run found; `p2c conflicts decide …` settles an open one on the next run.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@conflicts_app.callback()
def conflicts_cmd(
    ctx: typer.Context,
    all_: bool = typer.Option(False, "--all", help="Also the conflicts the policy settled (owner wins, …)."),
    entity: Optional[str] = typer.Option(None, "--entity", help="Only this canonical entity (customer, order, …)."),
    csv_path: Optional[Path] = CSV_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """List open conflicts (manual policy, undecided): both values, the base, the owner, any decision taken."""
    if ctx.invoked_subcommand:
        return
    with _warehouse() as conn:
        rows = inspect.conflicts(conn, open_only=not all_, entity=entity)
    shown = ("entity", "record_key", "field", "crm_value", "erp_value", "owner", "outcome", "decision")
    _emit(rows, (*inspect.CONFLICT_COLUMNS, "decision"), title="open conflicts" if not all_ else "conflicts",
          empty="no open conflict" if not all_ else "no conflict", csv_path=csv_path, as_json=as_json, shown=shown)
    if rows and not all_ and not as_json:
        console.print("decide one with [bold]p2c conflicts decide <entity> <record_key> <field> --take crm|erp[/bold] "
                      "or [bold]--value V[/bold]; the next run applies it")


@conflicts_app.command("decide")
def decide_cmd(
    entity: str = typer.Argument(..., help="Canonical entity, e.g. customer."),
    record_key: str = typer.Argument(..., help="Canonical record key, e.g. 'usmf|ACC-00007'."),
    field: str = typer.Argument(..., help="Canonical field, e.g. phone."),
    take: Optional[str] = typer.Option(None, "--take", help="Keep this system's value: crm or erp."),
    value: Optional[str] = typer.Option(None, "--value", help="Write this value to both systems instead."),
) -> None:
    """Record how to settle one conflict; the next `p2c run` writes it and the conflict closes."""
    if (take is None) == (value is None):
        console.print("[red]give exactly one of --take crm|erp or --value V[/red]")
        raise typer.Exit(EXIT_CONFIG)
    if take is not None and take not in ("crm", "erp"):
        console.print(f"[red]--take must be crm or erp, not {take!r}[/red]")
        raise typer.Exit(EXIT_CONFIG)
    with _warehouse(read_only=False) as conn:
        conflict = inspect.find_conflict(conn, entity, record_key, field)
        if conflict is None:
            console.print(f"[red]no conflict on {entity} {record_key} {field}[/red] in the last run: "
                          "[bold]p2c conflicts[/bold] lists them")
            raise typer.Exit(EXIT_NOT_FOUND)
        inspect.record_decision(conn, entity, record_key, field, take or "value", value, getpass.getuser())
    chosen = f"the {take.upper()} value {conflict[f'{take}_value']!r}" if take else f"the value {value!r}"
    if not conflict["is_open"]:
        console.print(f"[yellow]note[/yellow]: this conflict was already settled by policy ({conflict['outcome']}); "
                      "the decision applies if the merge holds it again")
    console.print(f"recorded: {entity} {record_key} {field} ← {chosen}; the next [bold]p2c run[/bold] applies it")


# --- couplings ----------------------------------------------------------------------------------

couplings_app = typer.Typer(
    help="Which CRM record is which ERP record and how they were coupled; `p2c couplings uncouple …` removes one.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@couplings_app.callback()
def couplings_cmd(
    ctx: typer.Context,
    entity: Optional[str] = typer.Option(None, "--entity", help="Only this canonical entity."),
    key: Optional[str] = typer.Option(None, "--key", help="A record key, CRM GUID or ERP key value (e.g. ACC-00001)."),
    limit: int = typer.Option(200, "--limit", "-n", help="At most this many couplings (0: all)."),
    csv_path: Optional[Path] = CSV_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Which CRM record is which ERP record and how they were coupled (same natural key, matched on the fields
    of a match rule, created by p2c, by hand); with --key also the merge base and the latest writes of that record."""
    if ctx.invoked_subcommand:
        return
    with _warehouse() as conn:
        rows = inspect.couplings(conn, entity=entity, key=key, limit=limit or None)
        pending = inspect.pending_matches(conn, entity) if not key else {}
        details = []
        if key and len(rows) <= 5:
            details = [
                {"coupling": r, "base": inspect.sync_base(conn, r["entity"], r["record_key"]),
                 "writes": inspect.write_history(conn, r["record_key"])}
                for r in rows
            ]
    if as_json and key:
        if csv_path:
            write_csv(csv_path, rows, inspect.COUPLING_COLUMNS)
        sys.stdout.write(json.dumps(details or rows, indent=2, default=str) + "\n")
        return
    shown = ("entity", "record_key", "company", "crm_id", "erp_key", "how", "run_id", "coupled_at")
    _emit(rows, inspect.COUPLING_COLUMNS, title="couplings", csv_path=csv_path, as_json=as_json, shown=shown,
          empty="no coupling matches" if (key or entity) else "no record is coupled yet")
    if as_json:
        return
    if pending.get("matched"):
        console.print(f"{pending['matched']} pair(s) matched by the last build are coupled once the next "
                      "[bold]p2c run[/bold] writes them (audit.matches)")
    if pending.get("ambiguous"):
        console.print(f"[yellow]{pending['ambiguous']} record(s) match more than one counterpart[/yellow] and wait in "
                      "[bold]p2c quarantine[/bold] (ambiguous_match) with the candidates listed")
    for d in details:
        c = d["coupling"]
        if d["base"]:
            cols = ("field", "value", "run_id", "updated_at")
            show_table(f"base of {c['entity']} {c['record_key']} (last value agreed on both sides)", cols,
                       [[cell_text(b[col]) for col in cols] for b in d["base"]])
        if d["writes"]:
            cols = ("logged_at", "system", "entity", "operation", "status", "http_status", "error_message")
            show_table(f"latest writes of {c['record_key']}", cols,
                       [[cell_text(w[col]) for col in cols] for w in d["writes"]])


@couplings_app.command("uncouple")
def uncouple_cmd(
    entity: str = typer.Argument(..., help="Canonical entity, e.g. customer."),
    record_key: str = typer.Argument(..., help="Canonical record key, e.g. 'usmf|ACC-00007' (p2c couplings lists them)."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Remove one coupling and its merge base; the next `p2c run` pairs the two records again by natural key or
    match rule (or, if neither pairs them, treats each as a record of one system only)."""
    with _warehouse(read_only=False) as conn:
        found = inspect.couplings(conn, entity=entity, key=record_key, limit=None)
        found = [r for r in found if r["entity"].lower() == entity.lower() and r["record_key"] == record_key]
        if not found:
            console.print(f"[red]no coupling of {entity} {record_key}[/red]: [bold]p2c couplings --entity {entity}[/bold] "
                          "lists them", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_NOT_FOUND)
        c = found[0]
        console.print(f"{c['entity']} {c['record_key']}: CRM {c['crm_id'] or '-'} ↔ ERP {c['erp_key'] or '-'} "
                      f"({c['how']}, since {cell_text(c['coupled_at'])})", highlight=False, soft_wrap=True)
        if not yes and not typer.confirm("remove this coupling and its merge base?", default=False):
            console.print("nothing changed")
            raise typer.Exit(EXIT_NOT_FOUND)
        inspect.uncouple(conn, c["entity"], c["record_key"])
    console.print(f"uncoupled {c['entity']} {c['record_key']}; the next [bold]p2c run[/bold] couples the records "
                  "again by natural key or match rule (seeds/match_rules.csv), as a first sync")


# --- mappings -----------------------------------------------------------------------------------


def mappings_cmd(
    entity: Optional[str] = typer.Argument(None, help="Only this entity (customer, order_line, …) or entity set."),
    csv_path: Optional[Path] = CSV_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The field map as you review a template's mapping: per target field, its source field or constant,
    the value map or transformation, its owner and direction. Read from the dbt models and seeds themselves."""
    from p2c import mappings

    known = mappings.entities(settings.PROJECT_DIR)
    if entity and not any(mappings.matches(e, entity) for e in known):
        console.print(f"[red]no entity {entity!r}[/red]; the entities (or give one of their entity sets):",
                      highlight=False, soft_wrap=True)
        for e in known:
            console.print(f"  {e['entity']:<14} CRM {e.get('crm_set') or '-'}, ERP {e.get('erp_set') or '-'}",
                          highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_NOT_FOUND)
    warehouse = settings.warehouse_path()
    try:
        compiled = mappings.compiled_models(settings.PROJECT_DIR, warehouse)
    except RuntimeError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_CONFIG)
    rows = [r.as_dict() for r in mappings.field_mappings(settings.PROJECT_DIR, compiled, entity)]
    if csv_path:
        write_csv(csv_path, rows, mappings.COLUMNS)
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if not rows:
        console.print(f"no mapping for {entity!r}" if entity else "no mapping found")
        raise typer.Exit(EXIT_NOT_FOUND)
    shown = ("target_field", "source_field", "value_map", "transformation", "owner", "when")
    groups: dict[tuple[str, str, str, str], list[dict[str, str]]] = {}
    for r in rows:
        groups.setdefault((r["entity"], r["direction"], r["target_set"], r["model"]), []).append(r)
    for (ent, direction, target_set, model), group in groups.items():
        source_set = next((g["source_set"] for g in group if g["source_set"]), "")
        title = f"{ent}: {direction}  {source_set} → {target_set}" + (f"  [dim]({model})[/dim]" if model else "  [dim](no writeback model yet)[/dim]")
        show_table(title, shown, [[g[c] for c in shown] for g in group])
    if csv_path:
        console.print(f"{len(rows)} rows written to {csv_path}")


# --- quarantine ---------------------------------------------------------------------------------


def quarantine_cmd(
    entity: Optional[str] = typer.Option(None, "--entity", help="Only this canonical entity (customer, order, …)."),
    csv_path: Optional[Path] = CSV_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Source records the models could not map, each with its reason code and a sentence saying why."""
    with _warehouse() as conn:
        rows = inspect.quarantine(conn, entity)
    shown = ("system", "entity_set", "natural_key", "company", "reason", "reason_text")
    _emit(rows, inspect.QUARANTINE_COLUMNS, title=f"quarantined records ({len(rows)})",
          empty="nothing quarantined", csv_path=csv_path, as_json=as_json, shown=shown)


def register(app: typer.Typer) -> None:
    app.command("status")(status_cmd)
    app.command("quarantine")(quarantine_cmd)
    app.add_typer(conflicts_app, name="conflicts")
    app.add_typer(couplings_app, name="couplings")
    app.command("mappings")(mappings_cmd)
