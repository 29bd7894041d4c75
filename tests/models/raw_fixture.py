"""Typed raw tables per the naming contract, for building the dbt models without a sandbox.

Creates ``crm_raw``/``erp_raw`` tables the way dlt names and types them (snake_case of the API
names, ``odata_etag``, ``_p2c_deleted`` on CRM rows) from the sandbox's catalogue, and inserts
rows given with API field names.
"""

from __future__ import annotations

import itertools
from typing import Any

from dlt.common.normalizers.naming.snake_case import NamingConvention

from sandbox.schema import CRM, ERP

_naming = NamingConvention()
_TYPES = {
    "guid": "varchar",
    "string": "varchar",
    "enum": "varchar",
    "int": "bigint",
    "bigint": "bigint",
    "decimal": "double",
    "bool": "boolean",
    "datetime": "timestamp with time zone",
    "date": "date",
}
_ids = itertools.count(1)


def snake(name: str) -> str:
    return _naming.normalize_identifier(name)


def _catalogue(system: str):
    return CRM if system == "crm" else ERP


def create_raw_schema(conn) -> None:
    """Create every raw table of both systems, empty."""
    for system in ("crm", "erp"):
        conn.execute(f"create schema if not exists {system}_raw")
        for entity in _catalogue(system).values():
            cols = [f'"{snake(c.name)}" {_TYPES[c.type]}' for c in entity.columns]
            cols.append("odata_etag varchar")
            if system == "crm":
                cols.append("_p2c_deleted boolean")
            cols += ["_dlt_load_id varchar", "_dlt_id varchar"]
            table = f"{system}_raw.{_naming.normalize_table_identifier(entity.set_name)}"
            conn.execute(f"create table if not exists {table} ({', '.join(cols)})")


def insert(conn, system: str, set_name: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows given with API names (``dataAreaId``, ``_customerid_value``)."""
    table = f"{system}_raw.{_naming.normalize_table_identifier(set_name)}"
    for row in rows:
        values = {snake(k): v for k, v in row.items()}
        values.setdefault("odata_etag", f'W/"{next(_ids)}"')
        values.setdefault("_dlt_id", f"id{next(_ids)}")
        cols = ", ".join(f'"{c}"' for c in values)
        marks = ", ".join("?" for _ in values)
        conn.execute(f"insert into {table} ({cols}) values ({marks})", list(values.values()))
