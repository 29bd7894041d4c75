"""How fast the sandbox serves a full read of ``accounts``, and its memory while doing so.

Starts the sandbox (``python -m sandbox up --foreground``) over a data directory on free loopback
ports, pages through ``accounts`` with plain httpx (``Prefer: odata.maxpagesize=5000``, following
``@odata.nextLink``) and prints rows/s and the server process's peak RSS (sampled with psutil).

    python -m sandbox reset --scale medium --dir /tmp/bench-sb
    python bench/sandbox_paging.py --dir /tmp/bench-sb [--entity-set accounts] [--select name,accountnumber]
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

import httpx
import psutil

TENANT, CLIENT_ID, SECRET = "p2c-sandbox", "p2c-sandbox-client", "p2c-sandbox-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, required=True, help="a sandbox data directory (run `reset` first)")
    ap.add_argument("--entity-set", default="accounts")
    ap.add_argument("--select", default=None, help="optional $select")
    ap.add_argument("--page-size", type=int, default=5000)
    args = ap.parse_args()

    crm_port, erp_port = _free_port(), _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "up", "--foreground", "--dir", str(args.dir),
         "--crm-port", str(crm_port), "--erp-port", str(erp_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"},
    )
    base = f"http://127.0.0.1:{crm_port}/api/data/v9.2/"
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
        token = httpx.post(f"http://127.0.0.1:{crm_port}/{TENANT}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET,
            "scope": f"http://127.0.0.1:{crm_port}/.default"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Prefer": f"odata.maxpagesize={args.page_size}",
                   "Accept": "application/json"}
        rows = pages = 0
        nbytes = 0
        url: str | None = base + args.entity_set + (f"?$select={args.select}" if args.select else "")
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
        print(f"entity set      {args.entity_set}" + (f" ($select={args.select})" if args.select else ""))
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
