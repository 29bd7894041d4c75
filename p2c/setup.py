"""What ``p2c init`` writes and reads, importable without the CLI.

dlt's settings files (:func:`write_settings`: ``config.toml`` merged, ``secrets.toml`` with mode
600; :func:`tenant_settings` builds them from what a person gave; :func:`use_settings` makes this
process read them), and the company map draft (:func:`organisations` reads the ERP's organisations
(legal entities, companies) and the CRM's business units, :func:`draft_company_map` pairs them,
:func:`write_company_map` writes the seed, never over an existing one). The commands
(:mod:`p2c.commands.setup`) ask, print and check.
"""

from __future__ import annotations

import csv
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from systems.system import Organisation

COMPANY_MAP_COLUMNS = ("business_unit_name", "company", "accounting_currency", "company_rank")


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


@dataclass(frozen=True)
class SystemAccess:
    """How p2c reaches one system: its API root and the app registration's credentials."""

    url: str
    client_id: str
    client_secret: str
    token_url: str | None = None  # default: Entra ID's for the tenant
    scope: str | None = None  # default: <environment URL>/.default


def tenant_settings(tenant: str, systems: dict[str, SystemAccess]) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
    """dlt's settings for the tenant: ``(config, secrets, unset)``; ``unset``: the dotted keys to
    drop from an existing config (a token URL or scope left unset takes Entra ID's default, so what
    pointed at the sandbox goes)."""
    config: dict[str, Any] = {"sources": {}}
    secrets: dict[str, Any] = {"sources": {}}
    unset: set[str] = set()
    for system, access in systems.items():
        credentials: dict[str, Any] = {"tenant": tenant, "client_id": access.client_id}
        for name, value in (("token_url", access.token_url), ("scope", access.scope)):
            if value:
                credentials[name] = value
            else:
                unset.add(f"sources.{system}.credentials.{name}")
        config["sources"][system] = {"base_url": access.url.rstrip("/") + "/", "credentials": credentials}
        secrets["sources"][system] = {"credentials": {"client_secret": access.client_secret}}
    return config, secrets, unset


def use_settings(config: dict[str, Any], secrets: dict[str, Any]) -> None:
    """Make this process read exactly these settings (as dlt's environment variables), whatever the
    environment and the working directory held before."""
    for name in [k for k in os.environ if k.startswith(("SOURCES__CRM__", "SOURCES__ERP__"))]:
        del os.environ[name]
    os.environ.update(_environment(config, secrets))


# --- the company map draft --------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return [w for w in "".join(c.lower() if c.isalnum() else " " for c in text).split() if w]


def draft_company_map(organisations: list[Organisation], business_units: list[dict[str, Any]],
                      map_column: str = "company") -> list[dict[str, str]]:
    """One row per ERP organisation (legal entity, company), each paired with a business unit: a
    draft for a person to check. ``map_column``: the map's column naming the organisation in the
    ERP's terms (:class:`systems.Organisations`); when it is not ``company``, ``company`` holds the
    canonical code the draft proposes.

    Child units are the candidates (the root unit only when none is left). A unit whose
    distinguishing words begin words of the organisation's name is taken first ("Contoso US" for
    "Contoso Entertainment System USA"); the organisations left get the units left, in order.
    """
    named = [u for u in business_units if u.get("name")]
    root = next((str(u["name"]) for u in named if not u.get("_parentbusinessunitid_value")), "")
    units = [str(u["name"]) for u in named if u.get("_parentbusinessunitid_value")] or [str(u["name"]) for u in named]
    common = set.intersection(*(set(_words(u)) for u in units)) if len(units) > 1 else set()
    entities = sorted(organisations, key=lambda e: e.code)
    chosen: dict[int, str] = {}
    free = list(units)
    for i, entity in enumerate(entities):
        words = _words(entity.name)
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
            "company": entity.code,
            "accounting_currency": entity.currency,
            "company_rank": str(i + 1),
            map_column: entity.value,
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
        writer = csv.DictWriter(fh, fieldnames=list(dict.fromkeys([*COMPANY_MAP_COLUMNS, *(rows[0] if rows else ())])))
        writer.writeheader()
        writer.writerows(rows)
    return path


def organisations() -> tuple[list[Organisation], list[dict], str]:
    """The ERP's organisations (as the system playing the ERP role declares them: F&O's legal
    entities, BC's companies), the CRM's business units, and the company map's column that names
    the organisations, read from the systems (the company map is drafted from them)."""
    from p2c_core.connection import resolve_connection
    from p2c_core.http import make_client
    from p2c_core.odata import iter_pages
    from systems import system_for

    declared = system_for("erp").organisations
    if declared is None:
        raise ValueError(f"{system_for('erp').title} declares no organisations: the company map cannot be drafted")
    with make_client(resolve_connection("erp")) as client:
        found = declared.read(client)
    with make_client(resolve_connection("crm")) as client:
        units = [r for page in iter_pages(client, "businessunits", entity="businessunits",
                                          params={"$select": "name,_parentbusinessunitid_value"}) for r in page["value"]]
    return found, units, declared.map_column
