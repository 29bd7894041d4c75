"""The organisation check: a company map that names what the systems do not have stops the run,
whichever ERP plays the role (F&O's legal entities, Business Central's companies, by name)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from p2c_core.errors import ConfigError
from p2c_core.settings import PROJECT_DIR
from transform.seeds import company_map_problems, organisation, seed_file


def test_the_shipped_company_map_matches_the_demo_organisation():
    rows = [{"company": "usmf", "business_unit_name": "Contoso US"}, {"company": "demf", "business_unit_name": "Contoso Europe"}]
    assert company_map_problems(rows, {"usmf", "demf"}, {"Contoso", "Contoso US", "Contoso Europe"}) == []


def test_unknown_legal_entity_and_business_unit_are_named():
    rows = [{"company": "frrt", "business_unit_name": "Contoso France"}]
    problems = company_map_problems(rows, {"usmf", "demf"}, {"Contoso US"})
    assert "legal entity 'frrt' (company) does not exist in the ERP (it has: demf, usmf)" in problems
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
    assert "legal entity 'demf' (company) does not exist in the ERP (it has: usmf)" in str(err.value)


def test_the_run_checks_the_seed_dbt_loads(monkeypatch):
    assert seed_file("company_map") == PROJECT_DIR / "seeds" / "company_map.csv"
    monkeypatch.setenv("P2C__ERP", "business_central")
    assert seed_file("company_map") == PROJECT_DIR / "systems/business_central/seeds/business_central/company_map.csv"


def test_a_business_central_map_naming_an_unknown_company_stops_the_run(tmp_path, monkeypatch):
    """BC's map names each company by its name (bc_company), as BC spells it; the check reads the
    extracted companies, not F&O's legal entities (this warehouse has none)."""
    monkeypatch.setenv("P2C__ERP", "business_central")
    db = tmp_path / "p2c.duckdb"
    with duckdb.connect(str(db)) as conn:
        conn.execute("create schema erp_raw; create schema crm_raw")
        conn.execute("create table erp_raw.companies as select * from (values ('CRONUS USA'), ('CRONUS Europe')) t(name)")
        conn.execute("create table crm_raw.businessunits as select * from (values ('Contoso US'), ('Contoso Europe')) t(name)")
    organisation(db)  # the shipped BC map (the seed dbt loads) matches
    bad = tmp_path / "company_map.csv"
    bad.write_text("business_unit_name,company,accounting_currency,company_rank,bc_company\n"
                   "Contoso US,usmf,USD,1,CRONUS USA\nContoso Europe,demf,EUR,2,cronus europe\n")
    with pytest.raises(ConfigError) as err:
        organisation(db, bad)
    assert err.value.setting == str(bad)
    assert str(err.value).count("does not exist") == 1  # the company's name in BC's case, not in any case
    assert "company 'cronus europe' (bc_company) does not exist in the ERP (it has: CRONUS Europe, CRONUS USA)" in str(err.value)
