"""Scale benchmark: p2c end to end on a fresh sandbox, per stage, at one or more scales.

For each scale, on fresh demo data (``p2c sandbox reset --scale <scale> --seed 7``):

1. the wire floor: bare paging of the same entity sets (``bench/extract_bench.py``'s floor phase);
2. the initial sync to convergence: ``p2c run`` again and again until a run writes nothing (the
   first run, the settling run for the ERP's computed totals, then a run that writes nothing);
3. a run with no changes;
4. a run after one day of ``p2c sandbox activity`` (its changed records are counted; dbt's five
   slowest models of its build are printed), and with ``--check-incremental`` the check that its
   incremental models hold the rows a ``--full-refresh`` gives (``python -m transform.incremental``);
5. ``p2c watch --every <interval> --json`` on the same warehouse and sandbox (``--no-watch`` leaves it
   out): after a quiet cycle (two in a row wrote nothing), a CRM account's phone is edited through the
   Web API and the ERP customer polled until it has it; prints the latency, the interval (per scale:
   ``WATCH_EVERY``, or ``--watch-every``), the cycles it took, each cycle's seconds (quiet ones, dbt
   skipped, and the one that carried the edit), the watcher's peak RSS, and SIGTERM's exit code.
   ``--watch-only`` runs this phase alone on the directory an earlier run left (run it on a copy).

Every ``p2c run --json`` runs in its own process; its peak RSS is sampled with psutil (children
included). Prints one table: per run and stage (extract, dbt, writeback, report) seconds, rows,
HTTP requests, peak RSS, and the goals' ratios; with several scales, how each figure grows per
million source rows. Results are also written as JSON (``--out``), and ``--from`` reprints saved
results together (e.g. the small and medium runs of yesterday with today's large).

    python bench/scale.py --scale small medium large --dir /tmp/p2c-scale
    python bench/scale.py --from /tmp/p2c-scale/scale-*.json
    cp -a /tmp/p2c-scale/large /tmp/watch-copy/ && python bench/scale.py --watch-only --scale large --dir /tmp/watch-copy

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
import signal
import threading
import time
from datetime import timezone
from pathlib import Path

import httpx
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


class PeakRSS:
    """Samples the resident memory of a process and its children every 0.1 s, in a thread, until
    :meth:`stop` (which returns the highest sum seen, MiB); ``samples``: every one, as (epoch
    seconds, MiB), for the peak of each stage (:func:`stage_peaks`)."""

    def __init__(self, pid: int) -> None:
        self.ps = psutil.Process(pid)
        self.samples: list[tuple[float, float]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.is_set():
            try:
                rss = self.ps.memory_info().rss + sum(c.memory_info().rss for c in self.ps.children(recursive=True))
                self.samples.append((time.time(), rss / 2**20))
            except psutil.Error:
                pass
            self._done.wait(0.1)

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return max((mib for _, mib in self.samples), default=0.0)


def measure(cmd: list[str], env: dict[str, str], log: Path) -> tuple[int, str, float, float, float, list]:
    """Run ``cmd``; returns (exit code, stdout, wall seconds, peak RSS MiB of it and its children, CPU
    seconds (user + sys, children included), the RSS samples as (epoch seconds, MiB))."""
    started = time.perf_counter()
    cpu_before = os.times()
    with open(log, "ab") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=err)
        rss = PeakRSS(proc.pid)
        out = proc.communicate()[0]
        peak = rss.stop()
    cpu_after = os.times()
    cpu = (cpu_after.children_user - cpu_before.children_user) + (cpu_after.children_system - cpu_before.children_system)
    return proc.returncode, out.decode(), time.perf_counter() - started, peak, cpu, rss.samples


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
    server = start_sandbox(work, args)
    try:
        env = p2c_env(work, args)
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
        watched = watch_phase(scale, work, env, args) if args.watch else None
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {"scale": scale, "rows": runs[0]["rows"], "floor": floor, "initial": runs, "converged": converged,
            "quiet": quiet, "activity": active, "activity_changes": changed, "incremental_check": check,
            "watch": watched, "load": os.getloadavg(), "cpus": os.cpu_count()}


def start_sandbox(work: Path, args: argparse.Namespace) -> subprocess.Popen:
    """``p2c sandbox up`` on ``work/sandbox`` and the bench's ports, answering."""
    server = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "up", "--foreground", "--dir", str(work / "sandbox"),
         "--crm-port", str(args.crm_port), "--erp-port", str(args.erp_port), "--bc-port", str(args.bc_port)],
        cwd=ROOT, stdout=open(work / "sandbox.log", "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        extract_bench._wait_for(f"http://127.0.0.1:{args.crm_port}/api/data/v9.2/", server, seconds=600)
        extract_bench._wait_for(f"http://127.0.0.1:{args.erp_port}/data/", server, seconds=600)
    except BaseException:
        server.terminate()
        raise
    return server


def p2c_env(work: Path, args: argparse.Namespace) -> dict[str, str]:
    """The settings pointing ``p2c`` at the sandbox and at ``work``'s warehouse and reports."""
    env = extract_bench._env(args.crm_port, args.erp_port, work, 5)
    env.pop("EXTRACT__WORKERS")
    return env | {"P2C_WAREHOUSE": str(work / "warehouse" / "p2c.duckdb"), "P2C_REPORTS_DIR": str(work / "reports"),
                  "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


# --- p2c watch: how long a CRM edit takes to reach the ERP -----------------------------------------

# the interval per scale: at least what a cycle that carries an edit costs there (extraction, an
# incremental dbt build, the writeback: ~20 s at small, ~30-45 s at medium, ~110 s at large on 2
# cores), so an edit lands within two intervals (at most one interval's wait, then its cycle), and
# several times a quiet cycle (extraction and a fingerprint, dbt skipped: ~4, ~5, ~15-19 s), so a
# watcher with nothing to do is idle most of the time
WATCH_EVERY = {"small": 30, "medium": 60, "large": 180}
WATCH_SETTLE_CYCLES = 5  # cycles waited for two in a row that write nothing (the second skips dbt)
WATCH_CYCLES_AFTER = 1  # cycles watched after the one that carried the edit (the echo of the ERP's write)
WATCH_CYCLE_LIMIT = 1800  # seconds a cycle may take before the bench gives up


class Watcher:
    """``p2c watch --every <interval> --json`` in a process of its own; its JSON lines are collected
    by a thread, each with the monotonic time it arrived (the end of its cycle)."""

    def __init__(self, env: dict[str, str], interval: float, log: Path) -> None:
        self.proc = subprocess.Popen([_bin("p2c"), "watch", "--every", f"{interval:g}s", "--json"], cwd=ROOT,
                                     env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=open(log, "ab"),
                                     text=True)
        self.log = log
        self.rss = PeakRSS(self.proc.pid)
        self.cycles: list[dict] = []
        self._arrived = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for raw in self.proc.stdout:
            line = json.loads(raw)
            line["ended"] = time.monotonic()
            with self._arrived:
                self.cycles.append(line)
                self._arrived.notify_all()
        with self._arrived:
            self._arrived.notify_all()

    def wait_for(self, until, cycles: int, interval: float, since: int | None = None) -> dict:
        """Block until a cycle line satisfies ``until(line)`` among ``cycles`` cycles from the
        ``since``-th line (default: the next line); that line."""
        limit_s = cycles * (interval + WATCH_CYCLE_LIMIT)
        deadline = time.monotonic() + limit_s
        seen = first = len(self.cycles) if since is None else since
        with self._arrived:
            while True:
                for line in self.cycles[seen:]:
                    if until(line):
                        return line
                seen = len(self.cycles)
                if self.proc.poll() is not None or time.monotonic() > deadline or seen - first >= cycles:
                    raise SystemExit(f"watch: not there after {limit_s:.0f} s (exit {self.proc.poll()}): "
                                     f"{self.cycles}\n{self.log.read_text()[-3000:]}")
                self._arrived.wait(1)

    def stop(self) -> tuple[int, float, float]:
        """SIGTERM; (exit code, seconds until it exited, peak RSS MiB)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=1800)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        return code, time.monotonic() - started, self.rss.stop()


def _sandbox_client(port: int, path: str) -> httpx.Client:
    origin = f"http://127.0.0.1:{port}"
    token = httpx.post(f"{origin}/{extract_bench.TENANT}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": extract_bench.CLIENT_ID,
        "client_secret": extract_bench.SECRET, "scope": f"{origin}/.default"}).raise_for_status().json()["access_token"]
    return httpx.Client(base_url=f"{origin}/{path}", timeout=300, headers={
        "Authorization": f"Bearer {token}", "Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"})


def _synced_customer(crm: httpx.Client, erp: httpx.Client) -> tuple[dict, dict]:
    """An ERP customer and its CRM account (one account of that number, active) holding the same phone:
    a coupled pair both sides agree on."""
    customers = erp.get("CustomersV3", params={"cross-company": "true", "$top": "50",
                                                "$orderby": "CustomerAccount"}).raise_for_status().json()["value"]
    for customer in customers:
        accounts = crm.get("accounts", params={
            "$filter": f"accountnumber eq '{customer['CustomerAccount']}'"}).raise_for_status().json()["value"]
        if (len(accounts) == 1 and accounts[0]["statecode"] == 0
                and accounts[0].get("telephone1") == customer.get("PrimaryContactPhone")):
            return customer, accounts[0]
    raise SystemExit("watch: no coupled customer with the same phone on both sides among the first 50")


def watch_phase(scale: str, work: Path, env: dict[str, str], args: argparse.Namespace) -> dict:
    """``p2c watch`` on the bench's warehouse and sandbox: after a quiet cycle, a CRM account's phone is edited through the Web API and the ERP customer is polled (every 0.2 s) until
    it carries the new phone. The latency, the cycles it took, each cycle's seconds (whether dbt ran:
    read from ``p2c_sync.runs`` once the watcher stopped) and the watcher's peak RSS; SIGTERM must
    end it with exit 0."""
    interval = args.watch_every or WATCH_EVERY[scale]
    print(f"  watch: p2c watch --every {interval}s", flush=True)
    watcher = Watcher(env, interval, work / "watch.log")
    try:
        # the edit lands in the wait after a quiet cycle: two cycles in a row wrote nothing, so the
        # second's inputs were those of a build with an empty plan (it skipped dbt)
        settled = watcher.wait_for(lambda c: c.get("written") == 0 and c.get("exit_code") == 0 and c["cycle"] > 1
                                   and watcher.cycles[c["cycle"] - 2].get("written") == 0, WATCH_SETTLE_CYCLES, interval)
        phone = f"+1 555 {int(time.time()) % 10**7:07d}"
        with _sandbox_client(args.crm_port, "api/data/v9.2/") as crm, _sandbox_client(args.erp_port, "data/") as erp:
            customer, account = _synced_customer(crm, erp)
            key = f"CustomersV3(dataAreaId='{customer['dataAreaId']}',CustomerAccount='{customer['CustomerAccount']}')"
            edited = time.monotonic()
            crm.patch(f"accounts({account['accountid']})", json={"telephone1": phone}).raise_for_status()
            deadline = edited + 3 * interval + 2 * WATCH_CYCLE_LIMIT
            while erp.get(key, params={"cross-company": "true"}).raise_for_status().json()["PrimaryContactPhone"] != phone:
                if time.monotonic() > deadline or watcher.proc.poll() is not None:
                    raise SystemExit(f"watch: the ERP customer {key} never got {phone}: {watcher.cycles}")
                time.sleep(0.2)
            seen = time.monotonic()
        # the cycle in progress when the ERP had it (a cycle in progress at the edit may have missed it)
        carried = watcher.wait_for(lambda c: c["ended"] >= seen, 3, interval, since=watcher.cycles.index(settled))
        watcher.wait_for(lambda c: c["cycle"] >= carried["cycle"] + WATCH_CYCLES_AFTER, WATCH_CYCLES_AFTER, interval,
                         since=watcher.cycles.index(carried) + 1)
    finally:
        code, stopping, peak = watcher.stop()
    skipped = _dbt_skipped(Path(env["P2C_WAREHOUSE"]), [c["run_id"] for c in watcher.cycles if c.get("run_id")])
    cycles = []
    for c in watcher.cycles:
        started = c["ended"] - c["seconds"]
        role = ("before edit" if c["ended"] < edited else "carried the edit" if c is carried
                else "after" if c["cycle"] > carried["cycle"] else "missed the edit")
        cycles.append({"cycle": c["cycle"], "role": role, "start_vs_edit": started - edited, "seconds": c["seconds"],
                       "stages": c.get("stages", {}), "written": c.get("written"), "status": c["status"],
                       "dbt": "skipped" if skipped.get(c.get("run_id")) else "ran"})
    quiet = [c["seconds"] for c in cycles if c["dbt"] == "skipped" and c["written"] == 0]
    result = {"interval": interval, "latency": seen - edited, "within_two_intervals": seen - edited <= 2 * interval,
              "cycles_to_carry": sum(1 for c in cycles if c["role"] in ("missed the edit", "carried the edit")),
              "quiet_cycle": sorted(quiet)[len(quiet) // 2] if quiet else None,
              "carrying_cycle": carried["seconds"], "cycles": cycles, "peak_mib": peak, "exit": code,
              "stop_seconds": stopping, "settled_cycle": settled["cycle"], "load": os.getloadavg()}
    print(watch_lines(scale, result), flush=True)
    if code != 0:
        raise SystemExit(f"watch: SIGTERM ended the watcher with exit {code}; see {work / 'watch.log'}")
    return result


def _dbt_skipped(warehouse: Path, run_ids: list[str]) -> dict[str, bool]:
    """Per run id: did its transform stage skip dbt (a quiet cycle)?"""
    import duckdb

    if not run_ids:
        return {}
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = conn.execute("select run_id, bool_or(coalesce(message, '') like 'dbt build not run%')"
                            " from p2c_sync.runs where stage = 'transform' and run_id in"
                            f" ({', '.join('?' for _ in run_ids)}) group by run_id", run_ids).fetchall()
    return dict(rows)


def watch_lines(scale: str, w: dict) -> str:
    lines = [f"  watch at {scale}, every {w['interval']:g} s: a CRM edit reached the ERP in {w['latency']:.1f} s"
             f" ({w['latency'] / w['interval']:.2f} intervals; {w['cycles_to_carry']} cycle(s) after the edit),"
             f" quiet cycle {w['quiet_cycle'] or 0:.1f} s, carrying cycle {w['carrying_cycle']:.1f} s,"
             f" peak RSS {w['peak_mib']:.0f} MiB, SIGTERM: exit {w['exit']} after {w['stop_seconds']:.1f} s"]
    for c in w["cycles"]:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in c["stages"].items())
        lines.append(f"    cycle {c['cycle']:>2} {c['role']:<17} starts {c['start_vs_edit']:+7.1f} s, {c['seconds']:6.1f} s"
                     f" (dbt {c['dbt']}; {stages}), written {c['written']}")
    return "\n".join(lines)


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


def _run_tables(results: list[dict]) -> list[str]:
    """The per-run table, the per-scale table and the growth between scales."""
    lines: list[str] = []
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
    return lines


def report(results: list[dict]) -> str:
    watched = [r for r in results if r.get("watch")]
    results = [r for r in results if "initial" in r]  # not the --watch-only ones
    lines = []
    if results:
        lines += _run_tables(results)
    if watched:
        lines.append("")
        lines.append("p2c watch: a CRM account's phone edited after a quiet cycle, until the ERP customer has it")
        lines.append(f"{'scale':<7}{'every s':>8}{'latency s':>10}{'intervals':>10}{'cycles':>7}{'quiet s':>8}"
                     f"{'carrying s':>11}{'peak MiB':>9}{'SIGTERM':>8}{'load1':>7}")
        for r in watched:
            w = r["watch"]
            lines.append(f"{r['scale']:<7}{w['interval']:>8g}{w['latency']:>10.1f}{w['latency'] / w['interval']:>10.2f}"
                         f"{w['cycles_to_carry']:>7}{w['quiet_cycle'] or 0:>8.1f}{w['carrying_cycle']:>11.1f}"
                         f"{w['peak_mib']:>9.0f}{'exit ' + str(w['exit']):>8}{w['load'][0]:>7.1f}")
    lines.append("")
    lines.append("goals (large, 2 cores): initial sync <= 180 s, no-change run <= 30 s, 1%-change run <= 45 s,"
                 " peak RSS <= 1024 MiB, extract/floor >= 0.5, >= 500 records per request;"
                 " p2c watch: a CRM edit in the ERP within two intervals")
    return "\n".join(lines)


def watch_only(scale: str, args: argparse.Namespace) -> dict:
    """The watch phase alone, on ``--dir``/<scale> as this bench left it (``sandbox/``, ``warehouse/``)."""
    work = args.dir / scale
    if not (work / "sandbox").is_dir() or not (work / "warehouse" / "p2c.duckdb").exists():
        raise SystemExit(f"--watch-only: {work} holds no sandbox/ and warehouse/p2c.duckdb of an earlier bench run")
    started = time.perf_counter()
    server = start_sandbox(work, args)
    print(f"{scale}: sandbox up in {time.perf_counter() - started:.0f} s", flush=True)
    try:
        watched = watch_phase(scale, work, p2c_env(work, args), args)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return {"scale": scale, "watch": watched}


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
    parser.add_argument("--no-watch", dest="watch", action="store_false",
                        help="leave out the last phase: p2c watch, a CRM edit's latency to the ERP")
    parser.add_argument("--watch-every", type=float, help="p2c watch's interval in seconds (default per scale: "
                        + ", ".join(f"{k} {v}" for k, v in WATCH_EVERY.items()) + ")")
    parser.add_argument("--watch-only", action="store_true",
                        help="only the watch phase, on the warehouse and sandbox an earlier run left in --dir/<scale>"
                             " (they are changed: run it on a copy)")
    args = parser.parse_args()
    if args.saved:
        results = [json.loads(p.read_text()) for p in args.saved]
    else:
        results = []
        for scale in args.scale:
            result = watch_only(scale, args) if args.watch_only else bench_scale(scale, args)
            name = f"scale-{scale}-watch.json" if args.watch_only else f"scale-{scale}.json"
            (args.dir / name).write_text(json.dumps(result, indent=1))
            results.append(result)
    order = {"small": 0, "medium": 1, "large": 2}
    print(report(sorted(results, key=lambda r: order[r["scale"]])))


if __name__ == "__main__":
    main()
