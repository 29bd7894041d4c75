"""Extraction vs the wire floor, on the same sandbox, in one run.

The wire floor: a bare httpx client pages through the same entity sets with the same requests
(``Prefer: odata.maxpagesize``, ``cross-company=true``, following ``@odata.nextLink``) and parses
every page with orjson — nothing else. Then ``p2c extract`` (both dlt pipelines, a fresh
warehouse) reads the same sets. Both use the same concurrency (``--workers`` entities at a time;
dlt's ``extract.workers``). Each phase runs in its own process so its peak RSS is its own.

    python bench/extract_bench.py --scale medium --dir /tmp/h4/bench --crm-port 8771 --erp-port 8772

Prints rows/s of each phase, their ratio (extraction / floor; the goal is ≥ 50 %), and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
TENANT, CLIENT_ID, SECRET = "p2c-sandbox", "p2c-sandbox-client", "p2c-sandbox-secret"


def _env(crm_port: int, erp_port: int, work: Path, workers: int) -> dict[str, str]:
    env = {
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "P2C_WAREHOUSE": str(work / "bench.duckdb"),
        "EXTRACT__WORKERS": str(workers),
    }
    for system, port, path in (("CRM", crm_port, "api/data/v9.2/"), ("ERP", erp_port, "data/")):
        origin = f"http://127.0.0.1:{port}"
        p = f"SOURCES__{system}__"
        env |= {
            p + "BASE_URL": f"{origin}/{path}",
            p + "CREDENTIALS__TENANT": TENANT,
            p + "CREDENTIALS__CLIENT_ID": CLIENT_ID,
            p + "CREDENTIALS__CLIENT_SECRET": SECRET,
            p + "CREDENTIALS__TOKEN_URL": f"{origin}/{TENANT}/oauth2/v2.0/token",
            p + "CREDENTIALS__SCOPE": f"{origin}/.default",
        }
    return env


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_floor(workers: int) -> dict:
    """Bare httpx paging + orjson parse of every entity set of both systems."""
    from p2c_core.connection import resolve_connection
    from systems import ROLES, system_for

    def read_all(system: str) -> int:
        conn = resolve_connection(system)
        token = httpx.post(
            conn.token_url,
            data={"grant_type": "client_credentials", "client_id": conn.client_id,
                  "client_secret": conn.client_secret, "scope": conn.scope},
        ).json()["access_token"]
        size = system_for(system).page_size
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json", "Prefer": f"odata.maxpagesize={size}"}
        params = {} if system == "crm" else {"cross-company": "true"}
        with httpx.Client(base_url=conn.base_url, headers=headers, timeout=300) as client:

            def read(entity_set: str) -> int:
                rows, url, query = 0, entity_set, params
                while url:
                    body = orjson.loads(client.get(url, params=query).raise_for_status().content)
                    rows += len(body["value"])
                    url, query = body.get("@odata.nextLink"), None
                return rows

            with ThreadPoolExecutor(workers) as pool:
                return sum(pool.map(read, [e.entity_set for e in system_for(system).entities]))

    started = time.perf_counter()
    rows = sum(read_all(system) for system in ROLES)
    return {"rows": rows, "seconds": time.perf_counter() - started, "peak_mb": _peak_mb()}


def phase_extract(workers: int) -> dict:
    """``p2c extract all`` into a fresh warehouse (full load of both systems)."""
    from p2c_core import settings
    from pipelines.extract import run_extract

    for path in (settings.warehouse_path(), settings.pipelines_dir()):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    started = time.perf_counter()
    results = run_extract(("crm", "erp"))
    seconds = time.perf_counter() - started
    return {"rows": sum(r.total_rows for r in results), "seconds": seconds, "peak_mb": _peak_mb()}


def _run_phase(name: str, env: dict[str, str], workers: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--phase", name, "--workers", str(workers)],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{name} phase failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _wait_for(url: str, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the sandbox exited; see its log")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/p2c-extract-bench"))
    parser.add_argument("--crm-port", type=int, default=8771)
    parser.add_argument("--erp-port", type=int, default=8772)
    parser.add_argument("--workers", type=int, default=5, help="entities read at a time (both phases)")
    parser.add_argument("--no-reset", action="store_true", help="reuse the sandbox data in --dir")
    parser.add_argument("--phase", choices=("floor", "extract"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:
        result = phase_floor(args.workers) if args.phase == "floor" else phase_extract(args.workers)
        print(json.dumps(result))
        return

    sandbox_dir = args.dir / "sandbox"
    if not args.no_reset:
        shutil.rmtree(sandbox_dir, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "sandbox", "reset", "--scale", args.scale, "--seed", str(args.seed),
                        "--dir", str(sandbox_dir)], cwd=ROOT, check=True, capture_output=True)
    log = open(args.dir / "sandbox.log", "ab")
    server = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "up", "--foreground", "--dir", str(sandbox_dir),
         "--crm-port", str(args.crm_port), "--erp-port", str(args.erp_port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )
    try:
        _wait_for(f"http://127.0.0.1:{args.crm_port}/api/data/v9.2/", server)
        _wait_for(f"http://127.0.0.1:{args.erp_port}/data/", server)
        env = _env(args.crm_port, args.erp_port, args.dir, args.workers)
        floor = _run_phase("floor", env, args.workers)
        extract = _run_phase("extract", env, args.workers)
    finally:
        server.terminate()
        server.wait(timeout=30)

    if floor["rows"] != extract["rows"]:
        print(f"warning: the floor read {floor['rows']} rows, extraction {extract['rows']}")
    print(f"scale {args.scale}, {floor['rows']:,} rows, {args.workers} entities at a time")
    print(f"{'phase':<10}{'seconds':>10}{'rows/s':>12}{'peak MB':>10}")
    for name, r in (("floor", floor), ("extract", extract)):
        print(f"{name:<10}{r['seconds']:>10.2f}{r['rows'] / r['seconds']:>12,.0f}{r['peak_mb']:>10.0f}")
    print(f"extraction at {floor['seconds'] / extract['seconds']:.0%} of the wire floor")


if __name__ == "__main__":
    main()
