"""The writeback's HTTP clients: one per role (the connection of the system playing it), built by the core's HTTP client.

``p2c_core.connection.resolve_connection`` reads a system's connection from dlt config and
``p2c_core.http.make_client`` gives an ``httpx.Client`` rooted at the service (OAuth2 client
credentials renewed before expiry and on a 401). The clients are built without the transport's
retries: the writeback's executor is the one retry layer for its ``$batch`` POSTs and key look-ups
(``Retry-After`` on 429, backoff on 5xx and dropped connections), so a failing request is not
retried by two layers at once.
Configuration problems surface as :class:`p2c_core.errors.ConfigError` (exit code 2).
"""

from __future__ import annotations

from typing import Iterable

import httpx

from p2c_core.connection import ROLES, Role, resolve_connection
from p2c_core.http import make_client, preflight


def make_clients(
    roles: Iterable[Role] = ROLES,
    *,
    transport: httpx.BaseTransport | None = None,
    check: bool = True,
    max_connections: int = 8,
) -> dict[str, httpx.Client]:
    """One client per role; with ``check`` a token is fetched first, so bad credentials fail
    before anything is written."""
    clients: dict[str, httpx.Client] = {}
    for role in roles:
        conn = resolve_connection(role)
        if check:
            preflight(conn, transport=transport)
        clients[role] = make_client(conn, transport=transport, max_connections=max_connections, retry=None)
    return clients
