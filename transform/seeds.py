"""The seed checks: a seed that dbt cannot load, or a company map that does not match the systems,
is a configuration error before dbt runs.

dbt loads the value maps (``seeds/*.csv``) as seeds; a malformed one would fail mid-build in
DuckDB's CSV sniffer. :func:`check_seeds` names the file and line instead (a ``ConfigError``: exit 2).
:func:`organisation` checks the company map against the organisations just extracted (where the
system playing the ERP role declares them: F&O's legal entities, BC's companies): a map that
names an organisation the ERP does not have, or a business unit the CRM does not have, would send
every record of that company to quarantine or, worse, to the wrong company.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from p2c_core import warehouse as wh
from p2c_core.errors import ConfigError
from p2c_core.settings import DATASET_NAMES, PROJECT_DIR, shown

SEEDS_DIR = PROJECT_DIR / "seeds"
# the canonical entities, their master, dependency order (`sequence`) and parent: the one list of
# them (dbt's canonical_entities() and each system's entity table are held to it by tests)
ENTITIES = SEEDS_DIR / "entities.csv"
# seed column types (``column_types`` in seeds/_seeds.yml) whose values must parse, and how
_TYPE_CHECKS = {"integer": int, "bigint": int, "smallint": int, "double": float, "decimal": float}


def canonical_entities(path: Path = ENTITIES) -> tuple[str, ...]:
    """The canonical entities in dependency order, as ``seeds/entities.csv`` declares them."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return tuple(row["entity"] for row in sorted(rows, key=lambda row: int(row["sequence"])))


def seed_file(name: str, project: Path = PROJECT_DIR) -> Path:
    """The file of the seed ``name`` that dbt loads with the systems now playing the roles: a playing
    system's own copy (``systems/<system>/seeds/<system>/<name>.csv``), else ``seeds/<name>.csv``
    (dbt loads one seed of a name: the enabled folders hold at most one)."""
    from transform.inputs import playing_paths

    homes = [root for root in playing_paths("seed", project) if root.relative_to(project).parts[0] == "systems"]
    found = [path for root in homes for path in sorted(root.glob(f"**/{name}.csv"))]
    return found[0] if found else project / "seeds" / f"{name}.csv"


def canonical_table(entity: str) -> str:
    """The canonical model (table in schema ``canonical``) of an entity: ``order_line`` → ``order_lines``."""
    return f"{entity}s"


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

    from transform.inputs import playing_paths

    homes = [path for path in playing_paths("seed") if path.is_relative_to(PROJECT_DIR / "systems")]
    roots = [seeds_dir] if seeds_dir else [SEEDS_DIR, *homes]
    files = [path for root in roots for path in sorted(root.glob("**/*.csv"))]
    seeds_dir = seeds_dir or SEEDS_DIR
    declared = yaml.safe_load((seeds_dir / "_seeds.yml").read_text(encoding="utf-8")) if (seeds_dir / "_seeds.yml").exists() else {}
    types = {s["name"]: (s.get("config") or {}).get("column_types") or {} for s in (declared or {}).get("seeds", [])}
    for path in files:
        try:
            problem = seed_problem(path.read_text(encoding="utf-8"), types.get(path.stem))
        except UnicodeDecodeError as err:
            line = path.read_bytes()[: err.start].count(b"\n") + 1
            problem = f"line {line}: not UTF-8 text ({err.reason})"
        if problem:
            raise ConfigError(shown(path), f"{problem}; fix the file (it is a value map dbt loads as a seed)")


def company_map_problems(
    rows: list[dict[str, str]], organisations: set[str], business_units: set[str], *, noun: str = "legal entity",
    column: str = "company", case_sensitive: bool = False,
) -> list[str]:
    """What is wrong with the company map against the two systems' organisations (pure): each row's
    ``column`` must name one of the ERP's ``organisations``, its business unit one of the CRM's."""
    problems = []
    known = organisations if case_sensitive else {e.lower() for e in organisations}  # F&O's dataAreaId: any case
    for row in rows:
        company, unit = (row.get(column) or "").strip(), (row.get("business_unit_name") or "").strip()
        if (company if case_sensitive else company.lower()) not in known:
            problems.append(
                f"{noun} {company!r} ({column}) does not exist in the ERP (it has: {', '.join(sorted(organisations)) or 'none'})"
            )
        if unit not in business_units:
            problems.append(
                f"business unit {unit!r} does not exist in the CRM (it has: {', '.join(sorted(business_units)) or 'none'})"
            )
    return problems


def organisation(warehouse: Path, company_map: Path | None = None) -> None:
    """Raise ConfigError when the company map (default: the one dbt loads) does not match the
    organisations just extracted: the ERP's, where the system playing the ERP role declares them
    (:class:`systems.Organisations`), and the CRM's business units."""
    from systems import system_for

    declared = system_for("erp").organisations
    company_map = company_map or seed_file("company_map")
    if declared is None:
        return
    with company_map.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with wh.current(warehouse).connect(read_only=True) as conn:
        try:
            found = {r[0] for r in conn.execute(
                f"select {declared.column} from {DATASET_NAMES['erp']}.{declared.table}").fetchall() if r[0] is not None}
            business_units = {r[0] for r in conn.execute(f"select name from {DATASET_NAMES['crm']}.businessunits").fetchall()}
        except wh.MissingTable:
            return  # not extracted (a partial extraction): dbt's own tests will speak
    problems = company_map_problems(rows, found, business_units, noun=declared.noun, column=declared.map_column,
                                    case_sensitive=declared.case_sensitive)
    if problems:
        raise ConfigError(shown(company_map), "; ".join(problems))
