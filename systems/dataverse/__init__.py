"""Dataverse (Dynamics 365 Sales): the system that plays the CRM role.

Its home: the entity table (:mod:`.entities`), the dlt source (:mod:`.source`), the writer
(:mod:`.writer`, with GUID look-ups in :mod:`.lookups`). dbt files go under ``models/`` and
``macros/`` here.
"""

from __future__ import annotations

from systems.dataverse import entities, writer
from systems.system import System, imported


SYSTEM = System(
    name="dataverse",
    role="crm",
    title="Dataverse (Dynamics 365 Sales)",
    entities=entities.ENTITIES,
    page_size=entities.PAGE_SIZE,
    source=imported("systems.dataverse.source:dataverse_source"),
    writer=writer.DataverseWriter,
    limits=writer.LIMITS,
    tenant_problems=imported("systems.dataverse.tenant:tenant_problems"),
)
