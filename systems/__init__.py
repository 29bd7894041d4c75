"""The systems p2c talks to, and which one plays each role: the registry.

Two roles meet in the merge, ``crm`` and ``erp`` (:data:`ROLES`); a system (its home is
``systems/<name>/``: entity table, dlt source, writer) declares the role it plays. The stages loop
over the roles and ask :func:`system_for`; they never branch on a system's name. The datasets, the
dlt pipelines and the connection settings are the role's (``crm_raw``, ``p2c_crm``,
``[sources.crm]``): the system behind a role changes none of them.

The deployment picks the system of the ERP role with the dlt setting ``p2c.erp`` (``[p2c] erp =
"finops"`` or ``"business_central"`` in ``.dlt/config.toml``, env ``P2C__ERP``), default ``finops``; the CRM role has one
system, Dataverse. A value that names no system of the role is a ``ConfigError`` naming the setting
and the valid values (:func:`check`, run by the preflight before anything is written).

Adding a system: its home under ``systems/<name>/`` with a ``SYSTEM``, and a line in
:data:`SYSTEMS` (Business Central, an alternative ERP to F&O, was added so).
"""

from __future__ import annotations

from p2c_core.connection import ROLES, Role
from p2c_core.errors import ConfigError
from systems import business_central, dataverse, finops
from systems.system import BatchLimits, Organisation, Organisations, Record, Request, System, Unresolved, Writer

__all__ = ["ROLES", "Role", "SYSTEMS", "System", "Writer", "Request", "Record", "BatchLimits", "Unresolved", "Organisation", "Organisations",
           "system_for", "other", "check", "choice", "writeback_tables"]

# every system p2c can talk to
SYSTEMS: tuple[System, ...] = (dataverse.SYSTEM, finops.SYSTEM, business_central.SYSTEM)
# the roles the deployment chooses a system for: role → (dlt setting, default system)
CHOSEN_BY: dict[Role, tuple[str, str]] = {"erp": ("p2c.erp", finops.SYSTEM.name)}


def candidates(role: Role) -> dict[str, System]:
    """The systems that can play ``role``, by name."""
    return {s.name: s for s in SYSTEMS if s.role == role}


def choice(role: Role) -> str:
    """The name of the system configured for ``role`` (not checked: see :func:`system_for`)."""
    if role not in CHOSEN_BY:
        return next(iter(candidates(role)))
    setting, default = CHOSEN_BY[role]
    import dlt  # imported here: dlt's import is slow and pure callers need none of it

    value = dlt.config.get(setting)
    return str(value).strip().lower() if value is not None and str(value).strip() else default


def system_for(role: Role) -> System:
    """The system playing ``role``; ``ConfigError`` naming the setting when it names no such system."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    name, found = choice(role), candidates(role)
    if name not in found:
        setting = CHOSEN_BY[role][0]
        env = setting.upper().replace(".", "__")
        raise ConfigError(setting, f"{name!r} is not a system that can play the {role.upper()} role; valid: "
                                   f"{', '.join(found)} (set [{setting.split('.')[0]}] {setting.split('.')[1]} in .dlt/config.toml, or {env})")
    return found[name]


def other(role: Role) -> Role:
    """The other side of the merge (``crm`` ⇄ ``erp``)."""
    (found,) = (r for r in ROLES if r != role)
    return found


def check() -> None:
    """Every role resolves to a system (the preflight calls it before anything is written)."""
    for role in ROLES:
        system_for(role)


def writeback_tables(role: Role) -> tuple[frozenset[str], frozenset[str]]:
    """(the sets, the stale writeback models) of ``role``: the entity sets of the system playing it,
    and the models ``<role>__<set>`` named after a set only another system of the role has. A
    warehouse that once ran another ERP keeps that system's models (``erp__customers_v3`` once
    Business Central is the ERP): the writeback never reads them, and never writes to a set that
    is not the playing system's."""
    from p2c_core.entity import snake

    own = {e.entity_set for e in system_for(role).entities}
    others = {e.entity_set for s in candidates(role).values() for e in s.entities} - own
    return frozenset(own), frozenset(f"{role}__{snake(name)}" for name in others) - {f"{role}__{snake(n)}" for n in own}
