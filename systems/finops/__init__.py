"""Finance & Operations (Dynamics 365 F&O): a system that plays the ERP role (``p2c.erp = "finops"``).

Its home: the entity table (:mod:`.entities`), the dlt source (:mod:`.source`), the writer
(:mod:`.writer`). dbt files go under ``models/`` and ``macros/`` here.
"""

from __future__ import annotations

from systems.finops import entities, writer
from systems.system import Organisations, System, imported


SYSTEM = System(
    name="finops",
    role="erp",
    title="Finance & Operations",
    entities=entities.ENTITIES,
    page_size=entities.PAGE_SIZE,
    source=imported("systems.finops.source:finops_source"),
    writer=writer.FinOpsWriter,
    limits=writer.LIMITS,
    tenant_problems=imported("systems.finops.tenant:tenant_problems"),
    organisations=Organisations(imported("systems.finops.tenant:organisations"), table="legal_entities",
                                column="legal_entity_id", noun="legal entity",
                                map_column="company", case_sensitive=False),
    company_of=writer.company_of,
)
