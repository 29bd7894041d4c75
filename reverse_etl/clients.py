"""The writeback's HTTP clients: one per system, built by the shared ``pipelines`` modules.

``pipelines.connection.resolve_connection`` reads a system's connection from dlt config and
``pipelines.http.make_client`` gives an ``httpx.Client`` rooted at the service (OAuth2 client
credentials renewed before expiry and on a 401; 429 resent after ``Retry-After``). That transport
leaves POSTs that may have reached the server (5xx, dropped connections) to the caller: the
writeback's executor resends those ``$batch`` requests itself, knowing they are safe to resend.
Configuration problems surface as :class:`p2c.errors.ConfigError` (exit code 2).
"""

from __future__ import annotations

from typing import Iterable

import httpx

from pipelines.connection import resolve_connection
from pipelines.http import make_client, preflight

SYSTEMS = ("crm", "erp")


def make_clients(
    systems: Iterable[str] = SYSTEMS,
    *,
    transport: httpx.BaseTransport | None = None,
    check: bool = True,
    max_connections: int = 8,
) -> dict[str, httpx.Client]:
    """One client per system; with ``check`` a token is fetched first, so bad credentials fail
    before anything is written."""
    clients: dict[str, httpx.Client] = {}
    for system in systems:
        conn = resolve_connection(system)
        if check:
            preflight(conn, transport=transport)
        clients[system] = make_client(conn, transport=transport, max_connections=max_connections)
    return clients
