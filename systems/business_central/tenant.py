"""Business Central's tenant check: the companies answer, and every set p2c reads exists.

BC API v2.0 lists its entity sets in the service document (``GET <api root>``); ``GET companies``
must answer at least one company (the app registration sees none without permissions in BC).
:func:`organisations` reads the companies (``p2c init`` drafts the company map from them).
"""

from __future__ import annotations

import httpx

from p2c_core.errors import ConfigError
from p2c_core.odata import PageError, get_page, iter_pages
from systems.business_central.entities import ENTITIES
from systems.system import Organisation


def problems(service_sets: set[str], companies: list[dict]) -> list[str]:
    """What the BC environment lacks (pure)."""
    found = []
    if not companies:
        found.append("ERP companies: Business Central lists no company — give the app registration (Azure Active "
                     "Directory Applications card in BC) permission sets in at least one company")
    for entity in ENTITIES:
        if entity.entity_set not in service_sets:
            found.append(f"ERP {entity.entity_set}: the API v2.0 does not list this entity set — check the base URL "
                         "(…/api/v2.0/) and the Business Central version")
    return found


def tenant_problems(client: httpx.Client, role: str) -> list[str]:
    """Read the service document and the companies over ``client`` and list what is missing."""
    try:
        root = get_page(client, "", entity="service document")
        companies = get_page(client, "companies", entity="companies", params={"$select": "id,name"})
    except PageError as err:
        raise ConfigError(f"sources.{role}.base_url", f"cannot read Business Central's companies: {err}") from None
    sets = {str(s.get("url") or s.get("name")) for s in root["value"] if isinstance(s, dict)}
    return problems(sets, companies["value"])


def company_code(name: str) -> str:
    """The canonical company code a draft map proposes for a BC company: its name's words in lower
    case, joined by ``_`` (``CRONUS USA`` → ``cronus_usa``); canonical keys are ``<code>|<number>``."""
    return "_".join("".join(c.lower() if c.isalnum() else " " for c in name).split())


def organisations(client: httpx.Client) -> list[Organisation]:
    """The companies (``GET companies``), each with its local currency (``companyInformation``'s
    ``currencyCode``: BC's currencies list only the foreign ones). The company map names a BC company
    by its ``name`` (column ``bc_company``)."""
    found = []
    for page in iter_pages(client, "companies", entity="companies", params={"$select": "id,name,displayName"}):
        for company in page["value"]:
            info = get_page(client, f"companies({company['id']})/companyInformation", entity="companyInformation",
                            params={"$select": "currencyCode"})["value"]
            name = str(company.get("name") or "")
            found.append(Organisation(value=name, code=company_code(name), name=str(company.get("displayName") or name),
                                      currency=str(info[0].get("currencyCode") or "") if info else ""))
    return found
