"""Dataverse's tenant check: what p2c needs of the tables, read from ``EntityDefinitions``.

:func:`tenant_problems` lists every column, alternate key or table setting p2c needs that the
tenant lacks, with the fix (the preflight and ``p2c doctor`` print them).
"""

from __future__ import annotations

from typing import Any

import httpx

from p2c_core.entity import lookup_name
from p2c_core.errors import ConfigError
from p2c_core.odata import PageError, get_page
from systems.dataverse.entities import ALTERNATE_KEYS, CUSTOM_PREFIX, ENTITIES


def _entity_definitions_query(entity_sets: list[str]) -> dict[str, str]:
    """One EntityDefinitions request for every set p2c reads: attributes and keys expanded."""
    return {
        "$select": "LogicalName,EntitySetName,ChangeTrackingEnabled",
        "$filter": " or ".join(f"EntitySetName eq '{s}'" for s in entity_sets),
        "$expand": "Attributes($select=LogicalName),Keys($select=LogicalName,KeyAttributes,EntityKeyIndexStatus)",
    }


def problems(definitions: list[dict[str, Any]]) -> list[str]:
    """What the CRM tenant lacks, from its EntityDefinitions rows (pure)."""
    by_set = {d.get("EntitySetName"): d for d in definitions}
    found_problems = []
    for entity in ENTITIES:
        found = by_set.get(entity.entity_set)
        if found is None:
            found_problems.append(f"CRM {entity.entity_set}: no table has this entity set name — install the table or "
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
            found_problems.append(f"CRM {entity.entity_set}: column {name} is missing — {fix}")
        if not found.get("ChangeTrackingEnabled"):
            found_problems.append(f"CRM {entity.entity_set}: change tracking is off — enable Track changes on the {table} "
                                  "table (Power Apps: Tables > table > Properties > Advanced options)")
        wanted = ALTERNATE_KEYS.get(entity.entity_set)
        if wanted:
            keys = {tuple(sorted(k.get("KeyAttributes") or ())): k for k in found.get("Keys") or []}
            key = keys.get(tuple(sorted(wanted)))
            shown = ", ".join(wanted)
            if key is None:
                found_problems.append(f"CRM {entity.entity_set}: alternate key ({shown}) is missing — define it on the {table} "
                                      "table (Power Apps: Tables > table > Keys > New key)")
            elif (key.get("EntityKeyIndexStatus") or "Active") != "Active":
                found_problems.append(f"CRM {entity.entity_set}: alternate key ({shown}) is {key['EntityKeyIndexStatus']}, "
                                      "not Active — wait for its index job, or reactivate the key")
    return found_problems


def tenant_problems(client: httpx.Client, role: str) -> list[str]:
    """Read the tenant's EntityDefinitions over ``client`` and list what it lacks."""
    try:
        body = get_page(client, "EntityDefinitions", entity="EntityDefinitions",
                        params=_entity_definitions_query([e.entity_set for e in ENTITIES]))
    except PageError as err:
        raise ConfigError(f"sources.{role}.base_url", f"cannot read the CRM's table definitions: {err}") from None
    return problems(body["value"])
