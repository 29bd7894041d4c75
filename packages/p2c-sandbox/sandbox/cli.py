"""``p2c sandbox …`` (and ``python -m sandbox …``): run and manage the local emulators.

``up`` serves the Dataverse (CRM), F&O (ERP) and Business Central apps on three loopback ports, in
the background by default (``--foreground`` for tests and debugging); ``down``/``status`` find it through the
pidfile in the data directory; ``reset`` writes demo data; ``activity`` plays a day of business
against the running servers; ``expire-tokens`` expires every change-tracking delta token issued so far.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from sandbox import server
from sandbox.auth import Credentials
from sandbox.dataverse import DELTA_MIN_META
from sandbox.faults import STORM, FaultOptions, parse_rate_limit

app = typer.Typer(
    help="The local sandbox: emulated Dynamics 365 Sales (Dataverse), Finance & Operations and Business Central servers.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()

DEFAULT_DIR = Path(os.environ.get("P2C_SANDBOX_DIR", ".sandbox"))
DirOpt = typer.Option(DEFAULT_DIR, "--dir", help="Data directory (env P2C_SANDBOX_DIR).")


def _wait_listening(ports: list[int], proc: subprocess.Popen | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        ok = True
        for port in ports:
            try:
                with socket.create_connection((server.HOST, port), timeout=0.5):
                    pass
            except OSError:
                ok = False
                break
        if ok:
            return True
        time.sleep(0.1)
    return False


@app.command()
def up(
    dir: Path = DirOpt,
    crm_port: int = typer.Option(8701, help="Port of the Dataverse (CRM) server."),
    erp_port: int = typer.Option(8702, help="Port of the F&O (ERP) server."),
    bc_port: int = typer.Option(8703, help="Port of the Business Central (API v2.0) server."),
    erp: str = typer.Option("finops", help="Which ERP the printed exports point p2c at: finops or business_central (sets P2C__ERP)."),
    tenant: str = typer.Option("p2c-sandbox", help="Entra tenant in the token URL."),
    client_id: str = typer.Option("p2c-sandbox-client", help="The one client id the token endpoints accept."),
    client_secret: str = typer.Option("p2c-sandbox-secret", help="Its client secret."),
    token_lifetime: int = typer.Option(3599, help="Access token lifetime in seconds (expires_in)."),
    rate_limit: Optional[str] = typer.Option(None, help="Service protection: N/S = at most N requests in S seconds, then 429."),
    error_rate: float = typer.Option(0.0, help="Fraction of API requests answered 503 (0..1)."),
    latency_ms: int = typer.Option(0, help="Added latency per API request, in milliseconds."),
    throttle_rate: float = typer.Option(0.0, help="Fraction of API requests answered 429 with Retry-After (0..1)."),
    drop_rate: float = typer.Option(0.0, help="Fraction of API requests processed, then dropped halfway through the response body."),
    spike_rate: float = typer.Option(0.0, help="Fraction of API requests delayed by --spike-ms."),
    spike_ms: int = typer.Option(2000, help="Length of a latency spike, in milliseconds."),
    retry_after: int = typer.Option(1, help="Seconds in the Retry-After of a --throttle-rate 429."),
    storm: bool = typer.Option(False, "--storm", help="Fault storm: 429 on 1/5, 503 on 1/20, 2% dropped mid-body, 2% delayed 2 s (overrides those options)."),
    chaos: bool = typer.Option(False, "--chaos", help="Serve damaged rows in paged reads: null/missing keys, wrong JSON types, 10,000-character text, control characters, unpaired surrogates, unknown option-set/enum values, dates out of range, extra columns (listed in chaos.json)."),
    seed: Optional[int] = typer.Option(None, help="Seed for the injected faults and the chaos (reproducible runs)."),
    default_company: str = typer.Option("usmf", help="ERP: the caller's default company (dataAreaId)."),
    without_columns: str = typer.Option("", help="CRM: columns the tenant lacks, 'set.column,…' (e.g. accounts.p2c_customergroupid)."),
    without_keys: str = typer.Option("", help="CRM: entity sets whose alternate keys were never defined, 'set,…'."),
    untracked: str = typer.Option("", help="CRM: entity sets without change tracking, 'set,…'."),
    detach: bool = typer.Option(True, "--detach/--foreground", help="Run in the background (default) or in this process."),
) -> None:
    """Start the servers (CRM on --crm-port, F&O on --erp-port, Business Central on --bc-port) over the data in --dir."""
    if erp not in ("finops", "business_central"):
        raise typer.BadParameter(f"--erp must be finops or business_central, not {erp!r}")
    try:
        rl = parse_rate_limit(rate_limit)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if storm:
        throttle_rate, error_rate, drop_rate = STORM["throttle_rate"], STORM["error_rate"], STORM["drop_rate"]
        spike_rate, spike_ms = STORM["spike_rate"], STORM["spike_ms"]
    try:
        FaultOptions(rl, error_rate, latency_ms, seed, throttle_rate, drop_rate, spike_rate, spike_ms, retry_after)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    running = server.read_pidfile(dir)
    if running:
        console.print(f"[yellow]The sandbox already runs (pid {running['pid']}): {running['crm_url']} {running['erp_url']}")
        raise typer.Exit(0)
    options = server.Options(dir, crm_port, erp_port, tenant, client_id, client_secret, token_lifetime, rl,
                             error_rate, latency_ms, seed, default_company, throttle_rate, drop_rate, spike_rate,
                             spike_ms, retry_after, chaos=chaos, without_columns=without_columns,
                             without_keys=without_keys, untracked=untracked, bc_port=bc_port, erp=erp)
    try:
        from sandbox.dataverse_metadata import customize
        from sandbox.schema import CRM

        customize(CRM, without_columns, without_keys, untracked)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if not detach:
        console.print(f"CRM (Dataverse) {options.crm_url}\nERP (F&O)       {options.erp_url}\n"
                      f"ERP (BC)        {options.bc_url}")
        server.serve(options)
        return
    dir.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "sandbox", "up", "--foreground", "--dir", str(dir), "--crm-port", str(crm_port),
            "--erp-port", str(erp_port), "--bc-port", str(bc_port), "--tenant", tenant, "--client-id", client_id, "--client-secret",
            client_secret, "--token-lifetime", str(token_lifetime), "--error-rate", str(error_rate),
            "--latency-ms", str(latency_ms), "--default-company", default_company, "--throttle-rate",
            str(throttle_rate), "--drop-rate", str(drop_rate), "--spike-rate", str(spike_rate), "--spike-ms",
            str(spike_ms), "--retry-after", str(retry_after)]
    if rate_limit:
        args += ["--rate-limit", rate_limit]
    if seed is not None:
        args += ["--seed", str(seed)]
    if chaos:
        args.append("--chaos")
    for flag, value in (("--without-columns", without_columns), ("--without-keys", without_keys), ("--untracked", untracked)):
        if value:
            args += [flag, value]
    log = open(dir / "sandbox.log", "ab")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    if not _wait_listening([crm_port, erp_port, bc_port], proc, 60) or server.read_pidfile(dir) is None and not _pid_soon(dir):
        console.print(f"[red]The sandbox did not start; see {dir / 'sandbox.log'}")
        raise typer.Exit(1)
    console.print(f"[green]Sandbox up[/] (pid {proc.pid})\n  CRM (Dataverse) {options.crm_url}\n  ERP (F&O)       {options.erp_url}"
                  f"\n  ERP (BC)        {options.bc_url}")
    console.print("To run p2c against it from this shell (`p2c run`), paste:", highlight=False)
    for line in options.export_lines():
        console.out(line, highlight=False)


def _pid_soon(dir: Path) -> bool:
    for _ in range(50):
        if server.read_pidfile(dir):
            return True
        time.sleep(0.1)
    return False


@app.command()
def down(dir: Path = DirOpt) -> None:
    """Stop the servers started from --dir."""
    info = server.read_pidfile(dir)
    if not info:
        console.print("The sandbox is not running.")
        return
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if server.read_pidfile(dir) is None:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        server.pidfile(dir).unlink(missing_ok=True)
    console.print(f"Sandbox stopped (pid {pid}).")


@app.command()
def status(dir: Path = DirOpt) -> None:
    """Show what the sandbox serves: URLs, credentials and record counts per entity set."""
    info = server.read_pidfile(dir)
    if info:
        console.print(f"[green]running[/] (pid {info['pid']})\n  CRM (Dataverse) {info['crm_url']}\n"
                      f"  ERP (F&O)       {info['erp_url']}\n  ERP (BC)        {info.get('bc_url', '-')}\n  tenant {info['tenant']}, client id {info['client_id']}")
    else:
        console.print("[yellow]not running[/]")
    for label, path, opener in (("CRM", dir / "crm.sqlite", server.crm_store), ("ERP", dir / "erp.sqlite", server.erp_store),
                                ("BC", dir / "bc.sqlite", server.bc_store)):
        if not path.exists():
            console.print(f"{label}: no data in {dir} (run `p2c sandbox reset`)")
            continue
        store = opener(dir)
        table = Table(title=f"{label} records ({path})")
        table.add_column("entity set")
        table.add_column("rows", justify="right")
        for name in store.entities:
            table.add_row(name, f"{store.count(name):,}")
        console.print(table)
        store.close()


@app.command()
def reset(
    dir: Path = DirOpt,
    scale: str = typer.Option("small", help="tiny (~500 records, for fast tests), small (~2k), medium (~100k) or large (~1M)."),
    seed: int = typer.Option(7, help="Seed of the deterministic demo data."),
) -> None:
    """Replace the data in --dir by deterministic demo data (stop the sandbox first)."""
    from sandbox.demo_data import SCALES

    if scale not in SCALES:
        raise typer.BadParameter(f"--scale must be {', '.join(SCALES)}")
    if server.read_pidfile(dir):
        console.print("[red]The sandbox is running on this directory; run `p2c sandbox down` first.")
        raise typer.Exit(1)
    from sandbox import demo_data

    summary = demo_data.reset(dir, scale, seed)
    _print_summary(f"Demo data ({scale}, seed {seed}) in {dir}", summary)


@app.command()
def activity(
    dir: Path = DirOpt,
    seed: int = typer.Option(1, help="Seed of the simulated day."),
    crm_url: Optional[str] = typer.Option(None, help="CRM base URL (default: the running sandbox's)."),
    erp_url: Optional[str] = typer.Option(None, help="ERP base URL (default: the running sandbox's)."),
    bc_url: Optional[str] = typer.Option(None, help="Business Central base URL (default: the running sandbox's; none: no BC day)."),
    tenant: str = typer.Option("p2c-sandbox", help="Entra tenant."),
    client_id: str = typer.Option("p2c-sandbox-client", help="Client id."),
    client_secret: str = typer.Option("p2c-sandbox-secret", help="Client secret."),
) -> None:
    """Play a day of business (sellers in the CRM, order processing in F&O and in Business Central) against the running servers."""
    info = server.read_pidfile(dir) or {}
    crm = crm_url or info.get("crm_url")
    erp = erp_url or info.get("erp_url")
    if not crm or not erp:
        console.print("[red]No running sandbox found in --dir; start it or pass --crm-url/--erp-url.")
        raise typer.Exit(2)
    from sandbox import activity as activity_mod

    summary = activity_mod.run(dir, crm, erp, seed, Credentials(tenant, client_id, client_secret),
                               bc_url=bc_url or info.get("bc_url"))
    _print_summary(f"Activity (seed {seed})", summary)


@app.command("expire-tokens")
def expire_tokens(dir: Path = DirOpt) -> None:
    """Expire every change-tracking delta token issued so far (the next delta request needs a full sync)."""
    store = server.crm_store(dir)
    store.set_meta(DELTA_MIN_META, store.bump_version())
    store.close()
    console.print("Every delta token issued so far is now expired.")


@app.command("revoke-tokens")
def revoke_tokens_cmd(dir: Path = DirOpt) -> None:
    """Revoke every OAuth access token the servers on --dir issued so far: they answer 401 to it, and
    a client must fetch a new token (works while the servers run)."""
    from sandbox.auth import revoke_tokens

    gen = revoke_tokens(dir)
    console.print(f"Every access token issued so far is revoked (token generation {gen}).")


def _print_summary(title: str, summary: dict) -> None:
    table = Table(title=title)
    table.add_column("item")
    table.add_column("value", justify="right")
    for k, v in _flatten(summary):
        table.add_row(k, f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v))
    console.print(table)


def _flatten(d: dict, prefix: str = ""):
    for k, v in d.items():
        if isinstance(v, dict):
            yield from _flatten(v, f"{prefix}{k}.")
        elif isinstance(v, list):
            yield f"{prefix}{k}", f"{len(v)} items"
        else:
            yield f"{prefix}{k}", v
