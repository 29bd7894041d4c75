"""Shared by the reliability suite: run `p2c` as a user would, read its warehouse, report figures.

Both systems' full state, to compare two sandboxes row by row: ``tests/reliability/systems.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import duckdb
import p2c_process

ROOT = Path(__file__).resolve().parents[2]
LONG = os.environ.get("P2C_RELIABILITY_LONG") == "1"  # `make soak`: the long phases too


class Job:
    """``p2c …`` in a subprocess against one sandbox and one warehouse."""

    def __init__(self, sandbox, tmp: Path, **env: str) -> None:
        self.sandbox = sandbox
        self.warehouse = tmp / "warehouse" / "p2c.duckdb"
        self.env = {**os.environ, **sandbox.env(), "P2C_WAREHOUSE": str(self.warehouse),
                    "P2C_REPORTS_DIR": str(tmp / "reports"), **env}

    def p2c(self, *args: str, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
        return p2c_process.run(list(args), {**self.env, **(env or {})}, ROOT, timeout=timeout)

    def run(self, env: dict | None = None) -> tuple[int, dict]:
        out = self.p2c("run", "--json", env=env)
        assert out.stdout.strip(), out.stderr[-3000:]
        return out.returncode, json.loads(out.stdout)

    def sql(self, query: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as conn:
            return conn.execute(query, params or []).fetchall()

    def converge(self, limit: int = 4, env: dict | None = None) -> list[dict]:
        """Run until a run writes nothing (at most ``limit`` runs); the summaries, last one quiet."""
        summaries = []
        for _ in range(limit):
            _, summary = self.run(env)
            summaries.append(summary)
            if written(summary) == 0:
                return summaries
        raise AssertionError(f"no quiet run after {limit} runs: {[s['entities'] for s in summaries]}")


def figure(line: str) -> None:
    """A figure the suite reports: printed, and added to the file ``P2C_FIGURES`` names when set
    (under pytest-xdist a worker's prints never reach the terminal; ``make soak`` and
    ``make reliability`` show the file at the end)."""
    print(line, flush=True)
    if os.environ.get("P2C_FIGURES"):
        with open(os.environ["P2C_FIGURES"], "a", encoding="utf-8") as out:
            out.write(line + "\n")


def written(summary: dict) -> int:
    """Records a run wrote, from its ``--json`` summary (0: a quiet run)."""
    return sum(c.get("created", 0) + c.get("updated", 0) + c.get("deactivated", 0)
               for c in summary["entities"].values())


def unreconciled(job: Job) -> list[tuple]:
    return job.sql("select entity, system, difference from audit.reconciliation where difference <> 0")
