"""The writeback's HTTP clients: one per system, built by the shared ``pipelines`` modules.

``pipelines.connection.resolve_connection`` reads a system's connection from dlt config and
``pipelines.http.make_client`` gives an ``httpx.Client`` (base URL = service root, OAuth2 client
credentials renewed before expiry, retries); the writeback adds nothing to auth, so there is one
way to talk to each system.
"""

from __future__ import annotations

from typing import Iterable

import httpx


class ConnectionConfigError(RuntimeError):
    """A system's connection cannot be resolved from configuration."""


def make_clients(systems: Iterable[str] = ("crm", "erp"), transport: httpx.BaseTransport | None = None) -> dict[str, httpx.Client]:
    try:
        from pipelines.connection import resolve_connection
        from pipelines.http import make_client
    except ImportError as exc:  # the shared HTTP layer is part of the extraction stage
        raise ConnectionConfigError(f"the shared HTTP layer is missing: {exc}") from exc
    clients: dict[str, httpx.Client] = {}
    for system in systems:
        try:
            conn = resolve_connection(system)
        except Exception as exc:  # dlt raises its own config errors; report them as configuration
            raise ConnectionConfigError(f"{system}: {exc}") from exc
        clients[system] = make_client(conn, transport=transport) if transport else make_client(conn)
    return clients
