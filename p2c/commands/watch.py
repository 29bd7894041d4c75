"""``p2c watch --every 5m``: the nightly cycle, again and again, in one long-lived process.

Every interval it runs what ``p2c run`` runs (extract, dbt build, writeback, report) under the
same run lock, so it never overlaps a ``p2c run`` or another watcher: a cycle that finds the lock
held is skipped and said so. A cycle in which neither system reported a change costs the
extraction (delta links, the ERP's reads) and a fingerprint: ``transform.inputs`` skips dbt when its
inputs are those of a build whose plan was empty. dbt's parsed project is kept between cycles
(re-parsed when a model, macro or seed changes). SIGTERM or Ctrl-C ends the watcher after the
cycle in progress, with exit 0. Each cycle prints one JSON line (``--json``) or a summary line.
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time

import typer
from rich.console import Console

from p2c.lock import LockHeld
from p2c.run import EXIT_CONFIG, default_pipeline, execute
from p2c_core.errors import ConfigError
from transform.runner import keep_parsed

_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_interval(text: str) -> float:
    """``30s``, ``5m``, ``1h`` (or plain seconds) → seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not m or float(m.group(1)) <= 0:
        raise typer.BadParameter(f"--every {text!r}: give a positive interval such as 30s, 5m or 1h")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def watch_cmd(
    every: str = typer.Option("5m", "--every", help="Interval between the starts of two cycles: 30s, 5m, 1h."),
    as_json: bool = typer.Option(False, "--json", help="One JSON line per cycle (for log shippers)."),
    cycles: int = typer.Option(0, "--cycles", help="Stop after this many cycles (0: until SIGTERM)."),
) -> None:
    """Run the sync cycle every interval in one process, until SIGTERM or Ctrl-C (exit 0).
    Never overlaps a `p2c run` (the run lock); a quiet cycle skips dbt."""
    interval = parse_interval(every)
    console = Console(stderr=as_json)
    stop = threading.Event()

    def _stop(signum, _frame) -> None:
        console.print(f"{signal.Signals(signum).name}: stopping after the cycle in progress")
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    keep_parsed(True)
    pipeline = default_pipeline()
    done = 0
    while not stop.is_set():
        started = time.monotonic()
        line: dict = {"cycle": done + 1}
        try:
            summary = execute(pipeline, on_stage=lambda *a: None, on_notice=lambda message: None)
            written = sum(c.get("created", 0) + c.get("updated", 0) for c in summary.entities().values())
            line |= {"run_id": summary.run_id, "status": summary.status, "exit_code": summary.exit_code,
                     "written": written, "message": summary.message,
                     "stages": {s.stage: round(s.seconds, 2) for s in summary.stages}}
        except LockHeld as err:
            line |= {"status": "skipped", "message": f"another run holds the lock: {err}"}
        except ConfigError as err:
            line |= {"status": "failed", "exit_code": EXIT_CONFIG, "message": str(err)}
        line["seconds"] = round(time.monotonic() - started, 2)
        if as_json:
            print(json.dumps(line), flush=True)
        else:
            console.print(f"cycle {line['cycle']}: {line['status']} in {line['seconds']:.1f}s"
                          + (f", {line['written']} written" if "written" in line else "")
                          + (f" — {line['message']}" if line.get("message") else ""), highlight=False)
        done += 1
        if cycles and done >= cycles:
            break
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
    raise typer.Exit(0)


def register(app: typer.Typer) -> None:
    app.command("watch")(watch_cmd)
