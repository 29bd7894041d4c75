"""The field map as a person reviews a template's mapping, read from the dbt project itself.

Nothing here is a second copy of the mapping. Per canonical field, the seeds the models join say
how each system spells it (``systems/<erp>/seeds/<erp>/field_map.csv``: attribute, value map, lookup binding), who owns
it (``seeds/field_ownership.csv``, default the entity's master in ``seeds/entities.csv``) and the
conflict policy (``seeds/conflict_policy.csv``). Where a value comes from in the source system is
traced through the *compiled* SQL of the intermediate and staging models with sqlglot (the raw
column, the seed it is looked up in, the transformation). The constants and template defaults a
new record gets are read from the writeback models' ``writeback_rows(...)`` call.

Compiled SQL comes from the last ``dbt build`` of the warehouse (its ``dbt_target``) when that is
newer than the project's files, else from a ``dbt compile`` into a temporary directory.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import jinja2
import sqlglot
from sqlglot import exp

from systems import ROLES, other

COLUMNS = (
    "entity", "direction", "target_set", "target_field", "source_set", "source_field", "canonical_field",
    "value_map", "transformation", "owner", "policy", "when", "model",
)


@dataclass(frozen=True)
class MappingRow:
    entity: str
    direction: str  # "crm → erp"
    target_set: str
    target_field: str
    source_set: str
    source_field: str  # raw source column(s), or "constant 'Yes'" / "template: …"
    canonical_field: str
    value_map: str  # seed(s) the value is translated through
    transformation: str  # how the value is shaped on the way
    owner: str
    policy: str
    when: str  # "create + update", "create", "deactivate"
    model: str  # the writeback model that writes it, or "" when none exists yet

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


# --- reading the project ------------------------------------------------------------------------


def read_seed(project: Path, name: str) -> list[dict[str, str]]:
    """The rows of the seed dbt loads with the systems now playing the roles (a home's copy of a
    value map spelled in the ERP's codes, ``field_map`` among them, else ``seeds/<name>.csv``)."""
    from transform.seeds import seed_file

    path = seed_file(name, project)
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def _portable_macros(project: Path) -> dict[str, Callable[..., str]]:
    """The ``portable_json_*`` macros as they render on DuckDB (their ``default__`` forms, read from
    ``macros/portable_json.sql``), so a model's SQL fragments read as DuckDB SQL here."""
    module = jinja2.Environment().from_string((project / "macros" / "portable_json.sql").read_text(encoding="utf-8")).module

    def plain(macro):
        return lambda *args: " ".join(str(macro(*args)).split())

    return {name.removeprefix("default__"): plain(getattr(module, name)) for name in dir(module) if name.startswith("default__")}


class _CallableUndefined(jinja2.ChainableUndefined):
    """A macro of a system's home the stubs do not know (``bc_deep_insert_lines``) renders as ''."""

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        return ""


def writeback_models(project: Path) -> list[Path]:
    """The writeback models of the systems playing the roles: the role-neutral ``models/writeback/``
    and the writeback folders of the playing systems' homes."""
    from transform.inputs import playing_paths

    return sorted((path for root in playing_paths("model", project) for path in (root / "writeback").glob("**/*.sql")),
                  key=lambda p: p.name)


def writeback_model(project: Path, target: str, target_set: str) -> str:
    """The writeback model that writes ``target_set`` to ``target`` (``writeback.erp__sales_order_lines``),
    or '' — also where its rows come from a home's own model (BC's line writes, int_bc_*_line_writes)."""
    from p2c_core.entity import snake

    name = f"{target}__{snake(target_set)}" if target_set else ""
    return f"writeback.{name}" if name and any(p.stem == name for p in writeback_models(project)) else ""


def writeback_calls(project: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(entity, target) → the arguments of each writeback model's ``writeback_rows`` call, plus ``model``."""
    calls: dict[tuple[str, str], dict[str, Any]] = {}
    for path in writeback_models(project):
        seen: list[tuple[tuple, dict]] = []

        def capture(*args, **kwargs):
            seen.append((args, kwargs))
            return ""

        # render the model with dbt's functions stubbed: ref() keeps the model name, the macro call is captured
        env = jinja2.Environment(undefined=_CallableUndefined)
        env.from_string(path.read_text(encoding="utf-8")).render(
            writeback_rows=capture, ref=lambda name, *_: name, source=lambda a, b: f"{a}.{b}",
            config=lambda **_: "", var=lambda name, default=None: default, this=path.stem,
            **_portable_macros(project),
        )
        for args, kwargs in seen:
            if len(args) >= 2:
                calls[(args[0], args[1])] = {**kwargs, "model": f"writeback.{path.stem}"}
    return calls


def _newest(paths: list[Path]) -> float:
    return max((p.stat().st_mtime for p in paths if p.exists()), default=0.0)


def compiled_models(project: Path, warehouse: Path | None, compile_fn: Callable[[Path], Path] | None = None) -> dict[str, str]:
    """Model name → compiled SQL for staging, intermediate and writeback models."""
    from transform.inputs import dbt_paths

    sources = [*(p for root in (*dbt_paths("model", project), *dbt_paths("macro", project)) for p in root.glob("**/*.sql")),
               *project.glob("seeds/*.csv")]
    # dbt writes a model's compiled SQL under its model path (models/, systems/<system>/models/)
    model_paths = [path.relative_to(project) for path in dbt_paths("model", project)]
    candidates = []
    if os.environ.get("DBT_TARGET_PATH"):
        candidates.append(Path(os.environ["DBT_TARGET_PATH"]))
    if warehouse is not None:
        candidates.append(warehouse.parent / "dbt_target")
    for target in candidates:
        compiled = [target / "compiled" / project_name(project) / path for path in model_paths]
        files = [p for root in compiled for p in root.glob("intermediate/**/*.sql")]
        if files and min(p.stat().st_mtime for p in files) >= _newest(sources):
            return _read_compiled(compiled)
    with tempfile.TemporaryDirectory(prefix="p2c-mappings-") as tmp:
        target = (compile_fn or _dbt_compile)(Path(tmp))
        return _read_compiled([target / "compiled" / project_name(project) / path for path in model_paths])


def project_name(project: Path) -> str:
    match = re.search(r"^name:\s*['\"]?([\w-]+)", (project / "dbt_project.yml").read_text(encoding="utf-8"), re.M)
    return match.group(1) if match else "p2c"


def _read_compiled(model_dirs: list[Path]) -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for root in model_dirs for p in root.glob("**/*.sql")}


def _dbt_compile(tmp: Path) -> Path:
    """``dbt compile`` against a throw-away DuckDB file (never the warehouse: a run may hold it)."""
    from transform.runner import run_dbt

    saved = {k: os.environ.get(k) for k in ("P2C_WAREHOUSE", "DBT_TARGET_PATH", "DBT_LOG_PATH")}
    os.environ["DBT_TARGET_PATH"] = str(tmp / "dbt_target")
    os.environ["DBT_LOG_PATH"] = str(tmp / "dbt_logs")
    try:
        res = run_dbt("compile", ["--select", "staging intermediate writeback"], warehouse=tmp / "compile.duckdb")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if not res.success:
        raise RuntimeError(f"dbt compile failed: {res.exception or 'see the dbt log'}")
    return tmp / "dbt_target"


# --- tracing a canonical field to its source column ---------------------------------------------


@dataclass(frozen=True)
class Origin:
    columns: tuple[str, ...]  # raw columns of the source entity set
    lookups: tuple[str, ...]  # seeds / models the value is looked up in
    shaping: str  # the expression when it is more than a plain column


def _ctes(tree: exp.Expression) -> dict[str, exp.Select]:
    return {cte.alias: cte.this for cte in tree.find_all(exp.CTE)}


def _projection(select: exp.Expression, name: str) -> exp.Expression | None:
    for proj in getattr(select, "expressions", []):
        if proj.alias_or_name == name:
            return proj.this if isinstance(proj, exp.Alias) else proj
    return None


def _table_of(select: exp.Expression) -> str | None:
    """``select * from "db"."schema"."name"`` → ``schema.name``."""
    table = select.find(exp.Table) if isinstance(select, exp.Select) else None
    if table is None:
        return None
    return f"{table.db}.{table.name}" if table.db else table.name


def _final(tree: exp.Expression) -> exp.Expression:
    ctes = _ctes(tree)
    return ctes.get("final") or tree


def staging_origin(stg_sql: str, column: str) -> tuple[list[str], str]:
    """The raw column(s) behind a staging model's column, and the expression if it reshapes them."""
    tree = sqlglot.parse_one(stg_sql, read="duckdb")
    expr = _projection(_final(tree), column)
    if expr is None:
        return [column], ""
    raw = [c.name for c in expr.find_all(exp.Column)]
    shaping = "" if isinstance(expr, exp.Column) else expr.sql(dialect="duckdb")
    return raw or [column], shaping


# canonical text normalisation (macro canonical_text): trims, casts, trailing zeros; not worth showing
_NORMALISING = (exp.Column, exp.Identifier, exp.Cast, exp.DataType, exp.DataTypeParam, exp.Trim, exp.Nullif,
                exp.Literal, exp.Null, exp.Case, exp.If, exp.Is, exp.Not, exp.Paren, exp.Anonymous)


def _is_normalisation(expr: exp.Expression) -> bool:
    return all(
        isinstance(node, _NORMALISING) and (not isinstance(node, exp.Anonymous) or node.name.lower() in ("rtrim", "ltrim"))
        for node in expr.walk()
    )


def trace(int_sql: str, field: str, compiled: dict[str, str]) -> Origin:
    """Where a canonical field of an intermediate model comes from in the source system."""
    tree = sqlglot.parse_one(int_sql, read="duckdb")
    ctes = _ctes(tree)
    expr = _projection(_final(tree), field)
    if expr is None:
        return Origin((), (), "")
    # the staging model this intermediate model reads, and the CTE alias it is read under
    staging = {alias: _table_of(body) for alias, body in ctes.items()}
    stg_alias = next((a for a, t in staging.items() if t and t.split(".")[-1].startswith("stg_")), None)
    stg_sql = compiled.get((staging.get(stg_alias) or "").split(".")[-1], "")
    joined = [j for body in ctes.values() for j in body.find_all(exp.Join)]

    columns: list[str] = []
    lookups: list[str] = []
    shaping = [] if _is_normalisation(expr) else [expr.sql(dialect="duckdb")]
    for col in expr.find_all(exp.Column):
        name, via = col.name, None
        # a column picked from a joined lookup CTE (`countries.iso_country_code`): follow the join key
        for body in ctes.values():
            proj = _projection(body, name)
            if isinstance(proj, exp.Column) and proj.table and proj.table != stg_alias and proj.table in staging:
                via = proj.table
                break
        if via:
            lookups.append((staging.get(via) or via).split(".")[-1])
            for join in joined:
                if join.alias_or_name != via or not join.args.get("on"):
                    continue
                for key in join.args["on"].find_all(exp.Column):
                    if key.table == stg_alias:
                        raw, how = staging_origin(stg_sql, key.name) if stg_sql else ([key.name], "")
                        columns += raw
                        shaping += [how] if how else []
            continue
        raw, how = staging_origin(stg_sql, name) if stg_sql else ([name], "")
        columns += raw
        shaping += [how] if how else []
    dedup = lambda xs: tuple(dict.fromkeys(x for x in xs if x))  # noqa: E731
    return Origin(dedup(columns), dedup(lookups), "; ".join(dedup(shaping)))


def intermediate_for(compiled: dict[str, str], entity: str, system: str) -> str | None:
    """The compiled intermediate model that maps ``system``'s rows onto ``entity``."""
    pattern = re.compile(rf"'{re.escape(entity)}'\s+as\s+entity\b.*?'{system}'\s+as\s+side\b", re.S | re.I)
    for name, sql in sorted(compiled.items()):
        if name.startswith("int_") and name.endswith(f"__{system}") and pattern.search(sql):
            return sql
    return None


# --- constants of a create / deactivation -------------------------------------------------------


def _json_pairs(sql: str) -> list[tuple[str, exp.Expression]]:
    """Key/value pairs of the first ``json_object(...)`` in a SQL fragment."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    for func in tree.find_all(exp.Anonymous, exp.JSONObject):
        args = func.expressions
        if isinstance(func, exp.JSONObject):
            return [(kv.this.name, kv.expression) for kv in args]
        if func.name.lower() == "json_object":
            return [(args[i].name, args[i + 1]) for i in range(0, len(args) - 1, 2)]
    return []


def _seed_in(sql: str) -> str:
    """The table a create's defaults are selected from (a template seed), or ''."""
    table = sqlglot.parse_one(sql, read="duckdb").find(exp.Table)
    return table.name if table is not None else ""


def _constant_text(value: exp.Expression, template: list[dict[str, str]]) -> tuple[str, str]:
    """(source, transformation) of one value of a create's defaults."""
    if isinstance(value, (exp.Literal, exp.Boolean)):
        return f"constant {value.sql(dialect='duckdb')}", ""
    if isinstance(value, exp.Column):
        if value.table == "pairs":
            what = {
                "company": "the record's legal entity (company map)",
                "crm_natural_key": "natural key of the CRM record",
                "erp_natural_key": "natural key of the ERP record",
            }.get(value.name, f"{value.name} of the record pair")
            return what, ""
        if template and value.name in template[0]:
            per_company = ", ".join(f"{r.get('company', '?')}: {r[value.name]}" for r in template)
            return f"template default {value.name}", f"per company ({per_company})"
        return value.sql(dialect="duckdb"), ""
    return value.sql(dialect="duckdb"), ""


# --- the map ------------------------------------------------------------------------------------


def entities(project: Path) -> list[dict[str, str]]:
    """The entities the flows map (``seeds/entities.csv``), in dependency order."""
    sets = {r["entity"]: r["erp_set"] for r in read_seed(project, "erp_sets")}
    rows = [{**e, "erp_set": sets.get(e["entity"], "")} for e in read_seed(project, "entities")]
    return sorted(rows, key=lambda e: int(e.get("sequence") or 0))


def matches(ent: dict[str, str], name: str) -> bool:
    """Whether ``name`` names this entity: its canonical name or either system's entity set."""
    return name.lower() in (ent["entity"], ent.get("crm_set", "").lower(), ent.get("erp_set", "").lower())


def field_mappings(project: Path, compiled: dict[str, str], entity: str | None = None) -> list[MappingRow]:
    """Every target field of every flow, in dependency order of the entities."""
    entities_ = entities(project)
    field_map = read_seed(project, "field_map")
    owners = {(r["entity"], r["field"]): r["owner"] for r in read_seed(project, "field_ownership")}
    policies = {r["entity"]: r["policy"] for r in read_seed(project, "conflict_policy")}
    calls = writeback_calls(project)
    rows: list[MappingRow] = []
    for ent in entities_:
        name = ent["entity"]
        if entity and not matches(ent, entity):
            continue
        policy = policies.get(name, "owner_wins")
        sets = {s: ent.get(f"{s}_set", "") for s in ROLES}
        origins: dict[str, str | None] = {s: intermediate_for(compiled, name, s) for s in ROLES}
        for fm in (r for r in field_map if r["entity"] == name):
            owner = owners.get((name, fm["field"]), ent.get("master", ""))
            for target in ROLES:
                source = other(target)
                attribute = fm.get(f"{target}_attribute", "")
                if not attribute or owner == target:  # a field is written only with its owner's value
                    continue
                origin = trace(origins[source], fm["field"], compiled) if origins[source] else Origin((), (), "")
                maps = [m for m in (*origin.lookups, fm.get(f"{target}_value_map", "")) if m]
                shaping = [origin.shaping] if origin.shaping else []
                if fm.get(f"{target}_bind"):
                    shaping.append(f"lookup bound as {fm[f'{target}_bind']}")
                elif fm.get(f"{target}_type") in ("decimal", "int", "bool"):
                    shaping.append(f"sent as {fm[f'{target}_type']}")
                call = calls.get((name, target))
                rows.append(
                    MappingRow(
                        entity=name, direction=f"{source} → {target}", target_set=sets[target],
                        target_field=attribute.removesuffix("@odata.bind"), source_set=sets[source],
                        source_field=", ".join(origin.columns) or fm.get(f"{source}_attribute", "") or "?",
                        canonical_field=fm["field"], value_map=", ".join(maps), transformation="; ".join(shaping),
                        owner=owner, policy=policy,
                        when="create + update" if ent.get("master") == source else "update",
                        model=call["model"] if call else writeback_model(project, target, sets[target]),
                    )
                )
        for (call_entity, target), call in calls.items():
            if call_entity != name:
                continue
            source = other(target)
            for kind, key in (("create", "create_defaults"), ("deactivate", "deactivate_payload")):
                if not call.get(key):
                    continue
                template = read_seed(project, _seed_in(str(call[key])))
                for field_name, value in _json_pairs(str(call[key])):
                    src, how = _constant_text(value, template)
                    when = kind if kind == "create" else f"deactivate (when {call.get('deactivate_when', '').strip()})"
                    rows.append(
                        MappingRow(
                            entity=name, direction=f"{source} → {target}", target_set=sets[target],
                            target_field=field_name, source_set="", source_field=src, canonical_field="",
                            value_map="", transformation=how, owner=ent.get("master", ""), policy=policy,
                            when=when, model=call["model"],
                        )
                    )
    return rows
