"""Hand-built writeback rows and a scratch warehouse for the writeback's unit tests."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Iterator

import duckdb

from reverse_etl.plan import WriteRow

COLUMNS = ("entity record_key target_system target_set operation target_key payload changes etag "
           "depends_on base_after crm_id erp_key sequence").split()


def row(entity="customer", key="usmf|A-1", system="crm", target_set="accounts", op="create",
        target_key=None, payload=None, etag=None, depends_on=(), base_after=None, sequence=2, crm_id=None, erp_key=None,
        skip_reason=None) -> WriteRow:
    return WriteRow.from_mapping({
        "entity": entity, "record_key": key, "target_system": system, "target_set": target_set,
        "operation": op, "target_key": target_key or {"accountnumber": key.split("|")[-1]},
        "payload": payload if payload is not None else {"name": f"Name {key}"}, "changes": {},
        "etag": etag, "depends_on": [{"entity": e, "record_key": k} for e, k in depends_on],
        "base_after": base_after if base_after is not None else {"name": f"Name {key}"},
        "crm_id": crm_id, "erp_key": erp_key, "sequence": sequence, "skip_reason": skip_reason,
    })


def warehouse(path, rows: list[WriteRow], base_updates: list[dict] | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB file with ``writeback.<system>__<set>`` tables holding ``rows``, as dbt would build them."""
    conn = duckdb.connect(str(path))
    conn.execute("create schema if not exists writeback")
    tables: dict[str, list[WriteRow]] = {}
    for r in rows:
        tables.setdefault(f"{r.target_system}__{r.target_set.lower()}", []).append(r)
    for name, rs in tables.items():
        conn.execute(f"""create or replace table writeback.{name} (entity varchar, record_key varchar, target_system varchar,
            target_set varchar, operation varchar, target_key json, payload json, changes json, etag varchar,
            depends_on json, base_after json, crm_id varchar, erp_key varchar, sequence integer, skip_reason varchar)""")
        conn.executemany(f"insert into writeback.{name} values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", [
            (r.entity, r.record_key, r.target_system, r.target_set, r.operation, json.dumps(r.target_key),
             json.dumps(r.payload), json.dumps(r.changes), r.etag,
             json.dumps([{"entity": e, "record_key": k} for e, k in r.depends_on]), json.dumps(r.base_after),
             r.crm_id, r.erp_key, r.sequence, r.skip_reason) for r in rs])
    conn.execute("""create or replace table writeback.base_updates (entity varchar, record_key varchar, crm_id varchar,
        erp_key varchar, company varchar, base_after json)""")
    for u in base_updates or []:
        conn.execute("insert into writeback.base_updates values (?,?,?,?,?,?)",
                     [u["entity"], u["record_key"], u.get("crm_id"), u.get("erp_key"), u.get("company"), json.dumps(u["base_after"])])
    return conn


@contextmanager
def serve(app, path: str) -> Iterator[str]:
    """``app`` (an ASGI app of the sandbox) on a free loopback port, in a thread: yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}{path}"
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()
