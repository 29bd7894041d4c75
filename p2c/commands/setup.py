"""``p2c init`` (assisted setup of a tenant connection) and ``p2c doctor`` (is the tenant ready?).

``p2c init`` asks for the environment URLs, the Entra tenant, the client id and secret (or takes
them as options, for scripts), writes ``.dlt/config.toml`` and ``.dlt/secrets.toml`` (mode 600;
the secret is never echoed or printed), fetches a token from each system, reads the ERP's legal
entities and the CRM's business units to draft the company map, and ends with the tenant check of
``p2c doctor``. ``p2c doctor`` prints that check: connections, then every column, alternate key
or setting the tenants lack, with the fix. Exit codes: 0 ready, 2 something to fix. What the
commands write and read (the settings files, the company map draft) is :mod:`p2c.setup`'s.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

EXIT_OK, EXIT_CONFIG = 0, 2

console = Console(stderr=True)


# --- the checks -------------------------------------------------------------------------------------


def check(out: Console) -> int:
    """Connections, then the tenant metadata; prints each problem with its fix. The exit code."""
    from p2c import preflight
    from p2c_core.errors import ConfigError

    try:
        preflight.connections()
    except ConfigError as err:
        out.print(f"[red]✗ connection:[/red] {err}")
        return EXIT_CONFIG
    out.print("[green]✓[/green] a token from each system")
    try:
        problems = preflight.tenant_problems()
    except ConfigError as err:
        out.print(f"[red]✗ metadata:[/red] {err}")
        return EXIT_CONFIG
    if problems:
        out.print(f"[red]✗ the tenants lack {len(problems)} thing(s) p2c needs:[/red]")
        for problem in problems:
            out.print(f"  - {problem}", highlight=False, soft_wrap=True)
        return EXIT_CONFIG
    out.print("[green]✓[/green] every column, alternate key and change-tracking setting p2c needs is there")
    return EXIT_OK


def doctor_cmd() -> None:
    """Check the connections and the tenants' metadata (columns, alternate keys, change tracking).

    Prints every problem with its fix; the same check `p2c run` makes before it reads or writes.
    Exit 0 ready, 2 something to fix.
    """
    raise typer.Exit(check(Console()))


def _ask(value: Optional[str], prompt: str, option: str, *, interactive: bool, secret: bool = False,
         default: Optional[str] = None) -> str:
    if value:
        return value
    if not interactive:
        if default is not None:
            return default
        console.print(f"[red]{option} is required[/red] (no terminal to ask on)")
        raise typer.Exit(EXIT_CONFIG)
    return typer.prompt(prompt, hide_input=secret, default=default)


def init_cmd(
    crm_url: Optional[str] = typer.Option(None, help="Dataverse Web API root, e.g. https://contoso.crm.dynamics.com/api/data/v9.2/"),
    erp: Optional[str] = typer.Option(
        None, "--erp", help="The system playing the ERP: finops (Finance & Operations) or business_central; written "
                            "to [p2c] erp (default: the one configured, else finops)."),
    erp_url: Optional[str] = typer.Option(None, help="The ERP's API root: F&O's OData root, e.g. https://contoso.operations."
                                                     "dynamics.com/data/, or BC's API v2.0 root, e.g. https://api."
                                                     "businesscentral.dynamics.com/v2.0/<tenant>/<environment>/api/v2.0/"),
    tenant: Optional[str] = typer.Option(None, help="Entra tenant id (or domain)."),
    client_id: Optional[str] = typer.Option(None, help="The app registration's client id."),
    client_secret: Optional[str] = typer.Option(
        None, envvar="P2C_CLIENT_SECRET", show_envvar=True,
        help="Its client secret (better: the P2C_CLIENT_SECRET environment variable, or the hidden prompt)."),
    erp_client_id: Optional[str] = typer.Option(None, help="A different client id for the ERP (default: the same)."),
    erp_client_secret: Optional[str] = typer.Option(None, envvar="P2C_ERP_CLIENT_SECRET", help="Its secret (default: the same)."),
    crm_token_url: Optional[str] = typer.Option(None, help="Token URL, when not Entra ID's for the tenant (the sandbox)."),
    erp_token_url: Optional[str] = typer.Option(None, help="Token URL for the ERP, when not Entra ID's."),
    crm_scope: Optional[str] = typer.Option(None, help="Token scope (default <environment URL>/.default)."),
    erp_scope: Optional[str] = typer.Option(None, help="Token scope for the ERP (default <environment URL>/.default)."),
    dir: Path = typer.Option(Path("."), "--dir", help="Project directory: writes <dir>/.dlt/ and the company map seed (<dir>/seeds/company_map.csv, or the ERP home's copy)."),
    no_input: bool = typer.Option(False, "--no-input", help="Never prompt (scripts): every value from the options."),
) -> None:
    """Connect p2c to a tenant: write .dlt/config.toml and .dlt/secrets.toml, draft the company map, check.

    ``--erp`` chooses the ERP (written as ``[p2c] erp``). Asks for what the options do not give (the secret with a hidden prompt; it is never printed).
    Then fetches a token from each system, drafts the company map (seeds/company_map.csv, or the
    ERP home's copy where the project has one) from the ERP's organisations (F&O's legal entities,
    BC's companies) and the CRM's business units (beside an existing map as company_map.draft.csv), and
    ends with `p2c doctor`'s check. Exit 0 ready, 2 something to fix.
    """
    from systems import candidates, choice

    interactive = not no_input and sys.stdin.isatty()
    erp = (erp or choice("erp")).strip().lower()
    if erp not in candidates("erp"):
        console.print(f"[red]--erp {erp!r} is not a system that can play the ERP role[/red]; valid: "
                      f"{', '.join(candidates('erp'))}")
        raise typer.Exit(EXIT_CONFIG)
    crm_url = _ask(crm_url, "Dynamics 365 Sales Web API URL (…/api/data/v9.2/)", "--crm-url", interactive=interactive)
    erp_url = _ask(erp_url, f"{candidates('erp')[erp].title} API URL", "--erp-url", interactive=interactive)
    tenant = _ask(tenant, "Entra tenant id", "--tenant", interactive=interactive)
    client_id = _ask(client_id, "Client id", "--client-id", interactive=interactive)
    client_secret = _ask(client_secret, "Client secret (hidden)", "--client-secret / P2C_CLIENT_SECRET",
                         interactive=interactive, secret=True)

    from p2c import preflight, setup
    from p2c_core.errors import ConfigError

    config, secrets, unset = setup.tenant_settings(tenant, {
        "crm": setup.SystemAccess(crm_url, client_id, client_secret, crm_token_url, crm_scope),
        "erp": setup.SystemAccess(erp_url, erp_client_id or client_id, erp_client_secret or client_secret,
                                  erp_token_url, erp_scope),
    })
    config["p2c"] = {"erp": erp}  # every later command plays the same ERP
    dlt_dir = dir / ".dlt"
    setup.write_settings(dlt_dir, config, secrets, unset)
    console.print(f"[green]✓[/green] wrote {dlt_dir / 'config.toml'} and {dlt_dir / 'secrets.toml'} (mode 600)")

    setup.use_settings(config, secrets)  # the checks read exactly what was written
    try:
        preflight.connections()
        organisations, units, map_column = setup.organisations()
    except ConfigError as err:
        console.print(f"[red]✗ connection:[/red] {err}")
        raise typer.Exit(EXIT_CONFIG) from None
    except Exception as exc:  # a service error while reading organisations: name it, no traceback
        console.print(f"[red]✗ reading the ERP's organisations / the CRM's business units failed:[/red] {exc}")
        raise typer.Exit(EXIT_CONFIG) from None
    from transform.seeds import seed_file

    path = setup.write_company_map(seed_file("company_map", dir.resolve()).parent,
                                   setup.draft_company_map(organisations, units, map_column))
    console.print(f"[green]✓[/green] drafted {path} from {len(organisations)} ERP organisations and {len(units)}"
                  " business units: check each pairing, then `p2c transform`")
    raise typer.Exit(check(console))


def register(app: typer.Typer) -> None:
    app.command("init")(init_cmd)
    app.command("doctor")(doctor_cmd)
