"""Checks that stop a run before anything is written, each naming the setting to fix.

Connection checks (a token from each system) run before extraction; the organisation check runs
on what was just extracted, before dbt and the writeback: a company map that names a legal entity
the ERP does not have, or a business unit the CRM does not have, would send every record of that
company to quarantine or, worse, to the wrong company.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from p2c.errors import ConfigError
from p2c.settings import PROJECT_DIR

COMPANY_MAP = PROJECT_DIR / "seeds" / "company_map.csv"


def connections() -> None:
    """Resolve both connections and fetch a token from each."""
    from pipelines.connection import SYSTEMS, resolve_connection
    from pipelines.http import preflight

    for system in SYSTEMS:
        preflight(resolve_connection(system))


def company_map_problems(
    rows: list[dict[str, str]], legal_entities: set[str], business_units: set[str]
) -> list[str]:
    """What is wrong with the company map against the two systems' organisations (pure)."""
    problems = []
    known = {e.lower() for e in legal_entities}  # dataAreaId is case-insensitive in F&O
    for row in rows:
        company, unit = row.get("company", "").strip(), row.get("business_unit_name", "").strip()
        if company.lower() not in known:
            problems.append(
                f"legal entity {company!r} does not exist in the ERP (it has: {', '.join(sorted(legal_entities)) or 'none'})"
            )
        if unit not in business_units:
            problems.append(
                f"business unit {unit!r} does not exist in the CRM (it has: {', '.join(sorted(business_units)) or 'none'})"
            )
    return problems


def organisation(warehouse: Path, company_map: Path = COMPANY_MAP) -> None:
    """Raise ConfigError when the company map does not match the extracted organisations."""
    with company_map.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        try:
            legal_entities = {r[0] for r in conn.execute("select legal_entity_id from erp_raw.legal_entities").fetchall()}
            business_units = {r[0] for r in conn.execute("select name from crm_raw.businessunits").fetchall()}
        except duckdb.CatalogException:
            return  # not extracted (a partial extraction): dbt's own tests will speak
    problems = company_map_problems(rows, legal_entities, business_units)
    if problems:
        shown = company_map.relative_to(PROJECT_DIR) if company_map.is_relative_to(PROJECT_DIR) else company_map
        raise ConfigError(str(shown), "; ".join(problems))
