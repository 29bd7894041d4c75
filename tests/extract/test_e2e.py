"""End to end against the sandbox (small): full load, change tracking, expired tokens, faults."""

from __future__ import annotations

import json
import logging

import duckdb
import pytest

from systems.dataverse.entities import ENTITIES as CRM_ENTITIES
from systems.dataverse.entities import primary_key
from systems.finops.entities import ENTITIES as ERP_ENTITIES

from .helpers import assert_matches_counts, extract, manifest_counts, point_at

pytestmark = pytest.mark.e2e

ACCOUNTS = next(e for e in CRM_ENTITIES if e.entity_set == "accounts")


@pytest.fixture(scope="module")
def sandbox(sandbox_factory):
    sb = sandbox_factory(scale="small")
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def warehouse_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("warehouse")


def _query(warehouse, sql, *params):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def _service_counts(sandbox) -> dict[str, dict[str, int]]:
    """Row counts straight from the service ($count / cross-company paging), as the truth."""
    out: dict[str, dict[str, int]] = {"crm": {}, "erp": {}}
    with sandbox.client("crm") as crm:
        for e in CRM_ENTITIES:
            out["crm"][e.entity_set] = int(crm.get(f"{e.entity_set}/$count").text.lstrip("\ufeff"))
    with sandbox.client("erp") as erp:
        for e in ERP_ENTITIES:
            n, url, params = 0, e.entity_set, {"cross-company": "true"}
            while url:
                body = erp.get(url, params=params).json()
                n += len(body["value"])
                url, params = body.get("@odata.nextLink"), None
            out["erp"][e.entity_set] = n
    return out


def test_full_load_then_changes_then_expired_tokens(sandbox, warehouse_dir, monkeypatch, caplog):
    point_at(monkeypatch, sandbox, warehouse_dir)
    warehouse = warehouse_dir / "p2c.duckdb"

    # 1. full load: the manifest's counts, no duplicate keys, every row with its etag
    crm = extract("crm")
    erp = extract("erp")
    counts = manifest_counts(sandbox)
    assert crm.rows == counts["crm"] and erp.rows == counts["erp"]
    assert_matches_counts(warehouse, counts)
    assert _query(warehouse, "select count(*) from crm_raw.accounts where odata_etag is null")[0][0] == 0
    assert _query(warehouse, "select count(*) from erp_raw.customers_v3 where odata_etag is null")[0][0] == 0
    companies = {r[0] for r in _query(warehouse, "select distinct data_area_id from erp_raw.customers_v3")}
    assert companies == {"usmf", "demf"}  # cross-company: every legal entity

    # 2. changes on both sides: an update, a create and a delete in the CRM; updates in the ERP
    with sandbox.client("crm") as api:
        accounts = api.get("accounts", params={"$select": "accountid,name", "$top": "3"}).json()["value"]
        changed, gone = accounts[0]["accountid"], accounts[1]
        assert api.patch(f"accounts({changed})", json={"name": "Renamed by the e2e test"}).status_code == 204
        assert api.post("accounts", json={"name": "Brand new", "accountnumber": "ACC-E2E-1"}).status_code in (201, 204)
        deleted = api.delete(f"accounts({gone['accountid']})")
        assert deleted.status_code == 204, deleted.text
    with sandbox.client("erp") as api:
        person = api.get("ContactPersons", params={"cross-company": "true", "$top": "1"}).json()["value"][0]
        key = f"ContactPersons(dataAreaId='{person['dataAreaId']}',ContactPersonId='{person['ContactPersonId']}')"
        assert api.patch(key, params={"cross-company": "true"}, json={"EmploymentJobTitle": "Chief e2e officer"}).status_code in (200, 204)

    crm = extract("crm")
    erp = extract("erp")
    assert crm.rows["accounts"] == 3  # exactly the changes: one update, one create, one deletion
    assert sum(n for name, n in crm.rows.items() if name != "accounts") == 0
    assert 1 <= erp.rows["ContactPersons"] < counts["erp"]["ContactPersons"]  # incremental on LastEditDateTime
    assert_matches_counts(warehouse, _service_counts(sandbox))
    assert _query(warehouse, "select name from crm_raw.accounts where accountid = ?", changed) == [("Renamed by the e2e test",)]
    # the deleted account stays, marked, with its last values
    assert _query(warehouse, "select name, _p2c_deleted from crm_raw.accounts where accountid = ?", gone["accountid"]) == [
        (gone["name"], True)
    ]
    assert _query(
        warehouse,
        "select employment_job_title from erp_raw.contact_persons where contact_person_id = ? and data_area_id = ?",
        person["ContactPersonId"],
        person["dataAreaId"],
    ) == [("Chief e2e officer",)]

    # 3. expired delta tokens: a full read with a warning, nothing lost or doubled
    sandbox.expire_tokens()
    caplog.set_level(logging.WARNING, logger="p2c.extract.dataverse")
    crm = extract("crm")
    assert crm.rows["accounts"] == counts["crm"]["accounts"]  # +1 created, -1 deleted
    assert "refused the stored delta link" in caplog.text
    assert_matches_counts(warehouse, _service_counts(sandbox))


def test_throttling_and_errors_lose_and_duplicate_nothing(sandbox_factory, tmp_path, monkeypatch):
    faulty = sandbox_factory(scale="small", rate_limit="40/1", error_rate=0.15, fault_seed=3)
    try:
        point_at(monkeypatch, faulty, tmp_path)
        extract("crm")
        extract("erp")
        assert_matches_counts(tmp_path / "p2c.duckdb", manifest_counts(faulty))
    finally:
        faulty.stop()


def test_after_a_day_of_activity_the_incremental_load_brings_exactly_its_changes(sandbox_factory, tmp_path, monkeypatch):
    sb = sandbox_factory(scale="small", seed=13)
    try:
        point_at(monkeypatch, sb, tmp_path)
        warehouse = tmp_path / "p2c.duckdb"
        extract("crm")
        extract("erp")
        day = sb.cli("activity", "--seed", "4")
        assert day.returncode == 0, day.stdout + day.stderr
        log = json.loads((sb.dir / "activity.json").read_text())[-1]["changes"]
        crm = extract("crm")
        extract("erp")
        # accounts and contacts have no derived changes: the delta is exactly what the sellers did
        for entity_set, pk in (("accounts", "accountid"), ("contacts", "contactid")):
            logged = {c["key"] for c in log if c["system"] == "crm" and c["entity_set"] == entity_set}
            assert logged and crm.rows[entity_set] == len(logged)
            loaded = {
                r[0]
                for r in _query(
                    warehouse,
                    f"select {pk} from crm_raw.{entity_set} where _dlt_load_id = (select max(_dlt_load_id) from crm_raw.{entity_set})",
                )
            }
            assert loaded == logged
        # deletions arrive as deletions, with the record's last values
        for c in log:
            if c["system"] == "crm" and c["action"] == "delete":
                table = c["entity_set"]
                pk = primary_key(table)
                assert _query(warehouse, f"select _p2c_deleted from crm_raw.{table} where {pk} = ?", c["key"]) == [(True,)]
        # ERP full loads replace: the warehouse holds exactly what the service holds now
        assert_matches_counts(warehouse, _service_counts(sb))
    finally:
        sb.stop()
