"""Checks that stop a run before anything is written, each naming the setting to fix.

The role check (``p2c.erp`` names a system p2c knows) runs before the run opens the warehouse;
connection checks (a token from each system) and the tenant check run before extraction. The
tenant check asks the system of each role (``System.tenant_problems``, in the system's home: Dataverse
``EntityDefinitions``, F&O ``$metadata``, Business Central's sets and companies) and lists every
column, key or setting p2c needs that the tenant lacks, with the fix (``p2c doctor`` prints the same list). The checks that
run on what was just extracted, before dbt (the company map against the extracted organisations,
the seeds dbt loads), are the transform stage's own: :mod:`transform.seeds`.
"""

from __future__ import annotations

import httpx

from p2c_core.errors import ConfigError


TENANT_SETTING = "tenant metadata"  # what a ConfigError of the tenant check names


def roles() -> None:
    """Which system plays each role: ``p2c.erp`` must name one (a ``ConfigError`` naming it and the
    valid values otherwise); checked before the run opens the warehouse."""
    import systems

    systems.check()


def connections() -> None:
    """Check which system plays each role, resolve both connections and fetch a token from each."""
    from p2c_core.connection import ROLES, resolve_connection
    from p2c_core.http import preflight

    roles()
    for role in ROLES:
        preflight(resolve_connection(role))


def before_run() -> None:
    """Everything checked before a run extracts or writes: connections, then the tenants' metadata."""
    connections()
    tenant()


def tenant_problems(transports: dict[str, httpx.BaseTransport] | None = None) -> list[str]:
    """Ask the system of each role what its tenant lacks (empty: ready); each system's check is its
    own (``System.tenant_problems``: Dataverse EntityDefinitions, F&O ``$metadata``, Business Central's
    service document and companies)."""
    import systems
    from p2c_core.connection import ROLES, resolve_connection
    from p2c_core.http import make_client

    transports = transports or {}
    problems: list[str] = []
    for role in ROLES:
        with make_client(resolve_connection(role), transport=transports.get(role)) as client:
            problems += systems.system_for(role).tenant_problems(client, role)
    return problems


def tenant(transports: dict[str, httpx.BaseTransport] | None = None) -> None:
    """Raise ConfigError (exit 2) naming everything the tenants lack."""
    problems = tenant_problems(transports)
    if problems:
        raise ConfigError(TENANT_SETTING, f"{len(problems)} problem(s), fix them before the first run:\n  - "
                          + "\n  - ".join(problems))
