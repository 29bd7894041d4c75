"""Shared fixtures: ``sandbox_factory`` starts real sandbox servers for a test.

``sandbox_factory(scale="small", seed=7, **up_options)`` writes demo data into a fresh temp dir
(``python -m sandbox reset``), starts ``python -m sandbox up --foreground`` as a subprocess on two
free loopback ports and waits until both answer. ``up_options`` are ``p2c sandbox up`` options by
their Python names (``rate_limit="5/1"``, ``error_rate=0.2``, ``latency_ms=50``,
``token_lifetime=2``, ``fault_seed=1`` for ``--seed``, ``default_company="demf"``).
Every sandbox started in a session is stopped at its end; ``.stop()`` stops one earlier.

Use it from a module-scoped fixture to share one sandbox between the tests of a file::

    @pytest.fixture(scope="module")
    def sandbox(sandbox_factory):
        sb = sandbox_factory(scale="small")
        yield sb
        sb.stop()
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox import server

os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
os.environ["DO_NOT_TRACK"] = "1"

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _flag(name: str) -> str:
    return "--seed" if name == "fault_seed" else "--" + name.replace("_", "-")


class Sandbox:
    """A running sandbox: URLs, credentials, env vars for p2c, and control."""

    tenant = "p2c-sandbox"
    client_id = "p2c-sandbox-client"
    client_secret = "p2c-sandbox-secret"

    def __init__(self, dir: Path, scale: str | None, seed: int, options: dict[str, Any]):
        self.dir = dir
        self.scale = scale
        self.seed = seed
        self.options = dict(options)
        self.tenant = self.options.get("tenant", Sandbox.tenant)
        self.client_id = self.options.get("client_id", Sandbox.client_id)
        self.client_secret = self.options.get("client_secret", Sandbox.client_secret)
        self.crm_port = free_port()
        self.erp_port = free_port()
        self.bc_port = free_port()
        self.proc: subprocess.Popen | None = None

    # --- addresses ---------------------------------------------------------------------------

    @property
    def crm_origin(self) -> str:
        return f"http://{HOST}:{self.crm_port}"

    @property
    def erp_origin(self) -> str:
        return f"http://{HOST}:{self.erp_port}"

    @property
    def bc_url(self) -> str:
        return f"http://{HOST}:{self.bc_port}/api/v2.0/"

    @property
    def crm_url(self) -> str:
        return f"{self.crm_origin}/api/data/v9.2/"

    @property
    def erp_url(self) -> str:
        return f"{self.erp_origin}/data/"

    @property
    def crm_token_url(self) -> str:
        return f"{self.crm_origin}/{self.tenant}/oauth2/v2.0/token"

    @property
    def erp_token_url(self) -> str:
        return f"{self.erp_origin}/{self.tenant}/oauth2/v2.0/token"

    def env(self, erp: str = "finops") -> dict[str, str]:
        """Environment variables pointing p2c (dlt config) at this sandbox; ``erp``: which emulated
        ERP plays the ERP role (``business_central`` also sets ``P2C__ERP``)."""
        out = {
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "P2C_SANDBOX_DIR": str(self.dir),
        }
        options = server.Options(crm_port=self.crm_port, erp_port=self.erp_port, tenant=self.tenant,
                                 client_id=self.client_id, client_secret=self.client_secret,
                                 bc_port=self.bc_port, erp=erp)
        out.update(options.p2c_env())
        return out

    # --- convenience for tests -----------------------------------------------------------------

    @property
    def bc_origin(self) -> str:
        return f"http://{HOST}:{self.bc_port}"

    def token(self, system: str = "crm") -> str:
        """A bearer token of ``system``: crm, erp (F&O) or bc (Business Central)."""
        origin = {"crm": self.crm_origin, "erp": self.erp_origin, "bc": self.bc_origin}[system]
        url = f"{origin}/{self.tenant}/oauth2/v2.0/token"
        r = httpx.post(url, data={"grant_type": "client_credentials", "client_id": self.client_id,
                                  "client_secret": self.client_secret, "scope": f"{origin}/.default"})
        r.raise_for_status()
        return r.json()["access_token"]

    def client(self, system: str = "crm", **kwargs: Any) -> httpx.Client:
        """An httpx client with a bearer token and the system's base URL (crm, erp = F&O, bc)."""
        base = {"crm": self.crm_url, "erp": self.erp_url, "bc": self.bc_url}[system]
        headers = {"Authorization": f"Bearer {self.token(system)}", "Accept": "application/json"}
        if system == "crm":
            headers.update({"OData-MaxVersion": "4.0", "OData-Version": "4.0"})
        headers.update(kwargs.pop("headers", {}))
        return httpx.Client(base_url=base, headers=headers, timeout=kwargs.pop("timeout", 60), **kwargs)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """Run ``python -m sandbox <args> --dir <dir>``."""
        return subprocess.run([sys.executable, "-m", "sandbox", *args, "--dir", str(self.dir)], cwd=ROOT,
                              env={**os.environ, **self.env()}, capture_output=True, text=True, timeout=600)

    def expire_tokens(self) -> None:
        r = self.cli("expire-tokens")
        assert r.returncode == 0, r.stderr

    def revoke_tokens(self) -> None:
        """Revoke every OAuth access token issued so far (``p2c sandbox revoke-tokens``)."""
        r = self.cli("revoke-tokens")
        assert r.returncode == 0, r.stderr

    # --- lifecycle -------------------------------------------------------------------------------

    def reset(self) -> None:
        if self.scale is None or importlib.util.find_spec("sandbox.demo_data") is None:
            return  # no demo data yet: the servers start over an empty store
        r = self.cli("reset", "--scale", self.scale, "--seed", str(self.seed))
        assert r.returncode == 0, f"sandbox reset failed:\n{r.stdout}\n{r.stderr}"

    def start(self) -> None:
        args = [sys.executable, "-m", "sandbox", "up", "--foreground", "--dir", str(self.dir),
                "--crm-port", str(self.crm_port), "--erp-port", str(self.erp_port), "--bc-port", str(self.bc_port)]
        for name, value in self.options.items():
            if value is None or value is False:
                continue
            args += [_flag(name)] if value is True else [_flag(name), str(value)]
        log = open(self.dir / "server.log", "ab")
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env={**os.environ, **self.env()})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sandbox exited: {(self.dir / 'server.log').read_text()[-3000:]}")
            try:
                httpx.get(self.crm_url, timeout=1)
                httpx.get(self.erp_url, timeout=1)
                httpx.get(self.bc_url, timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("sandbox did not answer within 60 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self, **options: Any) -> None:
        """Stop and start again on the same ports and data, with these options changed."""
        self.stop()
        self.options.update(options)
        self.start()


# The test files that take longest, longest first (seconds on an idle 2-core machine, from
# `--durations`). `make test` runs the suite on two workers by whole files (pytest-xdist
# `--dist loadfile`, with `--no-loadscope-reorder`: pyproject.toml's addopts), handing each worker
# the next file of the collection as it finishes one. These go first, so the last files a worker
# takes are short ones and both workers finish together; xdist's own order (the files with most
# tests first) started the crash chain, the suite's longest file, in the last minutes.
SLOWEST_FIRST = (
    "tests/e2e/test_nightly_run.py",  # ~240 s (both warehouses)
    "tests/reliability/test_crash_resume.py",  # ~235 s
    "tests/reliability/test_concurrent_edits.py",  # ~165 s
    "tests/e2e/test_nightly_run_business_central.py",  # ~105 s
    "tests/writeback/test_e2e_sandbox.py",  # ~95 s
    "tests/orchestration/test_dagster.py",  # ~70 s
    "tests/reliability/test_chaos.py",  # ~70 s
    "tests/models/test_dbt_build.py",  # ~65 s (match coupling's cases included)
    "tests/models/test_dbt_build_business_central.py",  # ~55 s
    "tests/models/test_e2e_sandbox.py",  # ~25 s
    "tests/writeback/test_crash.py",  # ~25 s
    "tests/extract/test_e2e.py",  # ~22 s
    "tests/models/test_sql_portability.py",  # ~21 s
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files of :data:`SLOWEST_FIRST` first, in its order; the rest as collected (a stable
    sort: the tests of a file keep their order)."""
    rank = {path: i for i, path in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


@pytest.fixture(scope="session")
def sandbox_factory():
    made: list[Sandbox] = []
    tmp = tempfile.TemporaryDirectory(prefix="p2c-sandbox-")

    def make(scale: str | None = "small", seed: int = 7, **up_options: Any) -> Sandbox:
        d = Path(tmp.name) / f"sb{len(made)}"
        d.mkdir()
        sb = Sandbox(d, scale, seed, up_options)
        made.append(sb)
        sb.reset()
        sb.start()
        return sb

    yield make
    for sb in made:
        sb.stop()
    tmp.cleanup()


@pytest.fixture(scope="session")
def pg_server():
    """One throwaway PostgreSQL server for the session (tests/pg_server.py); each test that needs a
    warehouse on it takes a fresh database with ``pg_server.database()``."""
    from pg_server import PgServer

    server = PgServer().start()
    yield server
    server.stop()


def warehouse_env(kind: str, request) -> dict[str, str]:
    """The settings that point p2c at a warehouse of ``kind`` ("duckdb" | "postgres"): on
    PostgreSQL a fresh database on the session's server (the DuckDB file path still places dlt's
    and dbt's working files and the run lock)."""
    if kind == "duckdb":
        return {"WAREHOUSE__DESTINATION": "duckdb"}
    server = request.getfixturevalue("pg_server")
    return {"WAREHOUSE__DESTINATION": "postgres", "DESTINATION__POSTGRES__CREDENTIALS": server.database()}
