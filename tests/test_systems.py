"""The registry: which system plays each role, chosen by ``p2c.erp``; a bad value is a ConfigError naming it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import systems
from p2c_core.errors import ConfigError
import p2c_process

ROOT = Path(__file__).resolve().parents[1]


def test_each_role_has_its_system_by_default(monkeypatch):
    monkeypatch.delenv("P2C__ERP", raising=False)
    assert systems.ROLES == ("crm", "erp")
    assert systems.system_for("crm").name == "dataverse"
    assert systems.system_for("erp").name == "finops"
    assert [systems.system_for(role).role for role in systems.ROLES] == list(systems.ROLES)
    assert (systems.other("crm"), systems.other("erp")) == ("erp", "crm")


def test_p2c_erp_picks_the_erp(monkeypatch):
    monkeypatch.setenv("P2C__ERP", "FinOps")
    assert systems.system_for("erp").name == "finops"
    monkeypatch.setenv("P2C__ERP", " Business_Central ")
    assert systems.system_for("erp").name == "business_central"
    assert systems.system_for("erp").limits.max_batch == 100


def test_an_unknown_erp_is_a_config_error_naming_the_setting_and_the_valid_values(monkeypatch):
    monkeypatch.setenv("P2C__ERP", "sap")
    with pytest.raises(ConfigError) as err:
        systems.check()
    assert err.value.setting == "p2c.erp"
    assert "'sap'" in err.value.message and "valid: finops, business_central" in err.value.message
    assert "P2C__ERP" in err.value.message


def test_every_system_declares_each_entity_set_once_with_its_canonical_entity():
    for system in systems.SYSTEMS:
        sets = [e.entity_set for e in system.entities]
        assert len(sets) == len(set(sets)), system.name
        assert [e.entity_set for e in system.entities if e.canonical == "customer"] == [
            {"dataverse": "accounts", "finops": "CustomersV3", "business_central": "customers"}[system.name]]
        assert system.limits.batch <= system.limits.max_batch


def test_p2c_run_with_an_unknown_erp_exits_2_naming_the_setting_and_writes_nothing(tmp_path):
    env = {**os.environ, "P2C__ERP": "sap", "P2C_WAREHOUSE": str(tmp_path / "wh" / "p2c.duckdb"),
           "P2C_REPORTS_DIR": str(tmp_path / "reports"), "COLUMNS": "200"}
    out = p2c_process.run(["run"], env, ROOT, timeout=300)
    text = out.stdout + out.stderr
    assert out.returncode == 2, text
    assert "p2c.erp" in text and "finops" in text and "business_central" in text, text
    assert not (tmp_path / "wh" / "p2c.duckdb").exists()  # nothing written
    assert not (tmp_path / "reports").exists()


def test_dbt_is_told_the_erp_the_registry_resolved(monkeypatch, tmp_path):
    """The dbt project's `system_of('erp')` reads P2C__ERP; p2c exports the registry's (normalised) choice
    before every dbt invocation, so the models build the keys of the system p2c writes to."""
    from transform.runner import prepare_dbt

    monkeypatch.setenv("P2C__ERP", " FinOps ")
    monkeypatch.setenv("P2C_WAREHOUSE", str(tmp_path / "p2c.duckdb"))
    prepare_dbt(tmp_path / "p2c.duckdb", builds=False)
    assert os.environ["P2C__ERP"] == "finops"
    assert "env_var('P2C__ERP'" in (ROOT / "macros" / "system_keys.sql").read_text(encoding="utf-8")


def test_each_systems_entity_table_feeds_the_entities_the_seed_lists():
    """seeds/entities.csv lists the canonical entities and the CRM's set of each; each ERP's home lists
    the ERP's set of each (systems/<erp>/seeds/<erp>/erp_sets.csv), for every ERP p2c knows; each
    system's entity table says which canonical entity a set feeds. They agree, so adding an entity to
    one and not the other fails here, naming it."""
    import csv

    from transform.seeds import ENTITIES, PROJECT_DIR, canonical_entities

    rows = list(csv.DictReader(ENTITIES.open(encoding="utf-8")))
    assert canonical_entities() == tuple(r["entity"] for r in sorted(rows, key=lambda r: int(r["sequence"])))
    checked = [(systems.system_for("crm"), {r["entity"]: r["crm_set"] for r in rows})]
    for system in systems.candidates("erp").values():
        path = PROJECT_DIR / "systems" / system.name / "seeds" / system.name / "erp_sets.csv"
        erp_sets = {r["entity"]: r["erp_set"] for r in csv.DictReader(path.open(encoding="utf-8"))}
        assert set(erp_sets) == {r["entity"] for r in rows}, f"{path}: not the entities of seeds/entities.csv"
        checked.append((system, erp_sets))
    for system, set_of in checked:
        sets = {e.entity_set: e for e in system.entities}
        seeded: dict[str, set[str]] = {}
        for entity, entity_set in set_of.items():
            seeded.setdefault(entity_set, set()).add(entity)
        missing = sorted(s for s in seeded if s not in sets)
        assert not missing, f"{system.name}'s entity table lacks {missing} (its entity sets seed)"
        fed = {e.entity_set: e.canonical for e in system.entities if e.canonical}
        wrong = {s: c for s, c in fed.items() if c not in seeded.get(s, set())}
        assert not wrong, f"{system.name}'s entity table feeds entities from sets its entity sets seed does not give them: {wrong}"


def test_a_stale_writeback_model_of_the_other_erp_is_never_read(monkeypatch):
    """Once BC plays the ERP, F&O's old models (erp__customers_v3) are stale: not read, not written."""
    monkeypatch.setenv("P2C__ERP", "business_central")
    sets, stale = systems.writeback_tables("erp")
    assert "customers" in sets and "CustomersV3" not in sets
    assert "erp__customers_v3" in stale and "erp__customers" not in stale
    monkeypatch.setenv("P2C__ERP", "finops")
    sets, stale = systems.writeback_tables("erp")
    assert "CustomersV3" in sets and "erp__sales_orders" in stale and "erp__customers_v3" not in stale
    assert systems.writeback_tables("crm")[1] == frozenset()


def test_the_erp_dataset_filled_by_the_other_erp_is_recognised(monkeypatch):
    """Switching p2c.erp on an existing warehouse: a raw table only the other ERP loads marks the
    role's dataset as the other system's, and the extraction drops it and reads afresh."""
    from pipelines.extract import _other_systems_tables

    monkeypatch.setenv("P2C__ERP", "business_central")
    others = _other_systems_tables("erp")
    assert "customers_v3" in others and "released_products_v2" in others
    assert "customers" not in others and "items" not in others and "salespeople_purchasers" not in others
    monkeypatch.setenv("P2C__ERP", "finops")
    assert {"items", "sales_orders", "salespeople_purchasers"} <= _other_systems_tables("erp")
    assert not _other_systems_tables("crm")
