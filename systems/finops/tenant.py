"""Finance & Operations' tenant check: what p2c needs of the data entities, read from ``$metadata``.

:func:`tenant_problems` lists every entity or field p2c reads that the environment lacks, with the
fix (the preflight and ``p2c doctor`` print them); :func:`organisations` reads the legal entities
(``p2c init`` drafts the company map from them).
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

import httpx

from p2c_core.errors import ConfigError
from p2c_core.odata import iter_pages
from systems.finops.entities import ENTITIES
from systems.system import Organisation


def problems(csdl: bytes) -> list[str]:
    """What the F&O environment lacks, from its CSDL ``$metadata`` (pure)."""
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
    found = []
    for entity in ENTITIES:
        if entity.entity_set not in sets:
            found.append(f"ERP {entity.entity_set}: the data entity is not public (not in $metadata) — "
                         "enable it, or check the F&O version (see README)")
            continue
        fields = types.get(sets[entity.entity_set], set())
        for column in entity.columns:
            if column not in fields:
                found.append(f"ERP {entity.entity_set}: field {column} is missing — extend the data entity, or remove "
                             f"{column} from the {entity.entity_set} columns in systems/finops/entities.py")
    return found


def tenant_problems(client: httpx.Client, role: str) -> list[str]:
    """Read the environment's ``$metadata`` over ``client`` and list what it lacks."""
    try:
        response = client.get("$metadata", headers={"Accept": "application/xml"})
    except httpx.HTTPError as exc:
        raise ConfigError(f"sources.{role}.base_url", f"cannot read the ERP's $metadata: {exc}") from None
    if response.status_code >= 400:
        raise ConfigError(f"sources.{role}.base_url", f"cannot read the ERP's $metadata: HTTP {response.status_code}")
    return problems(response.content)


def organisations(client: httpx.Client) -> list[Organisation]:
    """The legal entities (``LegalEntities``): the company map names each by its id, in lower case
    (``dataAreaId`` is case-insensitive in F&O), and so do canonical keys (``usmf|US-001``)."""
    rows = [r for page in iter_pages(client, "LegalEntities", entity="LegalEntities",
                                     params={"$select": "LegalEntityId,Name,AccountingCurrency"}) for r in page["value"]]
    return [Organisation(value=str(r.get("LegalEntityId") or "").lower(), code=str(r.get("LegalEntityId") or "").lower(),
                         name=str(r.get("Name") or ""), currency=str(r.get("AccountingCurrency") or "")) for r in rows]
