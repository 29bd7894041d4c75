"""Scale benchmark: p2c end to end on a fresh sandbox, per stage, at one or more scales.

For each scale, on fresh demo data (``p2c sandbox reset --scale <scale> --seed 7``):

1. the wire floor: bare paging of the same entity sets (``bench/extract_bench.py``'s floor phase);
2. the initial sync to convergence: ``p2c run`` again and again until a run writes nothing (the
   first run, the settling run for the ERP's computed totals, then a run that writes nothing);
3. a run with no changes;
4. a run after one day of ``p2c sandbox activity`` (its changed records are counted; dbt's five
   slowest models of its build are printed), and with ``--check-incremental`` the check that its
   incremental models hold the rows a ``--full-refresh`` gives (``python -m transform.incremental``).

Every ``p2c run --json`` runs in its own process; its peak RSS is sampled with psutil (children
included). Prints one table: per run and stage (extract, dbt, writeback, report) seconds, rows,
HTTP requests, peak RSS, and the goals' ratios; with several scales, how each figure grows per
million source rows. Results are also written as JSON (``--out``), and ``--from`` reprints saved
results together (e.g. the small and medium runs of yesterday with today's large).

    python bench/scale.py --scale small medium large --dir /tmp/p2c-scale
    python bench/scale.py --from /tmp/p2c-scale/scale-*.json

The machine's load average is printed with the table: on shared cores the figures are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import timezone
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
import extract_bench  # noqa: E402  (the wire floor and the sandbox helpers)

GOALS = {"initial sync s (large)": 180, "no-change run s (large)": 30, "1%-change run s (large)": 45,
         "peak RSS MiB": 1024, "extract / floor": 0.5, "records per request": 500}
STAGES = ("extract", "transform", "writeback", "report")
MAX_CONVERGENCE_RUNS = 5


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def measure(cmd: list[str], env: dict[str, str], log: Path) -> tuple[int, str, float, float, float, list]:
    """Run ``cmd``; returns (exit code, stdout, wall seconds, peak RSS MiB of it and its children, CPU
    seconds (user + sys, children included), the RSS samples as (epoch seconds, MiB))."""
    started = time.perf_counter()
    cpu_before = os.times()
    with open(log, "ab") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=err)
        ps = psutil.Process(proc.pid)
        samples: list[tuple[float, float]] = []
        out_chunks: list[bytes] = []
        reader = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()))
        reader.start()
        while proc.poll() is None:
            try:
                rss = ps.memory_info().rss + sum(c.memory_info().rss for c in ps.children(recursive=True))
                samples.append((time.time(), rss / 2**20))
            except psutil.Error:
                pass
            time.sleep(0.1)
        reader.join()
    cpu_after = os.times()
    cpu = (cpu_after.children_user - cpu_before.children_user) + (cpu_after.children_system - cpu_before.children_system)
    peak = max((mib for _, mib in samples), default=0.0)
    return proc.returncode, b"".join(out_chunks).decode(), time.perf_counter() - started, peak, cpu, samples


def stage_peaks(warehouse: Path, run_id: str, samples: list[tuple[float, float]]) -> dict[str, float]:
    """Peak RSS (MiB) per stage of one run: the samples between the stage's start and end as the run
    booked them in ``p2c_sync.runs`` (UTC)."""
    import duckdb

    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows = con.execute("select stage, started_at, finished_at from p2c_sync.runs"
                               " where run_id = ? and entity = '' and finished_at is not null", [run_id]).fetchall()
    except duckdb.Error:
        return {}
    peaks = {}
    for stage, started, finished in rows:
        t0 = started.replace(tzinfo=timezone.utc).timestamp()
        t1 = finished.replace(tzinfo=timezone.utc).timestamp()
        inside = [mib for t, mib in samples if t0 <= t <= t1]
        if inside:
            peaks[stage] = max(inside)
    return peaks


def p2c_run(env: dict[str, str], work: Path, label: str) -> dict:
    code, out, wall, peak, cpu, samples = measure([_bin("p2c"), "run", "--json"], env, work / "p2c.log")
    try:
        summary = json.loads(out)
    except ValueError:
        raise SystemExit(f"{label}: p2c run printed no summary (exit {code}); see {work / 'p2c.log'}")
    stages = {s["stage"]: s for s in summary.get("stages", [])}
    row = {"run": label, "exit": code, "wall": wall, "cpu": cpu, "peak_mib": peak,
           "stage_peak_mib": stage_peaks(Path(env["P2C_WAREHOUSE"]), summary.get("run_id", ""), samples)}
    for name in STAGES:
        row[name] = stages.get(name, {}).get("seconds")
    extract_msg = stages.get("extract", {}).get("message") or ""
    m = re.search(r"(\d+) rows read", extract_msg)
    row["rows"] = int(m.group(1)) if m else None
    wb = stages.get("writeback", {}).get("message") or ""
    m = re.search(r"(\d+) records in (\d+) HTTP requests", wb)
    row["written"], row["requests"] = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    # the report stage: what the run took beyond the booked stages
    row["report"] = row["report"] if row["report"] is not None else max(
        0.0, wall - sum(row[s] or 0 for s in STAGES if s != "report"))
    print(f"  {label}: exit {code}, {wall:.1f} s (" + ", ".join(f"{s} {row[s] or 0:.1f}" for s in STAGES)
          + f"), cpu {cpu:.1f} s, {row['rows']} rows, {row['written']} written in {row['requests']} requests,"
          f" peak {peak:.0f} MiB (" + ", ".join(f"{s} {m:.0f}" for s, m in row["stage_peak_mib"].items()) + ")",
          flush=True)
    return row


def bench_scale(scale: str, args: argparse.Namespace) -> dict:
    work = args.dir / scale
    shutil.rmtree(work, ignore_errors=True)
    (work / "sandbox").mkdir(parents=True)
    started = time.perf_counter()
    if args.data:  # demo data made before (`p2c sandbox reset`, never run against): copied
        shutil.copytree(args.data, work / "sandbox", dirs_exist_ok=True)
    else:
        subprocess.run([sys.executable, "-m", "sandbox", "reset", "--scale", scale, "--seed", str(args.seed),
                        "--dir", str(work / "sandbox")], cwd=ROOT, check=True, capture_output=True)
    print(f"{scale}: demo data in {time.perf_counter() - started:.0f} s", flush=True)
    server = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "up", "--foreground", "--dir", str(work / "sandbox"),
         "--crm-port", str(args.crm_port), "--erp-port", str(args.erp_port), "--bc-port", str(args.bc_port)],
        cwd=ROOT, stdout=open(work / "sandbox.log", "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        extract_bench._wait_for(f"http://127.0.0.1:{args.crm_port}/api/data/v9.2/", server)
        extract_bench._wait_for(f"http://127.0.0.1:{args.erp_port}/data/", server)
        env = extract_bench._env(args.crm_port, args.erp_port, work, 5)
        env.pop("EXTRACT__WORKERS")
        env |= {"P2C_WAREHOUSE": str(work / "warehouse" / "p2c.duckdb"), "P2C_REPORTS_DIR": str(work / "reports"),
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        floor = extract_bench._run_phase("floor", {**env, "P2C_WAREHOUSE": str(work / "floor.duckdb")}, 5)
        print(f"  wire floor: {floor['rows']:,} rows in {floor['seconds']:.1f} s", flush=True)
        runs = []
        for i in range(MAX_CONVERGENCE_RUNS):
            runs.append(p2c_run(env, work, f"initial {i + 1}"))
            if runs[-1]["written"] == 0 and runs[-1]["exit"] == 0:
                break
        converged = runs[-1]["written"] == 0
        quiet = p2c_run(env, work, "no change")
        before = _activity_changes(work / "sandbox")
        subprocess.run([_bin("p2c"), "sandbox", "activity", "--dir", str(work / "sandbox"), "--seed", "1"],
                       cwd=ROOT, env={**os.environ, **env}, check=True, capture_output=True)
        changed = _activity_changes(work / "sandbox") - before
        active = p2c_run(env, work, "after activity")
        active["top_models"] = _top_models(work / "warehouse" / "dbt_target" / "run_results.json")
        print("  after activity, dbt's slowest models: " + ", ".join(f"{n} {s:.1f}" for n, s in active["top_models"]),
              flush=True)
        check = None
        if args.check_incremental:  # the incremental models against a --full-refresh on the same inputs
            started = time.perf_counter()
            out = subprocess.run([sys.executable, "-m", "transform.incremental"], cwd=ROOT, env={**os.environ, **env},
                                 capture_output=True, text=True)
            check = {"exit": out.returncode, "seconds": time.perf_counter() - started,
                     "differences": json.loads(out.stdout) if out.stdout.strip() else out.stderr[-2000:]}
            print(f"  incremental check: exit {check['exit']} in {check['seconds']:.0f} s, differing rows: "
                  f"{sum(check['differences'].values()) if isinstance(check['differences'], dict) else check['differences']}",
                  flush=True)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {"scale": scale, "rows": runs[0]["rows"], "floor": floor, "initial": runs, "converged": converged,
            "quiet": quiet, "activity": active, "activity_changes": changed, "incremental_check": check,
            "load": os.getloadavg(), "cpus": os.cpu_count()}


def _top_models(run_results: Path, n: int = 5) -> list[tuple[str, float]]:
    """dbt's ``n`` slowest models of the last build (name, seconds)."""
    if not run_results.exists():
        return []
    results = json.loads(run_results.read_text())["results"]
    models = [(r["unique_id"].split(".")[-1], r["execution_time"]) for r in results if r["unique_id"].startswith("model.")]
    return sorted(models, key=lambda m: -m[1])[:n]


def _activity_changes(sandbox_dir: Path) -> int:
    path = sandbox_dir / "activity.json"
    if not path.exists():
        return 0
    days = json.loads(path.read_text())
    return sum(len(day["changes"]) for day in days)


def report(results: list[dict]) -> str:
    lines = []
    cols = ("wall", *STAGES, "rows", "written", "requests", "peak_mib")
    head = f"{'scale':<7}{'run':<16}" + "".join(f"{c:>11}" for c in cols)
    lines += [head, "-" * len(head)]
    for r in results:
        for run in [*r["initial"], r["quiet"], r["activity"]]:
            vals = []
            for c in cols:
                v = run.get(c)
                vals.append(f"{'-':>11}" if v is None else (f"{v:>11.1f}" if isinstance(v, float) else f"{v:>11,}"))
            lines.append(f"{r['scale']:<7}{run['run']:<16}" + "".join(vals))
    lines.append("")
    lines.append(f"{'scale':<7}{'rows':>10}{'initial s':>11}{'converged':>10}{'quiet s':>9}{'activity s':>11}"
                 f"{'changes':>9}{'peak MiB':>10}{'extr/floor':>11}{'rec/req':>9}{'rec/s':>8}{'load1':>7}")
    for r in results:
        initial = sum(x["wall"] for x in r["initial"])
        peak = max(x["peak_mib"] for x in [*r["initial"], r["quiet"], r["activity"]])
        first = r["initial"][0]
        floor_rate = r["floor"]["rows"] / r["floor"]["seconds"]
        extract_rate = (first["rows"] or 0) / first["extract"] if first["extract"] else 0
        written = sum(x["written"] for x in r["initial"])
        requests = sum(x["requests"] for x in r["initial"]) or 1
        wb_seconds = sum(x["writeback"] or 0 for x in r["initial"]) or 1
        lines.append(f"{r['scale']:<7}{r['rows']:>10,}{initial:>11.1f}{str(r['converged']):>10}"
                     f"{r['quiet']['wall']:>9.1f}{r['activity']['wall']:>11.1f}{r['activity_changes']:>9}"
                     f"{peak:>10.0f}{extract_rate / floor_rate:>11.2f}{written / requests:>9.0f}"
                     f"{written / wb_seconds:>8.0f}{r['load'][0]:>7.1f}")
    if len(results) > 1:
        lines.append("")
        lines.append("growth per million source rows between scales (seconds, MiB):")
        for a, b in zip(results, results[1:]):
            dm = (b["rows"] - a["rows"]) / 1e6
            def per(f):
                return (f(b) - f(a)) / dm
            lines.append(
                f"  {a['scale']}->{b['scale']}: initial sync {per(lambda r: sum(x['wall'] for x in r['initial'])):.0f} s,"
                f" first dbt {per(lambda r: r['initial'][0]['transform'] or 0):.0f} s,"
                f" no-change run {per(lambda r: r['quiet']['wall']):.0f} s,"
                f" activity run {per(lambda r: r['activity']['wall']):.0f} s,"
                f" peak RSS {per(lambda r: max(x['peak_mib'] for x in r['initial'])):.0f} MiB")
    lines.append("")
    lines.append("goals (large, 2 cores): initial sync <= 180 s, no-change run <= 30 s, 1%-change run <= 45 s,"
                 " peak RSS <= 1024 MiB, extract/floor >= 0.5, >= 500 records per request")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", nargs="+", default=["small"], choices=("small", "medium", "large"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/p2c-scale"))
    parser.add_argument("--crm-port", type=int, default=8781)
    parser.add_argument("--erp-port", type=int, default=8782)
    parser.add_argument("--bc-port", type=int, default=8783, help="the sandbox's Business Central port (unused, but bound)")
    parser.add_argument("--data", type=Path, help="copy this untouched demo data instead of generating it (one scale)")
    parser.add_argument("--from", dest="saved", nargs="+", type=Path, help="reprint saved results (JSON)")
    parser.add_argument("--check-incremental", action="store_true",
                        help="after the activity run, check the incremental models against a --full-refresh"
                             " (python -m transform.incremental)")
    args = parser.parse_args()
    if args.saved:
        results = [json.loads(p.read_text()) for p in args.saved]
    else:
        results = []
        for scale in args.scale:
            result = bench_scale(scale, args)
            (args.dir / f"scale-{scale}.json").write_text(json.dumps(result, indent=1))
            results.append(result)
    order = {"small": 0, "medium": 1, "large": 2}
    print(report(sorted(results, key=lambda r: order[r["scale"]])))


if __name__ == "__main__":
    main()
