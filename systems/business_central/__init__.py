"""Business Central (Dynamics 365 BC, API v2.0): a system that plays the ERP role (``p2c.erp = "business_central"``).

Its home: the entity table (:mod:`.entities`), the dlt source (:mod:`.source`), the writer
(:mod:`.writer`, JSON ``$batch``), the tenant check (:mod:`.tenant`). dbt files go under
``models/``, ``macros/`` and ``seeds/`` here.
"""

from __future__ import annotations

from systems.business_central import entities, writer
from systems.system import Organisations, System, imported


SYSTEM = System(
    name="business_central",
    role="erp",
    title="Business Central",
    entities=entities.ENTITIES,
    page_size=entities.PAGE_SIZE,
    source=imported("systems.business_central.source:business_central_source"),
    writer=writer.BusinessCentralWriter,
    limits=writer.LIMITS,
    tenant_problems=imported("systems.business_central.tenant:tenant_problems"),
    # the company map names a BC company by its name (bc_company); `company` stays the canonical code
    organisations=Organisations(imported("systems.business_central.tenant:organisations"), table="companies",
                                column="name", noun="company", map_column="bc_company"),
)
