"""`p2c transform` (dbt build) on a small warehouse with one record of every awkward case.

The raw tables are built by ``raw_fixture.load_scenario`` the way dlt names and types them, plus
the cases of match-based coupling (seeds/match_rules.csv): a customer each system numbers
differently (same name and post code: coupled, not duplicated) and a CRM customer with two ERP
look-alikes (quarantined with both listed, nothing created). The assertions are what a user reads
in the audit and writeback models afterwards. One build serves every test of the file (a test
that builds again does so on a copy of the warehouse).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from transform.runner import dbt_args
from raw_fixture import _account, _customer, insert, load_scenario
import p2c_process

ROOT = Path(__file__).resolve().parents[2]


def _env(warehouse: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        P2C_WAREHOUSE=str(warehouse),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_TARGET_PATH=str(warehouse.parent / "target"),
        DBT_LOG_PATH=str(warehouse.parent / "logs"),
    )
    return env


def dbt(warehouse: Path, command: str, *extra: str) -> None:
    dbt_bin = Path(sys.executable).with_name("dbt")
    res = subprocess.run(
        [str(dbt_bin), "--quiet", *dbt_args(command, warehouse, list(extra))],
        env=_env(warehouse), capture_output=True, text=True, cwd=ROOT,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def rows(warehouse: Path, sql: str, *params) -> list[tuple]:
    with duckdb.connect(str(warehouse)) as conn:
        return conn.execute(sql, list(params)).fetchall()


def writeback(warehouse: Path, model: str) -> dict[str, dict]:
    out = {}
    for key, op, payload, target_key, etag in rows(
        warehouse, f"select record_key, operation, payload, target_key, etag from writeback.{model}"
    ):
        out[key] = {"operation": op, "payload": json.loads(payload), "target_key": json.loads(target_key), "etag": etag}
    return out


def load_look_alikes(conn) -> None:
    """The match-coupling cases: Northwind (CRM ACC-00020, ERP C-77: same name and post code) and
    Fabrikam (CRM ACC-00021, two ERP look-alikes C-80 and C-81)."""
    insert(conn, "crm", "accounts", [
        _account("a-20", "ACC-00020", "Northwind Traders", address1_postalcode="98101"),
        _account("a-21", "ACC-00021", "Fabrikam", address1_postalcode="98052"),
    ])
    insert(conn, "erp", "CustomersV3", [
        _customer("C-77", "NORTHWIND TRADERS ", AddressZipCode="98101"),
        _customer("C-80", "Fabrikam", AddressZipCode="98052"),
        _customer("C-81", "fabrikam", AddressZipCode="98052"),
    ])


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, str]:
    warehouse = tmp_path_factory.mktemp("dbt") / "p2c.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        load_scenario(conn)
        load_look_alikes(conn)
    res = p2c_process.run(["transform", "--unit-tests"], _env(warehouse), ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    return warehouse, res.stdout


def test_transform_reports_models_tests_and_quarantine_per_entity(built):
    _, out = built
    assert "dbt build ok" in out
    said = " ".join(out.split())  # rich wraps long lines
    assert "tests {'pass'" in said and "unit tests {'pass'" in said  # data and unit tests ran
    customer_line = next(line for line in out.splitlines() if "customer" in line and "│" in line)
    # quarantined customers: six CRM accounts, and the look-alikes of an ambiguous match (one CRM, two ERP)
    assert customer_line.split("│")[4].strip() == "9"


def test_quarantine_holds_each_dirty_record_with_its_reason(built):
    warehouse, _ = built
    got = sorted(rows(warehouse, "select system, entity, source_id, reason from audit.quarantine"))
    assert got == sorted([
        ("crm", "customer", "a-4", "missing_key"),
        ("crm", "customer", "a-5a", "duplicate_key"),
        ("crm", "customer", "a-5b", "duplicate_key"),
        ("crm", "customer", "a-6", "unmapped_currency"),
        ("crm", "customer", "a-7", "unmapped_country"),
        ("crm", "customer", "a-8", "unmapped_company"),
        ("crm", "customer", "a-21", "ambiguous_match"),
        ("erp", "customer", '{"dataAreaId":"usmf","CustomerAccount":"C-80"}', "ambiguous_match"),
        ("erp", "customer", '{"dataAreaId":"usmf","CustomerAccount":"C-81"}', "ambiguous_match"),
        ("crm", "contact", "c-2", "parent_quarantined"),
        ("crm", "order_line", "ol-2", "write_in_product"),
        ("crm", "order_line", "ol-3", "parent_missing"),
        ("erp", "product", '{"dataAreaId":"usmf","ItemNumber":"P-0003"}', "unmapped_unit"),
        ("erp", "price", '{"dataAreaId":"usmf","ItemNumber":"P-0003"}', "parent_quarantined"),
    ])
    texts = dict(rows(warehouse, "select source_id, reason_text from audit.quarantine"))
    assert "Bitcoin" in texts["a-6"] and "currency map" in texts["a-6"]
    # the company map is keyed by business unit name: the reason names the unit so, with its GUID
    assert texts["a-8"] == "The business unit 'Contoso' (bu-root) is not in the company map (seeds/company_map.csv)."


def test_every_extracted_row_is_canonical_quarantined_or_deleted(built):
    warehouse, _ = built
    recon = {(e, s): (src, can, q, d, diff) for e, s, src, can, q, d, diff in rows(
        warehouse,
        "select entity, system, source_rows, canonical_rows, quarantined_rows, deleted_rows, difference"
        " from audit.reconciliation",
    )}
    assert all(v[-1] == 0 for v in recon.values())
    assert recon[("customer", "crm")] == (12, 4, 7, 1, 0)  # ACC-00020 coupled by its match, ACC-00021 ambiguous
    raw_accounts = rows(warehouse, "select count(*) from crm_raw.accounts")[0][0]
    assert recon[("customer", "crm")][0] == raw_accounts


def test_first_sync_master_wins_and_lists_initial_conflicts(built):
    warehouse, _ = built
    conflicts = {f: (c, e, o) for f, c, e, o in rows(
        warehouse,
        "select field, crm_value, erp_value, outcome from audit.conflicts where record_key = 'usmf|ACC-00002'",
    )}
    assert conflicts["name"] == ("Differ Corp (CRM name)", "Differ Corp (ERP name)", "initial")
    assert conflicts["credit_limit"] == ("5000", "7500", "initial")
    # the CRM owns the name: it goes to the ERP; the ERP owns the credit limit: it goes to the CRM
    erp = writeback(warehouse, "erp__customers_v3")["usmf|ACC-00002"]
    assert erp["operation"] == "update" and erp["payload"] == {"OrganizationName": "Differ Corp (CRM name)"}
    assert erp["target_key"] == {"dataAreaId": "usmf", "CustomerAccount": "ACC-00002"} and erp["etag"]
    crm = writeback(warehouse, "crm__accounts")["usmf|ACC-00002"]
    assert crm["payload"]["creditlimit"] == 7500.0 and "name" not in crm["payload"]
    assert crm["target_key"] == {"accountid": "a-2"}


def test_new_records_are_created_in_the_target_with_defaults(built):
    warehouse, _ = built
    customer = writeback(warehouse, "erp__customers_v3")["usmf|ACC-00003"]
    assert customer["operation"] == "create" and customer["etag"] is None
    assert customer["payload"]["IsExternallyMaintained"] == "Yes"
    assert customer["payload"]["CustomerGroupId"] == "10" and customer["payload"]["WarehouseId"] == "13"
    assert "CreditLimit" not in customer["payload"]  # ERP-owned: never taken from the CRM
    product = writeback(warehouse, "crm__products")["P-0002"]
    assert product["target_key"] == {"productnumber": "P-0002"}
    assert product["payload"]["defaultuomid@odata.bind"] == "/uoms(uom-box)"
    prices = writeback(warehouse, "crm__productpricelevels")
    assert set(prices) == {"Standard USD|P-0002", "Standard EUR|P-0001"}  # P-0001 USD price is equal
    assert set(writeback(warehouse, "erp__cds_sales_order_headers")) == {"usmf|SO-00001"}
    lines = writeback(warehouse, "erp__cds_sales_order_lines")
    assert set(lines) == {"usmf|SO-00001|1"}  # the write-in line 2 is quarantined
    invoice = writeback(warehouse, "crm__invoices")["usmf|INV-00001"]
    assert invoice["payload"]["customerid_account@odata.bind"] == "/accounts(accountnumber='ACC-00002')"
    assert invoice["payload"]["salesorderid@odata.bind"] == "/salesorders(ordernumber='SO-00002')"
    order = writeback(warehouse, "crm__salesorders")["usmf|SO-00002"]
    assert order["payload"]["p2c_processingstatus"] == "Invoiced" and order["payload"]["totaltax"] == 2.48
    contact = writeback(warehouse, "erp__contact_persons")["usmf|CON-00001"]
    assert contact["payload"]["AssociatedPartyNumber"] == "PTY-ACC-00001"


def test_deleted_crm_account_deactivates_its_erp_customer(built):
    warehouse, _ = built
    gone = writeback(warehouse, "erp__customers_v3")["usmf|ACC-00010"]
    assert gone["operation"] == "deactivate" and gone["payload"] == {"OnHoldStatus": "All"}


def test_updates_only_carry_values_of_the_fields_owner(built):
    warehouse, _ = built
    owners = {(e, a): o for e, a, o in rows(
        warehouse,
        "select m.entity, m.crm_attribute, o.owner from seeds.field_map m join seeds.field_ownership o using (entity, field)",
    )} | {(e, a): o for e, a, o in rows(
        warehouse,
        "select m.entity, m.erp_attribute, o.owner from seeds.field_map m join seeds.field_ownership o using (entity, field)",
    )}
    models = [r[0] for r in rows(warehouse, "select table_name from information_schema.tables where table_schema = 'writeback' and table_name <> 'base_updates'")]
    checked = 0
    for model in models:
        target = model.split("__")[0]
        for entity, payload in rows(warehouse, f"select entity, payload from writeback.{model} where operation = 'update'"):
            for attribute in json.loads(payload):
                if attribute == "p2c_isexternallymaintained":
                    continue  # a flag, not a field: the CRM keeps the ERP's totals (crm__salesorders)
                assert owners[(entity, attribute)] != target, (model, attribute)
                checked += 1
    assert checked > 0


def test_second_run_writes_only_what_changed_since_the_base(built, tmp_path):
    warehouse = tmp_path / "p2c.duckdb"
    warehouse.write_bytes(built[0].read_bytes())
    key = "usmf|ACC-00001"
    with duckdb.connect(str(warehouse)) as conn:
        # the writeback settled ACC-00001: both sides hold the merged values and the base records them
        conn.execute("update crm_raw.accounts set p2c_customergroupid = '10', p2c_onholdstatus = 'No' where accountid = 'a-1'")
        conn.execute(
            "insert into p2c_sync.sync_state select 'customer', ?, field, merged_value, 'r1', now()"
            " from intermediate.int_merge where entity = 'customer' and record_key = ?", [key, key])
    dbt(warehouse, "run")
    for model in ("erp__customers_v3", "crm__accounts"):
        assert key not in writeback(warehouse, model)
    assert rows(warehouse, "select count(*) from audit.conflicts where record_key = ?", key) == [(0,)]

    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("update crm_raw.accounts set name = 'Equal Corp Renamed', creditlimit = 99 where accountid = 'a-1'")
        conn.execute("update erp_raw.customers_v3 set address_city = 'Redmond' where customer_account = 'ACC-00001'")
    dbt(warehouse, "run")
    # the CRM's name travels; the ERP's city (a CRM-owned field) is a non-owner edit: reverted
    assert writeback(warehouse, "erp__customers_v3")[key]["payload"] == {
        "OrganizationName": "Equal Corp Renamed", "AddressCity": "Seattle"}
    # the CRM's credit limit edit is a non-owner edit too: the ERP's value is written back
    assert writeback(warehouse, "crm__accounts")[key]["payload"] == {"creditlimit": 1000.0}
    outcomes = dict(rows(warehouse, "select field, outcome from audit.conflicts where record_key = ?", key))
    assert outcomes == {"city": "crm_wins", "credit_limit": "erp_wins"}


def test_the_field_map_describes_every_column_a_user_reads(built):
    """`dbt docs` is the field map: every canonical, audit and writeback model and each of its columns
    has a description in the yml beside it, and the yml lists exactly the columns the table has."""
    warehouse, _ = built
    manifest = json.loads((warehouse.parent / "target" / "manifest.json").read_text())
    models = [n for n in manifest["nodes"].values()
              if n["resource_type"] == "model" and n["fqn"][1] in ("canonical", "audit", "writeback")]
    assert len(models) == 30  # audit.matches: match-based coupling; crm__transactioncurrencies, crm__uoms
    for node in models:
        assert node["description"], node["name"]
        assert [c for c, col in node["columns"].items() if not col["description"]] == [], node["name"]
        columns = [name for (name,) in rows(
            warehouse, "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
            "order by ordinal_position", node["schema"], node["name"])]
        assert columns == list(node["columns"]), node["name"]


# --- match-based coupling (seeds/match_rules.csv): the look-alikes of load_look_alikes ----------


def test_one_look_alike_is_coupled_under_the_masters_key(built):
    built, _ = built
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
    built, _ = built
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


def test_a_recorded_match_holds_and_is_not_matched_again(built, tmp_path):
    """Once the writeback recorded the coupling, the pair is a recorded coupling: no rule looks at it again."""
    warehouse = tmp_path / "p2c.duckdb"
    warehouse.write_bytes(built[0].read_bytes())
    built = warehouse
    erp_key = rows(built, "select source_id from intermediate.int_records where natural_record_key = 'usmf|C-77'")[0][0]
    with duckdb.connect(str(built)) as conn:
        conn.execute("insert into p2c_sync.couplings (entity, record_key, company, crm_id, erp_key, coupled_by, run_id, coupled_at) values ('customer', 'usmf|ACC-00020', 'usmf', 'a-20', ?, "
                     "'match:name+postal_code', 'r1', now())", [erp_key])
    dbt(built, "build", "--select", "int_records_by_key+", "--exclude", "writeback", "canonical")
    assert rows(built, "select count(*) from audit.matches where outcome = 'matched'") == [(0,)]
    assert rows(built, "select presence from intermediate.int_record_pairs where record_key = 'usmf|ACC-00020'") == [("both",)]
