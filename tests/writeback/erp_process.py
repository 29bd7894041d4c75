"""Two small programs for the crash tests, run as separate processes so they can be killed.

``serve <dir> <portfile> <latency_ms> <error_rate>``: the sandbox F&O app (with its fault middleware)
on a free loopback port. ``write <dir> <base> <n>``: one run of "extract → plan → writeback" for
``n`` customers: it reads the ERP, plans like the models do (create what is missing, update what
differs with the extracted ETag, move the base of what already agrees), and writes back.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from types import SimpleNamespace

import duckdb
import httpx


def desired(n: int) -> dict[str, str]:
    return {f"K-{i:03d}": f"Customer {i}" for i in range(n)}


def serve(data_dir: str, portfile: str, latency_ms: str, error_rate: str) -> None:
    import uvicorn

    from sandbox.faults import FaultMiddleware, FaultOptions, finops_throttled, finops_unavailable
    from sandbox.finops import create_app
    from sandbox.schema import ERP_ENTITIES
    from sandbox.store import Store

    store = Store(Path(data_dir) / "erp.sqlite", ERP_ENTITIES)
    if store.get("LegalEntities", {"LegalEntityId": "usmf"}) is None:
        store.insert("LegalEntities", {"LegalEntityId": "usmf", "Name": "Contoso US", "AccountingCurrency": "USD"})
    app = FaultMiddleware(create_app(store, SimpleNamespace(default_company="usmf")),
                          FaultOptions(None, float(error_rate), int(latency_ms), 7), api_prefix="/data/",
                          throttled_body=finops_throttled, unavailable_body=finops_unavailable)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    Path(portfile).write_text(str(sock.getsockname()[1]))
    uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off")).run(sockets=[sock])


def erp_state(base: str) -> dict[str, dict]:
    """The "extraction": every customer, read until the (fault-injecting) server answers."""
    with httpx.Client(base_url=base, timeout=30) as c:
        for _ in range(50):
            resp = c.get("CustomersV3", params={"cross-company": "true"})
            if resp.status_code == 200:
                return {r["CustomerAccount"]: r for r in resp.json()["value"]}
    raise RuntimeError(f"the ERP kept answering {resp.status_code}")


def write(data_dir: str, base: str, n: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from p2c_core import sync_schema
    from reverse_etl.apply import Writeback
    from reverse_etl.config import WritebackConfig
    from writeback.helpers import row, warehouse

    now = erp_state(base)
    db = Path(data_dir) / "w.duckdb"
    conn = duckdb.connect(str(db))
    sync_schema.ensure(conn)
    base_now = dict(conn.execute("select record_key, value from p2c_sync.sync_state where field = 'name'").fetchall())
    conn.close()
    rows, agreed = [], []
    for account, name in desired(int(n)).items():
        key = {"dataAreaId": "usmf", "CustomerAccount": account}
        current = now.get(account)
        if current is None:
            rows.append(row(key=f"usmf|{account}", system="erp", target_set="CustomersV3", target_key=key,
                            payload={"OrganizationName": name}, base_after={"name": name}))
        elif current["OrganizationName"] != name:
            rows.append(row(key=f"usmf|{account}", system="erp", target_set="CustomersV3", op="update", target_key=key,
                            etag=current["@odata.etag"], payload={"OrganizationName": name}, base_after={"name": name}))
        elif base_now.get(f"usmf|{account}") != name:
            agreed.append({"entity": "customer", "record_key": f"usmf|{account}", "company": "usmf",
                           "erp_key": json.dumps(key), "base_after": {"name": name}})
    conn = warehouse(db, rows, agreed)
    config = WritebackConfig(erp_batch_size=4, concurrency=1, backoff_base=0.05, backoff_cap=0.2)
    result = Writeback(conn, {"erp": httpx.Client(base_url=base, timeout=30)}, config).run()
    print(json.dumps({"planned": len(rows), "agreed": len(agreed), "seen": len(now), "totals": dict(result.totals)}), flush=True)


if __name__ == "__main__":
    {"serve": serve, "write": write}[sys.argv[1]](*sys.argv[2:])
