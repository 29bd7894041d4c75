"""Rows the warehouse already holds, read by a dlt source during its own extraction (any system).

A source that finds rows gone from a service (a change-tracking deletion, an id missing from a
full id set) loads them again with their last values and ``_p2c_deleted = true``; these helpers
read those last values through the running dlt pipeline's SQL client. Resources run in parallel
threads over one warehouse connection, hence :data:`WAREHOUSE_LOCK`.
"""

from __future__ import annotations

import threading

import pyarrow as pa

from p2c_core.entity import DELETED_COLUMN, EntitySpec
from p2c_core.pages import with_dlt_id

WAREHOUSE_LOCK = threading.Lock()  # resources run in parallel threads; one DuckDB connection
DLT_COLUMNS = ("_dlt_load_id", "_dlt_id")


def stored(entity: EntitySpec, ids: pa.Array | None, *, anti: bool, live: bool = True, where: str = "") -> pa.Table | None:
    """Rows the warehouse holds (without dlt's columns) whose ``id`` column (the key's last part) is
    in ``ids`` or, with ``anti``, is not; ``live``: not marked deleted; ``where``: one more condition."""
    import dlt

    pk = entity.primary_key[-1]
    pipeline = dlt.current.pipeline()
    with WAREHOUSE_LOCK:
        try:
            with pipeline.sql_client() as sql:
                table = sql.make_qualified_table_name(entity.table)
                op = "not in" if anti else "in"
                alive = f"coalesce({DELETED_COLUMN}, false) = false and " if live else ""
                extra = f"{where} and " if where else ""
                found = select_by_ids(sql, f"select * from {table} where {alive}{extra}{pk} {op} ({{ids}})", ids)
        except Exception as exc:  # no table yet (first load): nothing stored
            if "does not exist" in str(exc) or "not found" in str(exc).lower():
                return None
            raise
    if found.num_rows == 0:
        return None
    return found.drop_columns([c for c in DLT_COLUMNS if c in found.column_names])


def select_by_ids(sql, query: str, ids: pa.Array | None) -> pa.Table:
    """``query`` (``{ids}`` standing for a subquery of the ids) through dlt's sql client, as Arrow."""
    con = sql.native_connection
    values = ids if ids is not None else pa.array([], pa.string())
    if hasattr(con, "register"):  # DuckDB: the ids as an Arrow table (a list parameter is slow at 100k ids)
        con.execute("SET TimeZone = 'UTC'")
        con.register("p2c_ids", pa.table({"id": values}))
        try:
            found = con.execute(query.format(ids="select id from p2c_ids")).arrow()
            return found.read_all() if hasattr(found, "read_all") else found  # a lazy reader: read while connected
        finally:
            con.unregister("p2c_ids")
    # a server database (PostgreSQL): the ids as one array parameter
    sql.execute_sql("SET TimeZone = 'UTC'")
    with sql.execute_query(query.format(ids="select unnest(%s::text[])"), values.to_pylist()) as cursor:
        return cursor.arrow()


def as_deleted(entity: EntitySpec, found: pa.Table | None) -> pa.Table | None:
    """Stored rows (see :func:`stored`) as deleted rows: ``_p2c_deleted`` true, a fresh ``_dlt_id``."""
    if found is None:
        return None
    index = found.column_names.index(DELETED_COLUMN)
    found = found.set_column(index, DELETED_COLUMN, pa.array([True] * found.num_rows, pa.bool_()))
    # DuckDB hands every column back nullable; the key is declared non-null, as on changed rows
    schema = found.schema
    for pk in entity.primary_key:
        key = schema.get_field_index(pk)
        schema = schema.set(key, schema.field(key).with_nullable(False))
    return with_dlt_id(found.cast(schema))
