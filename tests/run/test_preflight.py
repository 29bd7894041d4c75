"""The organisation check: a company map that names what the systems do not have stops the run."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from p2c_core.errors import ConfigError
from transform.seeds import COMPANY_MAP, company_map_problems, organisation


def test_the_shipped_company_map_matches_the_demo_organisation():
    rows = [{"company": "usmf", "business_unit_name": "Contoso US"}, {"company": "demf", "business_unit_name": "Contoso Europe"}]
    assert company_map_problems(rows, {"usmf", "demf"}, {"Contoso", "Contoso US", "Contoso Europe"}) == []


def test_unknown_legal_entity_and_business_unit_are_named():
    rows = [{"company": "frrt", "business_unit_name": "Contoso France"}]
    problems = company_map_problems(rows, {"usmf", "demf"}, {"Contoso US"})
    assert "legal entity 'frrt' does not exist in the ERP (it has: demf, usmf)" in problems
    assert any("business unit 'Contoso France'" in p for p in problems)


def _warehouse(path: Path) -> Path:
    db = path / "p2c.duckdb"
    with duckdb.connect(str(db)) as conn:
        conn.execute("create schema erp_raw; create schema crm_raw")
        conn.execute("create table erp_raw.legal_entities as select 'usmf' as legal_entity_id")
        conn.execute("create table crm_raw.businessunits as select 'Contoso US' as name")
    return db


def test_a_bad_company_map_is_a_configuration_error_naming_the_seed(tmp_path):
    bad = tmp_path / "company_map.csv"
    bad.write_text("business_unit_name,company,accounting_currency,company_rank\nContoso US,usmf,USD,1\nContoso Europe,demf,EUR,2\n")
    with pytest.raises(ConfigError) as err:
        organisation(_warehouse(tmp_path), bad)
    assert err.value.setting == str(bad)
    assert "legal entity 'demf' does not exist in the ERP (it has: usmf)" in str(err.value)


def test_the_run_checks_the_seed_dbt_loads():
    assert COMPANY_MAP.as_posix().endswith("seeds/company_map.csv") and COMPANY_MAP.exists()
