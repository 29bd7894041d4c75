"""Run the emulated systems in one process: the CRM app, the F&O app and the Business Central app
on three loopback ports.

Each app (``sandbox.dataverse.create_app`` / ``sandbox.finops.create_app`` /
``sandbox.business_central.create_app``, called with its :class:`~sandbox.store.Store` and the
:class:`Options`) is the bare protocol; this module wraps it in the token endpoint + bearer check
(:mod:`sandbox.auth`) and the faults (:mod:`sandbox.faults`; for BC also its documented rate limit,
per client), then serves them with uvicorn on one event loop. ``<dir>/sandbox.pid`` (JSON: pid,
ports, URLs) lets ``p2c sandbox down``/``status`` find the running servers.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from sandbox.auth import REVOCATION_FILE, AuthMiddleware, Credentials, TokenIssuer
from sandbox.auth import caller
from sandbox.business_central_schema import BC_ENTITIES
from sandbox.faults import FaultMiddleware, FaultOptions, finops_throttled, finops_unavailable
from sandbox.schema import CRM_ENTITIES, ERP_ENTITIES
from sandbox.store import Store

HOST = "127.0.0.1"
CRM_PREFIX = "/api/data/v9.2/"
ERP_PREFIX = "/data/"
BC_PREFIX = "/api/v2.0/"
PIDFILE = "sandbox.pid"
FAULTS_FILE = "faults.json"  # what the fault middlewares injected, per system


@dataclass
class Options:
    """Everything ``p2c sandbox up`` can set; handed to both ``create_app`` functions."""

    data_dir: Path = Path(".sandbox")
    crm_port: int = 8701
    erp_port: int = 8702
    tenant: str = "p2c-sandbox"
    client_id: str = "p2c-sandbox-client"
    client_secret: str = "p2c-sandbox-secret"
    token_lifetime: int = 3599
    rate_limit: tuple[int, float] | None = None
    error_rate: float = 0.0
    latency_ms: int = 0
    seed: int | None = None
    default_company: str = "usmf"
    throttle_rate: float = 0.0
    drop_rate: float = 0.0
    spike_rate: float = 0.0
    spike_ms: int = 2000
    retry_after: int = 1
    chaos: bool = False  # serve damaged rows in paged reads (sandbox.chaos), seeded by ``seed``
    extra: dict[str, Any] = field(default_factory=dict)
    # a tenant without some customisations (sandbox.dataverse_metadata.customize)
    without_columns: str = ""
    without_keys: str = ""
    untracked: str = ""
    # Business Central (sandbox.business_central): its port, its documented limits (per client)
    bc_port: int = 8703
    bc_rate_limit: tuple[int, float] | None = (6_000, 300.0)  # --rate-limit overrides it
    bc_max_concurrent: int = 5
    # which emulated ERP the printed exports point p2c's ERP role at: finops | business_central
    erp: str = "finops"

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.tenant, self.client_id, self.client_secret, self.token_lifetime)

    @property
    def faults(self) -> FaultOptions:
        return FaultOptions(self.rate_limit, self.error_rate, self.latency_ms, self.seed, self.throttle_rate,
                            self.drop_rate, self.spike_rate, self.spike_ms, self.retry_after)

    @property
    def crm_url(self) -> str:
        return f"http://{HOST}:{self.crm_port}{CRM_PREFIX}"

    @property
    def erp_url(self) -> str:
        return f"http://{HOST}:{self.erp_port}{ERP_PREFIX}"

    @property
    def bc_url(self) -> str:
        return f"http://{HOST}:{self.bc_port}{BC_PREFIX}"

    def p2c_env(self) -> dict[str, str]:
        """The environment variables (dlt's naming) that point p2c at this sandbox."""
        out: dict[str, str] = {}
        erp_port, erp_url = (self.bc_port, self.bc_url) if self.erp == "business_central" else (self.erp_port, self.erp_url)
        if self.erp != "finops":
            out["P2C__ERP"] = self.erp  # p2c's setting p2c.erp: which system plays the ERP role
        for system, port, url in (("CRM", self.crm_port, self.crm_url), ("ERP", erp_port, erp_url)):
            origin, p = f"http://{HOST}:{port}", f"SOURCES__{system}__"
            out[p + "BASE_URL"] = url
            out[p + "CREDENTIALS__TENANT"] = self.tenant
            out[p + "CREDENTIALS__CLIENT_ID"] = self.client_id
            out[p + "CREDENTIALS__CLIENT_SECRET"] = self.client_secret
            out[p + "CREDENTIALS__TOKEN_URL"] = f"{origin}/{self.tenant}/oauth2/v2.0/token"
            out[p + "CREDENTIALS__SCOPE"] = f"{origin}/.default"
        return out

    def export_lines(self) -> list[str]:
        """``export …`` lines for a shell: the secrets (never in p2c's committed config), and every
        other setting this sandbox serves differently from the defaults ``.dlt/config.toml`` names."""
        defaults = Options().p2c_env()
        return [
            f"export {name}={shlex.quote(value)}"
            for name, value in self.p2c_env().items()
            if name.endswith("CLIENT_SECRET") or defaults.get(name) != value
        ]


def crm_store(data_dir: Path) -> Store:
    return Store(Path(data_dir) / "crm.sqlite", CRM_ENTITIES)


def erp_store(data_dir: Path) -> Store:
    return Store(Path(data_dir) / "erp.sqlite", ERP_ENTITIES)


def bc_store(data_dir: Path) -> Store:
    return Store(Path(data_dir) / "bc.sqlite", BC_ENTITIES)


def wrap(app: Any, options: Options, system: str) -> Any:
    """The protocol app behind faults and auth (auth outermost, so 401 comes before throttling)."""
    if system == "crm":
        faults = FaultMiddleware(app, options.faults, api_prefix=CRM_PREFIX)
        issuer_prefix = CRM_PREFIX
    elif system == "bc":
        from sandbox.business_central import throttled, unavailable

        limits = replace(options.faults, rate_limit=options.rate_limit or options.bc_rate_limit)
        faults = FaultMiddleware(app, limits, api_prefix=BC_PREFIX, throttled_body=throttled,
                                 unavailable_body=unavailable, client_key=caller)
        issuer_prefix = BC_PREFIX
    else:
        faults = FaultMiddleware(app, options.faults, api_prefix=ERP_PREFIX,
                                 throttled_body=finops_throttled, unavailable_body=finops_unavailable)
        issuer_prefix = ERP_PREFIX
    options.extra.setdefault("faults", {})[system] = faults
    faults.on_fault = lambda: write_fault_counts(options)
    issuer = TokenIssuer(options.credentials, revocation=Path(options.data_dir) / REVOCATION_FILE)
    return AuthMiddleware(faults, issuer, api_prefix=issuer_prefix)


def write_fault_counts(options: Options) -> None:
    """``faults.json``: per system, the API requests seen and the faults injected so far."""
    report = {system: {"requests": mw.requests, **mw.counts} for system, mw in options.extra.get("faults", {}).items()}
    path = Path(options.data_dir) / FAULTS_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(report, indent=1))
    tmp.replace(path)


def build_apps(options: Options) -> tuple[Any, Any, Any]:
    from sandbox import business_central, dataverse, finops  # the apps import this module's Options

    crm = wrap(dataverse.create_app(crm_store(options.data_dir), options), options, "crm")
    erp = wrap(finops.create_app(erp_store(options.data_dir), options), options, "erp")
    bc = wrap(business_central.create_app(bc_store(options.data_dir), options), options, "bc")
    return crm, erp, bc


def pidfile(data_dir: Path) -> Path:
    return Path(data_dir) / PIDFILE


def read_pidfile(data_dir: Path) -> dict[str, Any] | None:
    """The running servers' record, or None when none is running (a stale file is removed)."""
    p = pidfile(data_dir)
    try:
        info = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    if not _alive(int(info.get("pid", 0))):
        p.unlink(missing_ok=True)
        return None
    return info


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def serve(options: Options) -> None:
    """Serve the three apps until SIGINT/SIGTERM; writes and removes the pidfile."""
    import uvicorn

    options.data_dir = Path(options.data_dir)
    options.data_dir.mkdir(parents=True, exist_ok=True)
    for port in (options.crm_port, options.erp_port, options.bc_port):
        if not port_free(port):
            raise SystemExit(f"{HOST}:{port} is in use; choose other ports with --crm-port/--erp-port/--bc-port")
    crm, erp, bc = build_apps(options)
    servers = [
        uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level="warning", access_log=False,
                                      lifespan="off", timeout_keep_alive=30))
        for app, port in ((crm, options.crm_port), (erp, options.erp_port), (bc, options.bc_port))
    ]
    info = {"pid": os.getpid(), "crm_url": options.crm_url, "erp_url": options.erp_url, "bc_url": options.bc_url,
            "crm_port": options.crm_port, "erp_port": options.erp_port, "bc_port": options.bc_port,
            "tenant": options.tenant, "client_id": options.client_id}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for s in servers:
            s.install_signal_handlers = lambda: None  # type: ignore[method-assign]

        def stop() -> None:
            for s in servers:
                s.should_exit = True

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        tasks = [asyncio.create_task(s.serve()) for s in servers]
        while not all(s.started for s in servers):
            if any(t.done() for t in tasks):
                stop()
                break
            await asyncio.sleep(0.05)
        if all(s.started for s in servers):
            pidfile(options.data_dir).write_text(json.dumps(info))
        try:
            await asyncio.gather(*tasks)
        finally:
            write_fault_counts(options)
            p = pidfile(options.data_dir)
            try:
                if json.loads(p.read_text()).get("pid") == os.getpid():
                    p.unlink()
            except (OSError, ValueError):
                pass
        for t in tasks:
            if t.exception() is None and not all(s.started for s in servers):
                raise SystemExit(f"could not listen on {HOST}:{options.crm_port}, {HOST}:{options.erp_port} and "
                                 f"{HOST}:{options.bc_port}")

    asyncio.run(main())


def options_dict(options: Options) -> dict[str, Any]:
    d = asdict(replace(options, extra={}))
    d["data_dir"] = str(options.data_dir)
    return d
