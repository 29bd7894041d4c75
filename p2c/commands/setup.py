"""``p2c init`` (assisted setup of a tenant connection) and ``p2c doctor`` (is the tenant ready?).

``p2c init`` asks for the environment URLs, the Entra tenant, the client id and secret (or takes
them as options, for scripts), writes ``.dlt/config.toml`` and ``.dlt/secrets.toml`` (mode 600;
the secret is never echoed or printed), fetches a token from each system, reads the ERP's legal
entities and the CRM's business units to draft the company map, and ends with the tenant check of
``p2c doctor``. ``p2c doctor`` prints that check: connections, then every column, alternate key
or setting the tenants lack, with the fix. Exit codes: 0 ready, 2 something to fix.
"""

from __future__ import annotations

import csv
import os
import sys
import tomllib
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

EXIT_OK, EXIT_CONFIG = 0, 2
SYSTEMS = ("crm", "erp")
COMPANY_MAP_COLUMNS = ("business_unit_name", "company", "accounting_currency", "company_rank")

console = Console(stderr=True)


# --- TOML files -----------------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return _toml_string(str(value))


def _toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    escaped = "".join(
        "\\" + c if c in '"\\' else f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c
        for c in text
    )
    return f'"{escaped}"'


def _toml_key(key: str) -> str:
    return key if key and all(c.isascii() and (c.isalnum() or c in "_-") for c in key) else _toml_string(key)


def dump_toml(data: dict[str, Any], header: str = "") -> str:
    """Nested tables of scalars as TOML (what dlt's config files hold)."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]

    def table(path: list[str], values: dict[str, Any]) -> None:
        scalars = {k: v for k, v in values.items() if not isinstance(v, dict)}
        if scalars or not path:
            if path:
                lines.extend(["", f"[{'.'.join(map(_toml_key, path))}]"])
            lines.extend(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in scalars.items())
        for k, v in values.items():
            if isinstance(v, dict):
                table(path + [k], v)

    table([], data)
    return "\n".join(lines).lstrip("\n") + "\n"


def _merge(base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in new.items():
        out[k] = _merge(out.get(k, {}), v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _without(data: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    """``data`` without the dotted ``keys`` (a real tenant drops the sandbox's token_url and scope)."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, dict):
            out[k] = _without(v, {x.split(".", 1)[1] for x in keys if x.startswith(k + ".")})
        elif k not in keys:
            out[k] = v
    return out


def write_settings(dlt_dir: Path, config: dict[str, Any], secrets: dict[str, Any], unset: set[str]) -> None:
    """Merge into ``config.toml`` and ``secrets.toml`` (created with mode 600) under ``dlt_dir``."""
    dlt_dir.mkdir(parents=True, exist_ok=True)
    config_path, secrets_path = dlt_dir / "config.toml", dlt_dir / "secrets.toml"
    merged = _merge(_without(_read_toml(config_path), unset), config)
    config_path.write_text(dump_toml(merged, "written by `p2c init`; settings: see README 'Configuration for a real tenant'"),
                           encoding="utf-8")
    merged_secrets = _merge(_read_toml(secrets_path), secrets)
    fd = os.open(secrets_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(dump_toml(merged_secrets, "written by `p2c init`; never commit this file"))
    os.chmod(secrets_path, 0o600)  # an existing file keeps its mode on open: make sure


def _environment(config: dict[str, Any], secrets: dict[str, Any]) -> dict[str, str]:
    """The same settings as dlt environment variables (``SOURCES__CRM__BASE_URL``)."""
    out: dict[str, str] = {}

    def walk(prefix: list[str], values: dict[str, Any]) -> None:
        for k, v in values.items():
            if isinstance(v, dict):
                walk(prefix + [k], v)
            else:
                out["__".join(prefix + [k]).upper()] = str(v)

    walk([], _merge(config, secrets))
    return out


# --- the company map draft --------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return [w for w in "".join(c.lower() if c.isalnum() else " " for c in text).split() if w]


def draft_company_map(legal_entities: list[dict[str, Any]], business_units: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One row per legal entity, each paired with a business unit: a draft for a person to check.

    Child units are the candidates (the root unit only when none is left). A unit whose
    distinguishing words begin words of the legal entity's name is taken first ("Contoso US" for
    "Contoso Entertainment System USA"); the legal entities left get the units left, in order.
    """
    named = [u for u in business_units if u.get("name")]
    root = next((str(u["name"]) for u in named if not u.get("_parentbusinessunitid_value")), "")
    units = [str(u["name"]) for u in named if u.get("_parentbusinessunitid_value")] or [str(u["name"]) for u in named]
    common = set.intersection(*(set(_words(u)) for u in units)) if len(units) > 1 else set()
    entities = sorted(legal_entities, key=lambda e: str(e.get("LegalEntityId", "")).lower())
    chosen: dict[int, str] = {}
    free = list(units)
    for i, entity in enumerate(entities):
        words = _words(str(entity.get("Name") or ""))
        scores = [(sum(any(w.startswith(u) for w in words) for u in set(_words(unit)) - common), unit) for unit in free]
        best = max(scores, default=(0, ""))
        if best[0] > 0:
            chosen[i] = best[1]
            free.remove(best[1])
    for i in range(len(entities)):
        if i not in chosen:
            chosen[i] = free.pop(0) if free else root
    return [
        {
            "business_unit_name": chosen[i],
            "company": str(entity.get("LegalEntityId", "")).lower(),
            "accounting_currency": str(entity.get("AccountingCurrency") or ""),
            "company_rank": str(i + 1),
        }
        for i, entity in enumerate(entities)
    ]


def write_company_map(seeds_dir: Path, rows: list[dict[str, str]]) -> Path:
    """``company_map.csv``, or ``company_map.draft.csv`` beside an existing map (never overwritten)."""
    seeds_dir.mkdir(parents=True, exist_ok=True)
    path = seeds_dir / "company_map.csv"
    if path.exists():
        path = seeds_dir / "company_map.draft.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COMPANY_MAP_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _organisations() -> tuple[list[dict], list[dict]]:
    from p2c_core.connection import resolve_connection
    from p2c_core.http import make_client
    from p2c_core.odata import iter_pages

    with make_client(resolve_connection("erp")) as client:
        legal = [r for page in iter_pages(client, "LegalEntities", entity="LegalEntities",
                                          params={"$select": "LegalEntityId,Name,AccountingCurrency"}) for r in page["value"]]
    with make_client(resolve_connection("crm")) as client:
        units = [r for page in iter_pages(client, "businessunits", entity="businessunits",
                                          params={"$select": "name,_parentbusinessunitid_value"}) for r in page["value"]]
    return legal, units


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
    erp_url: Optional[str] = typer.Option(None, help="F&O OData root, e.g. https://contoso.operations.dynamics.com/data/"),
    tenant: Optional[str] = typer.Option(None, help="Entra tenant id (or domain)."),
    client_id: Optional[str] = typer.Option(None, help="The app registration's client id."),
    client_secret: Optional[str] = typer.Option(
        None, envvar="P2C_CLIENT_SECRET", show_envvar=True,
        help="Its client secret (better: the P2C_CLIENT_SECRET environment variable, or the hidden prompt)."),
    erp_client_id: Optional[str] = typer.Option(None, help="A different client id for F&O (default: the same)."),
    erp_client_secret: Optional[str] = typer.Option(None, envvar="P2C_ERP_CLIENT_SECRET", help="Its secret (default: the same)."),
    crm_token_url: Optional[str] = typer.Option(None, help="Token URL, when not Entra ID's for the tenant (the sandbox)."),
    erp_token_url: Optional[str] = typer.Option(None, help="Token URL for F&O, when not Entra ID's."),
    crm_scope: Optional[str] = typer.Option(None, help="Token scope (default <environment URL>/.default)."),
    erp_scope: Optional[str] = typer.Option(None, help="Token scope for F&O (default <environment URL>/.default)."),
    dir: Path = typer.Option(Path("."), "--dir", help="Project directory: writes <dir>/.dlt/ and <dir>/seeds/company_map.csv."),
    no_input: bool = typer.Option(False, "--no-input", help="Never prompt (scripts): every value from the options."),
) -> None:
    """Connect p2c to a tenant: write .dlt/config.toml and .dlt/secrets.toml, draft the company map, check.

    Asks for what the options do not give (the secret with a hidden prompt; it is never printed).
    Then fetches a token from each system, drafts seeds/company_map.csv from the ERP's legal
    entities and the CRM's business units (beside an existing map as company_map.draft.csv), and
    ends with `p2c doctor`'s check. Exit 0 ready, 2 something to fix.
    """
    interactive = not no_input and sys.stdin.isatty()
    crm_url = _ask(crm_url, "Dynamics 365 Sales Web API URL (…/api/data/v9.2/)", "--crm-url", interactive=interactive)
    erp_url = _ask(erp_url, "Finance & Operations OData URL (…/data/)", "--erp-url", interactive=interactive)
    tenant = _ask(tenant, "Entra tenant id", "--tenant", interactive=interactive)
    client_id = _ask(client_id, "Client id", "--client-id", interactive=interactive)
    client_secret = _ask(client_secret, "Client secret (hidden)", "--client-secret / P2C_CLIENT_SECRET",
                         interactive=interactive, secret=True)
    config: dict[str, Any] = {"sources": {}}
    secrets: dict[str, Any] = {"sources": {}}
    unset: set[str] = set()
    given = {
        "crm": (crm_url, client_id, client_secret, crm_token_url, crm_scope),
        "erp": (erp_url, erp_client_id or client_id, erp_client_secret or client_secret, erp_token_url, erp_scope),
    }
    for system, (url, cid, secret, token_url, scope) in given.items():
        credentials: dict[str, Any] = {"tenant": tenant, "client_id": cid}
        for name, value in (("token_url", token_url), ("scope", scope)):
            if value:
                credentials[name] = value
            else:  # Entra ID's defaults apply: drop what pointed at the sandbox
                unset.add(f"sources.{system}.credentials.{name}")
        config["sources"][system] = {"base_url": url.rstrip("/") + "/", "credentials": credentials}
        secrets["sources"][system] = {"credentials": {"client_secret": secret}}
    dlt_dir = dir / ".dlt"
    write_settings(dlt_dir, config, secrets, unset)
    console.print(f"[green]✓[/green] wrote {dlt_dir / 'config.toml'} and {dlt_dir / 'secrets.toml'} (mode 600)")

    # the checks read exactly what was written, wherever this process runs from
    for name in [k for k in os.environ if k.startswith(("SOURCES__CRM__", "SOURCES__ERP__"))]:
        del os.environ[name]
    os.environ.update(_environment(config, secrets))
    from p2c import preflight
    from p2c_core.errors import ConfigError

    try:
        preflight.connections()
        legal, units = _organisations()
    except ConfigError as err:
        console.print(f"[red]✗ connection:[/red] {err}")
        raise typer.Exit(EXIT_CONFIG) from None
    except Exception as exc:  # a service error while reading organisations: name it, no traceback
        console.print(f"[red]✗ reading legal entities / business units failed:[/red] {exc}")
        raise typer.Exit(EXIT_CONFIG) from None
    path = write_company_map(dir / "seeds", draft_company_map(legal, units))
    console.print(f"[green]✓[/green] drafted {path} from {len(legal)} legal entities and {len(units)} business units:"
                  " check each pairing, then `p2c transform`")
    raise typer.Exit(check(console))


def register(app: typer.Typer) -> None:
    app.command("init")(init_cmd)
    app.command("doctor")(doctor_cmd)
