"""Shared by the reliability suite: run `p2c` as a user would, and dump both systems' stores.

``dump_systems(dir)`` reads every row of every entity set of both sandbox stores (SQLite, read
directly — not through the API, so a test compares what the systems hold, not what they serve)
and normalises what legitimately differs between two runs of the same business: row versions and
create/modify stamps, and the GUIDs a service generated on create. A generated GUID is replaced,
everywhere it appears (its own key and every lookup pointing at it), by a label built from the
row's other values, so two stores are equal exactly when they hold the same records with the same
values and the same links.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb

from sandbox import server

ROOT = Path(__file__).resolve().parents[2]
# row versions and the stamps a service sets to "now" on create/edit (Dataverse createdon/modifiedon,
# F&O OrderCreationDateTime/LastEditDateTime): they differ between any two runs of the same business
VOLATILE = {"_version", "versionnumber", "createdon", "modifiedon", "overriddencreatedon", "OrderCreationDateTime",
            "LastEditDateTime"}
LONG = os.environ.get("P2C_RELIABILITY_LONG") == "1"  # `make soak`: the long phases too


class Job:
    """``p2c …`` in a subprocess against one sandbox and one warehouse."""

    def __init__(self, sandbox, tmp: Path, **env: str) -> None:
        self.sandbox = sandbox
        self.warehouse = tmp / "warehouse" / "p2c.duckdb"
        self.env = {**os.environ, **sandbox.env(), "P2C_WAREHOUSE": str(self.warehouse),
                    "P2C_REPORTS_DIR": str(tmp / "reports"), **env}

    def p2c(self, *args: str, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "p2c.cli", *args], cwd=ROOT, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=timeout)

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
    return sum(c.get("created", 0) + c.get("updated", 0) + c.get("deleted", 0) for c in summary["entities"].values())


def unreconciled(job: Job) -> list[tuple]:
    return job.sql("select entity, system, difference from audit.reconciliation where difference <> 0")


def _is_guid(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 36:
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def dump_systems(data_dir: Path, known_guids: set[str] | None = None) -> dict[str, Counter]:
    """``{"crm/accounts": Counter(normalised rows), …}`` for every entity set of both stores.

    ``known_guids``: GUIDs both compared stores share (the demo data's); every other GUID is
    one a service generated and is replaced by its row's label."""
    raw: dict[str, list[dict]] = {}
    keys: dict[str, tuple[str, ...]] = {}
    for system, opener in (("crm", server.crm_store), ("erp", server.erp_store)):
        store = opener(data_dir)
        try:
            for name, entity in store.entities.items():
                raw[f"{system}/{name}"] = list(store.iter_rows(name))
                keys[f"{system}/{name}"] = entity.key
        finally:
            store.close()
    known = known_guids or set()
    labels: dict[str, str] = {}
    for name, rows in raw.items():
        for row in rows:
            plain = {k: v for k, v in row.items() if k not in VOLATILE and not _is_guid(v)}
            for k in keys[name]:
                v = row.get(k)
                if _is_guid(v) and v not in known:
                    labels[v] = f"<{name} {json.dumps(plain, sort_keys=True, default=str)}>"
    out: dict[str, Counter] = {}
    for name, rows in raw.items():
        out[name] = Counter(
            json.dumps({k: labels.get(v, v) if isinstance(v, str) else v for k, v in row.items() if k not in VOLATILE},
                       sort_keys=True, default=str)
            for row in rows
        )
    return out


def guids(data_dir: Path) -> set[str]:
    """Every GUID the stores hold now (taken right after a reset: the shared demo GUIDs)."""
    found: set[str] = set()
    for name, counter in dump_systems(data_dir).items():
        for row in counter:
            found.update(v for v in json.loads(row).values() if _is_guid(v))
    return found


def diff(a: dict[str, Counter], b: dict[str, Counter]) -> dict[str, dict[str, list[str]]]:
    """Per entity set, the rows only in ``a`` and only in ``b`` (empty: the same records)."""
    out = {}
    for name in sorted(set(a) | set(b)):
        only_a, only_b = a.get(name, Counter()) - b.get(name, Counter()), b.get(name, Counter()) - a.get(name, Counter())
        if only_a or only_b:
            out[name] = {"only_first": sorted(only_a.elements())[:5], "only_second": sorted(only_b.elements())[:5],
                         "counts": [sum(only_a.values()), sum(only_b.values())]}
    return out
