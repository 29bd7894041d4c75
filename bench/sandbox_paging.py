"""How fast the sandbox serves a full read of one entity set, and its memory while doing so.

Starts the sandbox (``python -m sandbox up --foreground``) over a data directory on free loopback
ports, pages through one entity set with plain httpx, following ``@odata.nextLink``, and prints
rows/s and the server process's peak RSS (sampled with psutil). ``--system crm`` reads the Dataverse
Web API (default ``accounts``, ``Prefer: odata.maxpagesize=5000``); ``--system erp`` reads F&O
OData across companies (default ``CustomersV3``, ``cross-company=true``,
``Prefer: odata.maxpagesize=10000``).

    python -m sandbox reset --scale medium --dir /tmp/bench-sb
    python bench/sandbox_paging.py --dir /tmp/bench-sb [--system crm|erp] [--entity-set accounts] [--select name,accountnumber]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import psutil

TENANT, CLIENT_ID, SECRET = "p2c-sandbox", "p2c-sandbox-client", "p2c-sandbox-secret"
# per system: the API root, the default entity set, the largest page it serves, query options always sent
SYSTEMS = {
    "crm": ("api/data/v9.2/", "accounts", 5000, {}),
    "erp": ("data/", "CustomersV3", 10000, {"cross-company": "true"}),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, required=True, help="a sandbox data directory (run `reset` first)")
    ap.add_argument("--system", choices=sorted(SYSTEMS), default="crm")
    ap.add_argument("--entity-set", default=None, help="default: accounts (crm), CustomersV3 (erp)")
    ap.add_argument("--select", default=None, help="optional $select")
    ap.add_argument("--page-size", type=int, default=None, help="default: the system's maximum")
    args = ap.parse_args()
    root, default_set, max_page, always = SYSTEMS[args.system]
    args.entity_set = args.entity_set or default_set
    args.page_size = args.page_size or max_page

    crm_port, erp_port = _free_port(), _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "up", "--foreground", "--dir", str(args.dir),
         "--crm-port", str(crm_port), "--erp-port", str(erp_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"},
    )
    port = crm_port if args.system == "crm" else erp_port
    base = f"http://127.0.0.1:{port}/{root}"
    try:
        for _ in range(300):
            try:
                httpx.get(base, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        server = psutil.Process(proc.pid)
        peak = [server.memory_info().rss]
        idle_rss = peak[0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                try:
                    peak[0] = max(peak[0], server.memory_info().rss)
                except psutil.Error:
                    return
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        token = httpx.post(f"http://127.0.0.1:{port}/{TENANT}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET,
            "scope": f"http://127.0.0.1:{port}/.default"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Prefer": f"odata.maxpagesize={args.page_size}",
                   "Accept": "application/json"}
        rows = pages = 0
        nbytes = 0
        query = {**always, **({"$select": args.select} if args.select else {})}
        url: str | None = base + args.entity_set + ("?" + urlencode(query, safe="$,") if query else "")
        t0 = time.perf_counter()
        with httpx.Client(headers=headers, timeout=120) as c:
            while url:
                r = c.get(url)
                r.raise_for_status()
                body = r.json()
                rows += len(body["value"])
                nbytes += len(r.content)
                pages += 1
                url = body.get("@odata.nextLink")
        elapsed = time.perf_counter() - t0
        stop.set()
        sampler.join()
        print(f"entity set      {args.system} {args.entity_set}" + (f" ($select={args.select})" if args.select else ""))
        print(f"rows            {rows:,} in {pages} pages of <= {args.page_size}")
        print(f"elapsed         {elapsed:.2f} s")
        print(f"rows/s          {rows / elapsed:,.0f}")
        print(f"MB/s (JSON)     {nbytes / elapsed / 1e6:,.1f}")
        print(f"server RSS      idle {idle_rss / 1e6:,.0f} MB, peak {peak[0] / 1e6:,.0f} MB")
    finally:
        proc.terminate()
        proc.wait(timeout=15)


if __name__ == "__main__":
    main()
