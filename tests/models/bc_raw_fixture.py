"""Raw tables for building the dbt models with Business Central as the ERP, without the connector.

``load_sandbox(conn, data_dir)`` loads a sandbox demo tenant (``sandbox.demo_data.reset``: the CRM,
F&O and BC stores of one business) into a DuckDB warehouse: ``crm_raw`` as dlt names and types the
Dataverse tables (``raw_fixture``), and ``erp_raw`` in the raw-table contract of BC's connector
(docs/architecture.md, "Business Central's raw tables"): dlt's snake_case of BC's names, plus
``company_id`` (the company the row was read from), ``odata_etag``, ``_p2c_deleted``,
``_dlt_load_id``, ``_dlt_id``. Rows are read from the stores' SQLite files directly.
"""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

from raw_fixture import _TYPES, snake
from sandbox.business_central_schema import BC, COMPANY
from sandbox.schema import CRM

_etags = itertools.count(1)


def _load(conn, schema: str, table: str, columns: dict[str, str], rows: list[dict], extra: dict[str, str]) -> None:
    cols = {**columns, **extra}
    conn.execute(f"create schema if not exists {schema}")
    conn.execute(f"create table {schema}.{table} ({', '.join(f'{chr(34)}{c}{chr(34)} {t}' for c, t in cols.items())})")
    if not rows:
        return
    names = list(cols)
    values = []
    for row in rows:
        snaked = {snake(k): v for k, v in row.items()}
        snaked.setdefault("odata_etag", f'W/"JzQ0OzE{next(_etags)}Oyc="')
        snaked.setdefault("_p2c_deleted", False)
        snaked.setdefault("_dlt_load_id", "1")
        snaked.setdefault("_dlt_id", f"id{next(_etags)}")
        values.append([snaked.get(c) for c in names])
    marks = ", ".join("?" for _ in names)
    conn.executemany(f"insert into {schema}.{table} ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in names)}) values ({marks})", values)


def _rows(db: Path, table: str) -> list[dict]:
    with sqlite3.connect(db) as lite:
        lite.row_factory = sqlite3.Row
        return [dict(r) for r in lite.execute(f'select * from "{table}"')]


def load_sandbox(conn, data_dir: Path) -> None:
    """crm_raw from ``crm.sqlite``, erp_raw (BC's contract) from ``bc.sqlite``."""
    data_dir = Path(data_dir)
    extra = {"odata_etag": "varchar", "_p2c_invalid": "varchar", "_p2c_deleted": "boolean",
             "_dlt_load_id": "varchar", "_dlt_id": "varchar"}
    for entity in CRM.values():
        columns = {snake(c.name): _TYPES[c.type] for c in entity.columns}
        rows = [{k: v for k, v in r.items() if not k.startswith("_version")} for r in _rows(data_dir / "crm.sqlite", entity.set_name)]
        _load(conn, "crm_raw", snake(entity.set_name), columns, rows, extra)
    bc_extra = extra
    for entity in BC.values():
        # BC's rows do not carry their company: the connector adds company_id (the store's hidden companyId)
        columns = {snake(c.name): _TYPES[c.type] for c in entity.columns}
        rows = [{k: v for k, v in r.items() if k != "_version"} for r in _rows(data_dir / "bc.sqlite", entity.set_name)]
        _load(conn, "erp_raw", snake(entity.set_name), columns, rows, bc_extra)
    assert snake(COMPANY) == "company_id"
