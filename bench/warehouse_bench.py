"""`p2c run` on PostgreSQL beside DuckDB, on the same demo tenant, in one run.

For each warehouse: reset the sandbox to the same scale and seed, start it on free loopback
ports, run ``p2c run --json`` once (a first run: extract everything, dbt build, write the
differences to both systems, the report) and take its wall time and its stages' times. PostgreSQL
is a throwaway server (Debian's binaries, ``scripts/install-postgresql.sh``) in a temp directory,
started the way the tests start it (``tests/pg_server.py``), durability settings left at the
server's defaults except fsync off — say so when quoting the figure.

    python bench/warehouse_bench.py --scale medium [--seed 7] [--dir /tmp/wb]

Prints one line per warehouse (total and per stage, seconds) and the ratio PostgreSQL / DuckDB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import Sandbox  # noqa: E402  (the tests' sandbox runner: reset, start on free ports, stop)
from pg_server import PgServer  # noqa: E402


def one_run(kind: str, scale: str, seed: int, work: Path, pg: PgServer | None) -> dict:
    sandbox_dir = work / f"sandbox-{kind}"
    shutil.rmtree(sandbox_dir, ignore_errors=True)
    sandbox_dir.mkdir(parents=True)
    sandbox = Sandbox(sandbox_dir, scale, seed, {})
    sandbox.reset()
    sandbox.start()
    try:
        env = {**os.environ, **sandbox.env(), "P2C_WAREHOUSE": str(work / kind / "p2c.duckdb"),
               "P2C_REPORTS_DIR": str(work / kind / "reports"), "WAREHOUSE__DESTINATION": kind}
        if pg is not None:
            env["DESTINATION__POSTGRES__CREDENTIALS"] = pg.database(f"bench_{int(time.time())}")
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "p2c.cli", "run", "--json"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=3600)
        seconds = time.perf_counter() - started
    finally:
        sandbox.stop()
    if not out.stdout.strip():
        raise SystemExit(f"{kind}: p2c run printed nothing (exit {out.returncode}): {out.stderr[-2000:]}")
    summary = json.loads(out.stdout)
    stages = {s["stage"]: round(s.get("seconds") or 0.0, 1) for s in summary.get("stages", [])}
    written = sum(c.get("created", 0) + c.get("updated", 0) for c in summary["entities"].values())
    return {"exit": out.returncode, "seconds": seconds, "stages": stages, "written": written,
            "extracted": sum(c.get("extracted", 0) for c in summary["entities"].values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="p2c-wb-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

    results = {"duckdb": one_run("duckdb", args.scale, args.seed, work, None)}
    pg = PgServer().start()
    try:
        results["postgres"] = one_run("postgres", args.scale, args.seed, work, pg)
    finally:
        pg.stop()

    for kind, r in results.items():
        stages = ", ".join(f"{k} {v}s" for k, v in r["stages"].items())
        print(f"{kind:<9} p2c run ({args.scale}, seed {args.seed}): {r['seconds']:.1f}s, exit {r['exit']}, "
              f"{r['extracted']} rows extracted, {r['written']} records written; {stages}")
    ratio = results["postgres"]["seconds"] / results["duckdb"]["seconds"]
    print(f"ratio postgres / duckdb: {ratio:.2f}  (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
