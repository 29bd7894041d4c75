"""OData rows → one pyarrow table per page, typed by the entity's declared columns (any system).

Pages go to dlt as Arrow tables: no per-row normalisation in Python. Declared columns get their
declared type whatever a page holds (an all-null page keeps the type). Columns the entity table
does not declare (a service may add some to a ``$select``, e.g. ``address1_composite``) are kept
as text (strings as they are, other values as their JSON text), named like every other column
(dlt's snake_case): text on every page, so no two pages can disagree on their type. Instance
annotations are dropped, except the ones the entity keeps (a lookup's target table, see
:attr:`EntitySpec.annotations`), which load as plainly named text columns.

Each table also carries ``_dlt_id`` (dlt's random row id, made here as dlt makes it): dlt's
normalizer would otherwise read and rewrite every extracted parquet file just to add it, while a
file that already has it is imported as it is. ``_dlt_load_id`` is added by dlt at extraction.

:func:`parse_page` reads a page's bytes straight into that table with ``pyarrow.json`` (about twice
as fast as orjson plus building columns, and without holding the GIL). It only takes pages it can
read exactly as declared; any other page (deletions, undeclared columns, a value whose JSON type
is not the declared one, or one p2c cannot take — see :func:`check_row`) is left to the row path.

:func:`check_row` is the row path's gate: a value of the wrong JSON type, a date out of range, text
with control characters or an unpaired surrogate, text longer than ``MAX_TEXT_LENGTH``, an
unknown option-set/enum value or a missing key never stops the extraction. The row loads with that
value null (a missing key replaced by a stand-in built from the row, so a re-read does not
duplicate it) and ``_p2c_invalid`` names each column and its problem; the models quarantine it.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import uuid
from datetime import date, datetime
from functools import lru_cache
from typing import Any, Callable, Iterator, Sequence

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
from dlt.common.normalizers.utils import generate_dlt_ids
from dlt.common.schema.utils import dlt_id_column

from p2c_core.entity import DATE_RANGE, DELETED_COLUMN, ETAG_COLUMN, INVALID_COLUMN, MAX_TEXT_LENGTH, EntitySpec, snake

# the Arrow type each column type code loads as (see p2c_core.entity)
ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "decimal": pa.float64(),
    "bool": pa.bool_(),
    "datetime": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}

OnPage = Callable[[str, int], None]  # (entity set, rows in the page): a source's progress callback
ETAG = "@odata.etag"
DELETED_MARK = b"$deletedEntity"  # in the @odata.context of a change-tracking deletion
DLT_ID = "_dlt_id"
# the resource hint for the column: dlt's own definition (non-null, unique, the row key)
DLT_ID_HINT = {DLT_ID: dlt_id_column()}
# in a resource's dlt state: its table exists (made from a page, or empty: ``entity_source``)
MATERIALIZED_STATE = "table_created"
# parsed from text after the struct conversion (JSON carries them as strings)
_FROM_TEXT = {"datetime", "date"}


class BadRowsError(ValueError):
    """A page whose values cannot be read as the declared types (names entity and column)."""


def _wire_columns(entity: EntitySpec) -> list[tuple[str, str]]:
    """(wire name, type code) of everything read as declared: columns, kept annotations, the etag."""
    return list(entity.columns.items()) + [(name, "string") for name in entity.annotations] + [(ETAG, "string")]


@lru_cache(maxsize=None)
def _wire_struct(entity: EntitySpec) -> pa.StructType:
    return pa.struct(
        [pa.field(name, pa.string() if code in _FROM_TEXT else ARROW_TYPES[code]) for name, code in _wire_columns(entity)]
    )


@lru_cache(maxsize=None)
def declared_schema(entity: EntitySpec) -> pa.Schema:
    """The Arrow schema of the declared columns plus ``odata_etag`` (and ``_p2c_deleted`` where deletions are tracked)."""
    fields = [pa.field(snake(name), ARROW_TYPES[code]) for name, code in entity.columns.items()]
    fields += [pa.field(column, pa.string()) for column in entity.annotations.values()]
    fields.append(pa.field(ETAG_COLUMN, pa.string()))
    if entity.tracks_deletions:
        fields.append(pa.field(DELETED_COLUMN, pa.bool_()))
    fields.append(pa.field(INVALID_COLUMN, pa.string()))
    return pa.schema(fields)


def _declared_columns(entity: EntitySpec, rows: list[dict[str, Any]]) -> list[pa.Array]:
    struct = _wire_struct(entity)
    try:
        table = pa.Table.from_struct_array(pa.array(rows, type=struct))
        columns = [table.column(i).combine_chunks() for i in range(table.num_columns)]
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        columns = [_lenient(entity, f, [r.get(f.name) for r in rows]) for f in struct]
    return _typed(entity, columns)


def _typed(entity: EntitySpec, columns: list[pa.Array]) -> list[pa.Array]:
    """Wire columns (dates as text) → the declared types."""
    out = []
    for column, (name, code) in zip(columns, _wire_columns(entity)):
        if code in _FROM_TEXT:
            try:
                column = pc.cast(column, ARROW_TYPES[code])
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise BadRowsError(f"{entity.entity_set}.{name}: not a {code}: {exc}") from None
        out.append(column)
    return out


def _lenient(entity: EntitySpec, field: pa.Field, values: list[Any]) -> pa.Array:
    """One column whose values do not all fit the type as they come (``"12.5"`` for a decimal)."""
    try:
        return pa.array(values, type=field.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    try:
        return pc.cast(pa.array([None if v is None else str(v) for v in values]), field.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise BadRowsError(f"{entity.entity_set}.{field.name}: values are not {field.type}: {exc}") from None


def _extra_column(values: list[Any]) -> pa.Array:
    """An undeclared column, always text: strings as they come, anything else as its JSON text."""
    return pa.array([v if v is None or isinstance(v, str) else orjson.dumps(v).decode() for v in values], pa.string())


@lru_cache(maxsize=None)
def _page_options(entity: EntitySpec) -> pj.ParseOptions:
    fields = [pa.field("value", pa.list_(_wire_struct(entity)))]
    fields += [pa.field(link, pa.string()) for link in ("@odata.context", "@odata.nextLink", "@odata.deltaLink")]
    # undeclared fields are inferred (never dropped); a page that has any goes to the row path
    return pj.ParseOptions(explicit_schema=pa.schema(fields), unexpected_field_behavior="infer")


def parse_page(entity: EntitySpec, content: bytes) -> dict[str, Any] | None:
    """A page body with ``value`` as the page's table (see :func:`page_table`), or ``None`` for the row path.

    ``None`` when the page holds change-tracking deletions, undeclared columns, null rows, a row
    without some declared column or a value pyarrow cannot read as the declared type: the row path handles those (it sees them all).
    """
    if entity.tracks_deletions and (DELETED_MARK in content or b'"reason"' in content):
        return None
    read = pj.ReadOptions(block_size=len(content) + 1, use_threads=False)  # one object: one block
    try:
        page = pj.read_json(io.BytesIO(content), read_options=read, parse_options=_page_options(entity))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    value = page.column("value")
    if page.num_rows != 1 or value.null_count or value.type.value_type != _wire_struct(entity):
        return None
    rows = value.chunk(0).flatten()
    if rows.null_count or not _every_row_has_every_column(entity, content, len(rows)):
        return None
    if _UNSAFE_TEXT.search(content):
        return None
    try:
        columns = _typed(entity, [rows.field(i) for i in range(rows.type.num_fields)])
    except BadRowsError:
        return None
    if not _plausible(entity, columns):
        return None
    body: dict[str, Any] = {k: page.column(k)[0].as_py() for k in page.column_names if k != "value"}
    body["value"] = _table(entity, columns, {})
    return body


# escaped control characters (other than tab, newline, carriage return) and surrogates: the row
# path tells an unpaired surrogate from a pair and a control character from a harmless escape
_UNSAFE_TEXT = re.compile(rb"\\u00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF])|\\u[dD][89abAB]|\x7f")
_RANGE = tuple(datetime.fromisoformat(d) for d in DATE_RANGE)


def _plausible(entity: EntitySpec, columns: list[pa.Array]) -> bool:
    """Whether a page read as declared holds only values :func:`check_row` would pass (vectorised)."""
    low, high = pa.scalar(_RANGE[0].date()), pa.scalar(_RANGE[1].date())
    for column, (name, code) in zip(columns, _wire_columns(entity)):
        if name in entity.key and column.null_count:
            return False
        if code == "string" and len(column) and (pc.max(pc.utf8_length(column)).as_py() or 0) > MAX_TEXT_LENGTH:
            return False
        if code in _FROM_TEXT and len(column) - column.null_count:
            bounds = pc.min_max(pc.cast(column, pa.date32()) if code == "datetime" else column)
            if pc.less(bounds["min"], low).as_py() or pc.greater(bounds["max"], high).as_py():
                return False
        known = entity.known(name)
        if known is not None and not pc.all(pc.or_kleene(pc.is_in(column, pa.array(sorted(known))),
                                                          pc.is_null(column))).as_py():
            return False
    return True


_JSON_TYPE = {str: "text", bool: "true/false", int: "a number", float: "a number", dict: "an object", list: "a list"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def _preview(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return "'" + text[:40] + ("…'" if len(text) > 40 else "'")


def _value_problem(entity: EntitySpec, name: str, code: str, value: Any) -> str | None:
    """Why ``value`` cannot load as the declared ``code`` (``None``: it can)."""
    got = _JSON_TYPE.get(type(value), type(value).__name__)
    if code == "string":
        if not isinstance(value, str):
            return f"expected text, got {got} {_preview(value)}"
        if (m := _SURROGATE.search(value)) is not None:
            return f"unpaired surrogate U+{ord(m.group()):04X} in the text"
        if (m := _CONTROL.search(value)) is not None:
            return f"control character U+{ord(m.group()):04X} in the text {_preview(value)}"
        if len(value) > MAX_TEXT_LENGTH:
            return f"{len(value)} characters, more than the {MAX_TEXT_LENGTH} p2c takes"
    elif code in ("int", "decimal"):
        number = value
        if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):  # IEEE754Compatible: numbers as text
            number = float(value)
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
            return f"expected a number, got {got} {_preview(value)}"
        if code == "int" and float(number) != int(number):
            return f"expected a whole number, got {_preview(value)}"
    elif code == "bool":
        if not isinstance(value, bool):
            return f"expected true/false, got {got} {_preview(value)}"
    elif code in _FROM_TEXT:
        if not isinstance(value, str):
            return f"expected a {code}, got {got} {_preview(value)}"
        try:
            parsed = datetime.fromisoformat(value) if code == "datetime" else date.fromisoformat(value)
        except ValueError:
            return f"not a {code}: {_preview(value)}"
        day = parsed.date() if isinstance(parsed, datetime) else parsed
        if not _RANGE[0].date() <= day <= _RANGE[1].date():
            return f"{code} {_preview(value)} out of range ({DATE_RANGE[0]} to {DATE_RANGE[1]})"
    known = entity.known(name)
    if known is not None and value not in known:
        return f"unknown value {_preview(value)} (known: {', '.join(map(str, sorted(known)))})"
    return None


def _stand_in(entity: EntitySpec, row: dict[str, Any], name: str) -> str:
    """A key for a row that has none: the same for the same row content, never a real one."""
    digest = hashlib.sha256(json.dumps(row, sort_keys=True, default=str).encode("utf-8", "surrogatepass")).digest()
    if name == entity.key[0] and name.endswith("id") and len(entity.key) == 1:
        return str(uuid.UUID(bytes=digest[:16], version=4))
    return f"p2c-invalid-{digest[:6].hex()}"


def check_row(entity: EntitySpec, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` as it can load: each value p2c cannot take as declared set to null (a missing key to a
    stand-in), and ``_p2c_invalid`` naming each such column and its problem (absent when none)."""
    problems: list[str] = []
    out = row
    for name, code in entity.columns.items():
        if name in entity.key and row.get(name) is None:
            problems.append(f"{name}: missing key")
            out = {**out, name: _stand_in(entity, row, name)}
            continue
        if name not in row or row[name] is None:
            continue
        problem = _value_problem(entity, name, code, row[name])
        if problem is not None:
            problems.append(f"{name}: {problem}")
            out = {**out, name: _stand_in(entity, row, name) if name in entity.key else None}
    if problems:
        out = {**out, INVALID_COLUMN: "; ".join(problems)}
    return out


def _every_row_has_every_column(entity: EntitySpec, content: bytes, rows: int) -> bool:
    """Whether no row can lack a declared column (pyarrow reads an absent field as null).

    An absent column is not a null one (the stored value must stay), so a page where a key occurs
    fewer times than there are rows goes to the row path, which tells the two apart.
    """
    return all(content.count(b'"' + name.encode() + b'":') >= rows for name in entity.columns)


def absent_columns(entity: EntitySpec, row: dict[str, Any]) -> list[str]:
    """The declared columns (API names) a row does not carry at all."""
    return [name for name in entity.columns if name not in row]


def page_table(entity: EntitySpec, rows: list[dict[str, Any]]) -> pa.Table:
    """One page of rows as an Arrow table: declared columns typed, extras inferred, etag kept."""
    rows = [check_row(entity, r) for r in rows]
    known = set(entity.columns) | set(entity.annotations) | {ETAG, INVALID_COLUMN}
    # other instance annotations (formatted values, @odata.context of a delta row …) are not data
    extras = sorted(k for k in set().union(*map(dict.keys, rows)) - known if "@" not in k) if rows else []
    extra_values = {key: [r.get(key) for r in rows] for key in extras}
    return _table(entity, _declared_columns(entity, rows), extra_values, [r.get(INVALID_COLUMN) for r in rows])


def _table(
    entity: EntitySpec, columns: list[pa.Array], extras: dict[str, list[Any]], invalid: list[str | None] | None = None
) -> pa.Table:
    schema = declared_schema(entity)
    names = list(schema.names[: len(columns)])
    rows = len(columns[0])
    if entity.tracks_deletions:
        columns.append(pa.array([False] * rows, pa.bool_()))
        names.append(DELETED_COLUMN)
    columns.append(pa.array(invalid or [None] * rows, pa.string()))
    names.append(INVALID_COLUMN)
    taken = set(names)
    for key, values in extras.items():
        name = snake(key)
        if name in taken:  # two API names folding to one column name: keep both, visibly
            name = f"{name}__{len(taken)}"
        taken.add(name)
        names.append(name)
        columns.append(_extra_column(values))
    # keys are declared non-null, as dlt declares them: the hints agree and a null key fails loudly
    keys = set(entity.primary_key)
    fields = [pa.field(n, c.type, nullable=n not in keys) for n, c in zip(names, columns)]
    return with_dlt_id(pa.Table.from_arrays(columns, schema=pa.schema(fields)))


def with_dlt_id(table: pa.Table) -> pa.Table:
    """``table`` with a fresh ``_dlt_id`` per row (replacing any it has)."""
    if DLT_ID in table.column_names:
        table = table.drop_columns([DLT_ID])
    ids = pa.array(generate_dlt_ids(table.num_rows), pa.string())
    return table.append_column(pa.field(DLT_ID, pa.string(), nullable=False), ids)


def entity_source(
    name: str,
    entities: Sequence[EntitySpec],
    selected: Sequence[str] | None,
    pages: Callable[[EntitySpec], Iterator[pa.Table]],
    *,
    write_disposition: Callable[[EntitySpec], str],
    parallelized: bool = True,
    empty: Callable[[EntitySpec], pa.Table] | None = None,
):
    """A dlt source ``name`` built from an entity table: one resource per entity set (``selected``:
    only those; None: all), table = the entity's table, keyed on its primary key, its pages
    ``pages(entity)`` (Arrow tables that carry their own ``_dlt_id``).

    A set the service holds no row of still gets its table, with its declared columns, the first
    time it is read (a new tenant without quotes, a company without exchange rates): the dbt models
    read every table. ``empty(entity)``: that table with no rows, in the shape the system's pages
    have (default: :func:`page_table` of no rows)."""
    import dlt

    def resource(entity: EntitySpec):
        def read() -> Iterator[pa.Table]:
            state = dlt.current.resource_state()
            rows = 0
            for table in pages(entity):
                rows += table.num_rows
                yield table
            if not state.get(MATERIALIZED_STATE):
                if not rows:  # dlt creates a table from an empty Arrow table's schema
                    yield with_dlt_id((empty or (lambda e: page_table(e, [])))(entity))
                state[MATERIALIZED_STATE] = True

        return dlt.resource(
            read,
            name=entity.table,
            table_name=entity.table,
            primary_key=list(entity.primary_key),
            columns=DLT_ID_HINT,
            write_disposition=write_disposition(entity),
            parallelized=parallelized,
        )

    @dlt.source(name=name, max_table_nesting=0)
    def source():
        return [resource(e) for e in entities if selected is None or e.entity_set in selected]

    return source()
