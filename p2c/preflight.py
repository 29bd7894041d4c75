"""Checks that stop a run before anything is written, each naming the setting to fix.

The role check (``p2c.erp`` names a system p2c knows) runs before the run opens the warehouse;
connection checks (a token from each system) and the tenant check run before extraction. The
tenant check reads each system's metadata — Dataverse ``EntityDefinitions`` (attributes, alternate
keys, ``ChangeTrackingEnabled``) and F&O ``$metadata`` — and lists every column, key or setting p2c
needs that the tenant lacks, with the fix (``p2c doctor`` prints the same list). The checks that
run on what was just extracted, before dbt (the company map against the extracted organisations,
the seeds dbt loads), are the transform stage's own: :mod:`transform.seeds`.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

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


def _entity_definitions_query(entity_sets: list[str]) -> dict[str, str]:
    """One EntityDefinitions request for every set p2c reads: attributes and keys expanded."""
    return {
        "$select": "LogicalName,EntitySetName,ChangeTrackingEnabled",
        "$filter": " or ".join(f"EntitySetName eq '{s}'" for s in entity_sets),
        "$expand": "Attributes($select=LogicalName),Keys($select=LogicalName,KeyAttributes,EntityKeyIndexStatus)",
    }


def crm_problems(definitions: list[dict[str, Any]]) -> list[str]:
    """What the CRM tenant lacks, from its EntityDefinitions rows (pure)."""
    from p2c_core.entity import lookup_name
    from systems.dataverse.entities import ALTERNATE_KEYS, CUSTOM_PREFIX, ENTITIES

    by_set = {d.get("EntitySetName"): d for d in definitions}
    problems = []
    for entity in ENTITIES:
        found = by_set.get(entity.entity_set)
        if found is None:
            problems.append(f"CRM {entity.entity_set}: no table has this entity set name — install the table or "
                            f"remove it from systems/dataverse/entities.py")
            continue
        table = found.get("LogicalName") or entity.entity_set
        attributes = {a.get("LogicalName") for a in found.get("Attributes") or []}
        for column in entity.columns:
            name = lookup_name(column)
            if name in attributes:
                continue
            if name.startswith(CUSTOM_PREFIX):
                fix = f"add the custom column {name} to the {table} table (import the p2c solution, or create it)"
            else:
                fix = f"the tenant has no {name} on {table}: remove it from the {entity.entity_set} columns in systems/dataverse/entities.py"
            problems.append(f"CRM {entity.entity_set}: column {name} is missing — {fix}")
        if not found.get("ChangeTrackingEnabled"):
            problems.append(f"CRM {entity.entity_set}: change tracking is off — enable Track changes on the {table} "
                            "table (Power Apps: Tables > table > Properties > Advanced options)")
        wanted = ALTERNATE_KEYS.get(entity.entity_set)
        if wanted:
            keys = {tuple(sorted(k.get("KeyAttributes") or ())): k for k in found.get("Keys") or []}
            key = keys.get(tuple(sorted(wanted)))
            shown = ", ".join(wanted)
            if key is None:
                problems.append(f"CRM {entity.entity_set}: alternate key ({shown}) is missing — define it on the {table} "
                                "table (Power Apps: Tables > table > Keys > New key)")
            elif (key.get("EntityKeyIndexStatus") or "Active") != "Active":
                problems.append(f"CRM {entity.entity_set}: alternate key ({shown}) is {key['EntityKeyIndexStatus']}, "
                                "not Active — wait for its index job, or reactivate the key")
    return problems


def erp_problems(csdl: bytes) -> list[str]:
    """What the F&O environment lacks, from its CSDL ``$metadata`` (pure)."""
    from systems.finops.entities import ENTITIES

    try:
        root = ET.fromstring(csdl)
    except ET.ParseError as exc:
        return [f"ERP $metadata is not CSDL XML ({exc})"]
    types: dict[str, set[str]] = {}
    sets: dict[str, str] = {}
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "EntityType":
            types[element.get("Name", "")] = {
                p.get("Name", "") for p in element if p.tag.rsplit("}", 1)[-1] == "Property"
            }
        elif tag == "EntitySet":
            sets[element.get("Name", "")] = element.get("EntityType", "").rsplit(".", 1)[-1]
    problems = []
    for entity in ENTITIES:
        if entity.entity_set not in sets:
            problems.append(f"ERP {entity.entity_set}: the data entity is not public (not in $metadata) — "
                            "enable it, or check the F&O version (see README)")
            continue
        fields = types.get(sets[entity.entity_set], set())
        for column in entity.columns:
            if column not in fields:
                problems.append(f"ERP {entity.entity_set}: field {column} is missing — extend the data entity, or remove "
                                f"{column} from the {entity.entity_set} columns in systems/finops/entities.py")
    return problems


def tenant_problems(transports: dict[str, httpx.BaseTransport] | None = None) -> list[str]:
    """Read both systems' metadata and list every problem (empty: ready)."""
    from p2c_core.connection import resolve_connection
    from p2c_core.http import make_client
    from p2c_core.odata import PageError, get_page
    from systems.dataverse.entities import ENTITIES as CRM_ENTITIES

    transports = transports or {}
    problems: list[str] = []
    with make_client(resolve_connection("crm"), transport=transports.get("crm")) as client:
        try:
            body = get_page(client, "EntityDefinitions", entity="EntityDefinitions",
                            params=_entity_definitions_query([e.entity_set for e in CRM_ENTITIES]))
        except PageError as err:
            raise ConfigError("sources.crm.base_url", f"cannot read the CRM's table definitions: {err}") from None
        problems += crm_problems(body["value"])
    with make_client(resolve_connection("erp"), transport=transports.get("erp")) as client:
        try:
            response = client.get("$metadata", headers={"Accept": "application/xml"})
        except httpx.HTTPError as exc:
            raise ConfigError("sources.erp.base_url", f"cannot read the ERP's $metadata: {exc}") from None
        if response.status_code >= 400:
            raise ConfigError("sources.erp.base_url", f"cannot read the ERP's $metadata: HTTP {response.status_code}")
        problems += erp_problems(response.content)
    return problems


def tenant(transports: dict[str, httpx.BaseTransport] | None = None) -> None:
    """Raise ConfigError (exit 2) naming everything the tenants lack."""
    problems = tenant_problems(transports)
    if problems:
        raise ConfigError(TENANT_SETTING, f"{len(problems)} problem(s), fix them before the first run:\n  - "
                          + "\n  - ".join(problems))
