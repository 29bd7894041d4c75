"""Match-based coupling in `dbt build` (seeds/match_rules.csv): the small scenario of test_dbt_build plus
a customer each system numbers differently (same name and post code: coupled, not duplicated) and a CRM
customer with two ERP look-alikes (quarantined with both listed, nothing created)."""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pytest

from raw_fixture import _account, _customer, insert, load_scenario
from test_dbt_build import ROOT, _env, dbt, rows


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("match") / "p2c.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        load_scenario(conn)
        insert(conn, "crm", "accounts", [
            _account("a-20", "ACC-00020", "Northwind Traders", address1_postalcode="98101"),
            _account("a-21", "ACC-00021", "Fabrikam", address1_postalcode="98052"),
        ])
        insert(conn, "erp", "CustomersV3", [
            _customer("C-77", "NORTHWIND TRADERS ", AddressZipCode="98101"),
            _customer("C-80", "Fabrikam", AddressZipCode="98052"),
            _customer("C-81", "fabrikam", AddressZipCode="98052"),
        ])
    res = subprocess.run([sys.executable, "-m", "p2c.cli", "transform"], env=_env(warehouse),
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    return warehouse


def test_one_look_alike_is_coupled_under_the_masters_key(built):
    assert rows(built, "select system, natural_record_key, record_key, outcome, coupled_by from audit.matches "
                       "where outcome = 'matched' order by system") == [
        ("crm", "usmf|ACC-00020", "usmf|ACC-00020", "matched", "match:name+postal_code"),
        ("erp", "usmf|C-77", "usmf|ACC-00020", "matched", "match:name+postal_code"),
    ]
    (pair,) = rows(built, "select presence, crm_id, erp_key, matched_by from intermediate.int_record_pairs "
                          "where record_key = 'usmf|ACC-00020'")
    assert pair[0] == "both" and pair[1] == "a-20" and json.loads(pair[2])["CustomerAccount"] == "C-77"
    assert pair[3] == "match:name+postal_code"
    # neither side is created again in the other system; the ERP record is addressed by its own key
    assert rows(built, "select count(*) from writeback.crm__accounts where record_key in ('usmf|C-77', 'usmf|ACC-00020') "
                       "and operation = 'create'") == [(0,)]
    erp = rows(built, "select operation, target_key from writeback.erp__customers_v3 where record_key = 'usmf|ACC-00020'")
    assert all(op != "create" and json.loads(key)["CustomerAccount"] == "C-77" for op, key in erp)
    # the CRM's name (the master's) is the first sync's value
    assert rows(built, "select name from canonical.customers where record_key = 'usmf|ACC-00020'") == [("Northwind Traders",)]


def test_several_look_alikes_are_quarantined_with_the_candidates_listed(built):
    held = rows(built, "select system, natural_key, reason, reason_text from audit.quarantine "
                       "where reason = 'ambiguous_match' order by system, natural_key")
    assert [(s, k, r) for s, k, r, _ in held] == [
        ("crm", "ACC-00021", "ambiguous_match"), ("erp", "C-80", "ambiguous_match"), ("erp", "C-81", "ambiguous_match")]
    assert "ERP candidates usmf|C-80, usmf|C-81" in held[0][3] and "name+postal_code" in held[0][3]
    assert "CRM candidates usmf|ACC-00021" in held[1][3] and "usmf|C-81" in held[1][3]
    for key in ("usmf|ACC-00021", "usmf|C-80", "usmf|C-81"):
        assert rows(built, "select count(*) from writeback.erp__customers_v3 where record_key = ?", key) == [(0,)]
        assert rows(built, "select count(*) from writeback.crm__accounts where record_key = ?", key) == [(0,)]
    assert rows(built, "select sum(difference) from audit.reconciliation") == [(0,)]


def test_a_recorded_match_holds_and_is_not_matched_again(built):
    """Once the writeback recorded the coupling, the pair is a recorded coupling: no rule looks at it again."""
    erp_key = rows(built, "select source_id from intermediate.int_records where natural_record_key = 'usmf|C-77'")[0][0]
    with duckdb.connect(str(built)) as conn:
        conn.execute("insert into p2c_sync.couplings (entity, record_key, company, crm_id, erp_key, coupled_by, run_id, coupled_at) values ('customer', 'usmf|ACC-00020', 'usmf', 'a-20', ?, "
                     "'match:name+postal_code', 'r1', now())", [erp_key])
    dbt(built, "build", "--select", "int_records_by_key+", "--exclude", "writeback", "canonical")
    assert rows(built, "select count(*) from audit.matches where outcome = 'matched'") == [(0,)]
    assert rows(built, "select presence from intermediate.int_record_pairs where record_key = 'usmf|ACC-00020'") == [("both",)]
