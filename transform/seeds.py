"""The seed check: a value map edited by hand and broken is a configuration error before dbt runs.

dbt loads the value maps (``seeds/*.csv``) as seeds; a malformed one would fail mid-build in
DuckDB's CSV sniffer. :func:`check_seeds` names the file and line instead (a ``ConfigError``: exit 2).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from p2c_core.errors import ConfigError
from p2c_core.settings import PROJECT_DIR, shown

SEEDS_DIR = PROJECT_DIR / "seeds"
# seed column types (``column_types`` in seeds/_seeds.yml) whose values must parse, and how
_TYPE_CHECKS = {"integer": int, "bigint": int, "smallint": int, "double": float, "decimal": float}


def seed_problem(text: str, column_types: dict[str, str] | None = None) -> str | None:
    """What is wrong with one seed CSV's text, as ``line N: …``; None when dbt can load it (pure).

    Every row has the header's number of fields, quotes close, and values of the typed columns
    (integer, …) parse; blank lines are skipped, as dbt does."""
    rows = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(rows, None)
        if not header:
            return "line 1: the file is empty (a seed needs its header line)"
        header = [h.strip() for h in header]
        missing = [c for c in (column_types or {}) if c not in header]
        if missing:
            return f"line 1: the header lacks the column(s) {', '.join(missing)} (it has: {', '.join(header)})"
        checks = {header.index(c): (c, t, _TYPE_CHECKS[t.lower()]) for c, t in (column_types or {}).items()
                  if t.lower() in _TYPE_CHECKS}
        start = rows.line_num + 1  # the line a row starts on (a quoted field may span lines)
        for row in rows:
            if not row:
                start = rows.line_num + 1
                continue
            if len(row) != len(header):
                return f"line {start}: {len(row)} fields where the header has {len(header)} ({', '.join(header)})"
            for i, (column, type_, parse) in checks.items():
                value = row[i].strip()
                if value:
                    try:
                        parse(value)
                    except ValueError:
                        return f"line {rows.line_num}: {column} is {type_}, not {value!r}"
            start = rows.line_num + 1
    except csv.Error as err:
        if "unexpected end of data" in str(err):
            return f"line {start}: a quote opened on this line is never closed"
        return f"line {start}: {err}"
    return None


def check_seeds(seeds_dir: Path | None = None) -> None:
    """Raise ConfigError naming the first seed file (and its line) that dbt could not load."""
    import yaml

    seeds_dir = seeds_dir or SEEDS_DIR
    declared = yaml.safe_load((seeds_dir / "_seeds.yml").read_text(encoding="utf-8")) if (seeds_dir / "_seeds.yml").exists() else {}
    types = {s["name"]: (s.get("config") or {}).get("column_types") or {} for s in (declared or {}).get("seeds", [])}
    for path in sorted(seeds_dir.glob("*.csv")):
        try:
            problem = seed_problem(path.read_text(encoding="utf-8"), types.get(path.stem))
        except UnicodeDecodeError as err:
            line = path.read_bytes()[: err.start].count(b"\n") + 1
            problem = f"line {line}: not UTF-8 text ({err.reason})"
        if problem:
            raise ConfigError(shown(path), f"{problem}; fix the file (it is a value map dbt loads as a seed)")
