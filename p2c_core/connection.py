"""One system's connection settings, resolved from dlt configuration.

API (shared by the extraction and the writeback)::

    conn = resolve_connection("crm")        # a role: "crm" or "erp"
    conn.base_url, conn.token_url, conn.client_id, conn.scope, conn.tenant
    conn.client_secret                      # never shown by repr() / str()

A connection is per role (``[sources.crm]``, ``[sources.erp]``): the connection of whichever
system plays the role (the registry, :mod:`systems`, says which). Settings, in dlt's naming (``.dlt/config.toml``, ``.dlt/secrets.toml`` or environment variables
such as ``SOURCES__CRM__CREDENTIALS__CLIENT_SECRET``)::

    [sources.<role>]                base_url          required (service root, e.g. …/api/data/v9.2/)
    [sources.<role>.credentials]    tenant            required unless token_url is set
                                    client_id         required
                                    client_secret     required (a secret)
                                    token_url         default: Entra ID's v2 endpoint for the tenant
                                    scope             default: <origin of base_url>/.default

A missing or malformed setting raises :class:`p2c_core.errors.ConfigError` naming the setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from p2c_core.errors import ConfigError

# the roles a system plays in the merge; each has one connection, one dlt pipeline and one raw dataset
Role = Literal["crm", "erp"]
ROLES: tuple[Role, ...] = ("crm", "erp")

ENTRA_TOKEN_URL = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"


@dataclass(frozen=True)
class Connection:
    """Where the system of a role lives and how to get a token for it."""

    system: Role  # the role (its settings are [sources.<role>])
    base_url: str
    token_url: str
    client_id: str
    scope: str
    tenant: str | None = None
    # kept out of repr/eq so it never lands in a log line, a traceback or an assertion diff
    client_secret: str = field(default="", repr=False, compare=False)

    def setting(self, name: str) -> str:
        """The dotted dlt name of one of this connection's settings (for error messages)."""
        section = "" if name == "base_url" else "credentials."
        return f"sources.{self.system}.{section}{name}"


def _lookup(key: str, secret: bool = False) -> str | None:
    import dlt  # imported here: dlt's import is slow and pure callers need none of it

    accessor = dlt.secrets if secret else dlt.config
    value = accessor.get(key)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _check_url(setting: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(setting, f"is not an http(s) URL: {url!r}")
    return url


def resolve_connection(system: Role) -> Connection:
    """Read ``[sources.<role>]`` from dlt config/secrets; raise ``ConfigError`` naming what is missing."""
    if system not in ROLES:
        raise ConfigError("system", f"unknown system {system!r}; expected one of {', '.join(ROLES)}")
    prefix = f"sources.{system}"
    cred = f"{prefix}.credentials"

    base_url = _lookup(f"{prefix}.base_url")
    if not base_url:
        raise ConfigError(f"{prefix}.base_url", "is not set (the service root URL)")
    base_url = _check_url(f"{prefix}.base_url", base_url.rstrip("/") + "/")

    client_id = _lookup(f"{cred}.client_id")
    if not client_id:
        raise ConfigError(f"{cred}.client_id", "is not set")
    client_secret = _lookup(f"{cred}.client_secret", secret=True)
    if not client_secret:
        env = f"{cred}.client_secret".upper().replace(".", "__")
        raise ConfigError(f"{cred}.client_secret", f"is not set (put it in .dlt/secrets.toml or {env})")

    tenant = _lookup(f"{cred}.tenant")
    token_url = _lookup(f"{cred}.token_url")
    if not token_url:
        if not tenant:
            raise ConfigError(f"{cred}.tenant", "is not set (needed for Entra ID's token URL when token_url is not set)")
        token_url = ENTRA_TOKEN_URL.format(tenant=tenant)
    token_url = _check_url(f"{cred}.token_url", token_url)

    scope = _lookup(f"{cred}.scope")
    if not scope:
        origin = urlsplit(base_url)
        scope = f"{origin.scheme}://{origin.netloc}/.default"

    return Connection(
        system=system,
        base_url=base_url,
        token_url=token_url,
        client_id=client_id,
        scope=scope,
        tenant=tenant,
        client_secret=client_secret,
    )
