"""What the list commands share: opening the warehouse, and showing a list as a table, JSON or CSV.

``p2c status``, ``conflicts``, ``couplings``, ``quarantine``, ``mappings`` and ``errors`` all print
the same way: a rich table on a terminal (identifiers never wrapped), plain fixed-width rows when
the output goes to a pipe or a file (one record per line, nothing cut: ``| head``, ``| grep`` and
logs stay readable), ``--json`` for scripts, ``--csv FILE`` (UTF-8 with a BOM, so Excel reads it)
for people who work in Excel.
"""

from __future__ import annotations

import csv
import json
import sys
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Sequence

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from p2c_core import settings

# a list command cannot start: no warehouse yet (a configuration matter), or a run holds it
EXIT_CONFIG, EXIT_BUSY = 2, 3

console = Console()


@contextmanager
def open_warehouse(read_only: bool = True) -> Iterator[Any]:
    """The warehouse for a command: exit 2 when there is none yet, 3 while a run holds it."""
    import duckdb

    from p2c_core import warehouse
    from p2c_core.errors import ConfigError

    try:
        store = warehouse.current()
        if not store.exists():
            console.print(f"[red]no warehouse at {store.describe()}[/red]: run [bold]p2c run[/bold] first "
                          "(or set P2C_WAREHOUSE)")
            raise typer.Exit(EXIT_CONFIG)
        conn = store.connect(read_only=read_only)
    except ConfigError as err:  # a bad [warehouse] setting, or a server that refuses the connection
        console.print(f"[red]cannot open the warehouse:[/red] {err}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_CONFIG)
    except duckdb.IOException as exc:  # another process (a run) holds the DuckDB file for writing
        console.print(f"[red]the warehouse is busy[/red] ({exc}); try again when the running p2c run has finished")
        raise typer.Exit(EXIT_BUSY)
    try:
        yield conn
    finally:
        conn.close()


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def write_csv(path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """One header row, then the rows; dict/list values as JSON (Excel reads UTF-8 with a BOM)."""
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(
                [json.dumps(row.get(c)) if isinstance(row.get(c), (dict, list)) else cell_text(row.get(c)) for c in columns]
            )


def emit(
    rows: list[dict[str, Any]],
    columns: Sequence[str],
    *,
    title: str,
    empty: str,
    csv_path: Path | None,
    as_json: bool,
    shown: Sequence[str] | None = None,
) -> None:
    if csv_path:
        write_csv(csv_path, rows, columns)
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
        return
    if not rows:
        console.print(empty)
    else:
        cols = shown or columns
        show_table(title, cols, [[cell_text(row.get(c)) for c in cols] for row in rows])
    if csv_path:
        console.print(f"{len(rows)} rows written to {csv_path}")


def plain_rows(columns: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[str] = ()) -> list[str]:
    """A table as fixed-width text lines, one per row, nothing cut or wrapped (pure)."""
    cells = [list(columns)] + [[" ".join(str(v).split()) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    return [
        "  ".join(v.rjust(w) if c in right else v.ljust(w) for c, v, w in zip(columns, r, widths)).rstrip()
        for r in cells
    ]


def show_table(
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Sequence[str] = (),
    out: Console | None = None,
) -> None:
    """A rich table on a terminal; plain rows (title, header, one line per row) on a pipe or file."""
    out = out or console
    if not out.is_terminal:
        out.out(Text.from_markup(title).plain, highlight=False)
        for line in plain_rows(columns, rows, right):
            out.out(line, highlight=False)
        return
    table = Table(title=title, title_justify="left")
    for col in columns:
        # identifiers stay whole on narrow terminals; free text folds
        table.add_column(col, overflow="fold", no_wrap=col in NO_WRAP_COLUMNS,
                         justify="right" if col in right else "left")
    for row in rows:
        table.add_row(*row)
    out.print(table)


NO_WRAP_COLUMNS = frozenset({"run_id", "record_key", "natural_key", "entity", "field", "owner", "outcome", "reason"})

CSV_OPTION = typer.Option(None, "--csv", help="Also write the list to this CSV file (opens in Excel).")
JSON_OPTION = typer.Option(False, "--json", help="Print as JSON instead of a table.")
