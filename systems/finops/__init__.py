"""Finance & Operations (Dynamics 365 F&O): a system that plays the ERP role (``p2c.erp = "finops"``).

Its home: the entity table (:mod:`.entities`), the dlt source (:mod:`.source`), the writer
(:mod:`.writer`). dbt files go under ``models/`` and ``macros/`` here.
"""

from __future__ import annotations

from systems.finops import entities, writer
from systems.system import System


def _source(client, entities=None, on_page=None, **options):
    from systems.finops.source import finops_source  # dlt's import is slow: on first use

    return finops_source(client, entities, on_page, **options)


SYSTEM = System(
    name="finops",
    role="erp",
    title="Finance & Operations",
    entities=entities.ENTITIES,
    page_size=entities.PAGE_SIZE,
    source=_source,
    writer=writer.FinOpsWriter,
    limits=writer.LIMITS,
    company_of=writer.company_of,
)
