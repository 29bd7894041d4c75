"""Business Central as the ERP (P2C__ERP=business_central): extraction from the BC emulator into DuckDB.

Rows per table as BC has them, ``company_id`` on every row, a second run reads only what changed
(the overlap window), the lines of a changed header re-read, deleted records loaded as
``_p2c_deleted``.
"""

from __future__ import annotations

import duckdb
import httpx
import pytest

from systems.business_central.entities import ENTITIES, LINES_OF

from .helpers import extract, point_at

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sandbox(sandbox_factory):
    sb = sandbox_factory(scale="small")
    yield sb
    sb.stop()


def bc_env(sandbox) -> dict[str, str]:
    """The settings that make BC the ERP (as `p2c sandbox up --erp business_central` prints them)."""
    env = sandbox.env(erp="business_central")
    return {k: v for k, v in env.items() if k == "P2C__ERP" or k.startswith("SOURCES__ERP__")}


def bc_client(sandbox) -> httpx.Client:
    env = bc_env(sandbox)
    token = httpx.post(env["SOURCES__ERP__CREDENTIALS__TOKEN_URL"], data={
        "grant_type": "client_credentials", "client_id": sandbox.client_id, "client_secret": sandbox.client_secret,
        "scope": env["SOURCES__ERP__CREDENTIALS__SCOPE"]}).json()["access_token"]
    return httpx.Client(base_url=sandbox.bc_url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def _query(warehouse, sql, *params):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params).fetchall()


def _service_counts(bc: httpx.Client) -> dict[str, int]:
    companies = [c["id"] for c in bc.get("companies").json()["value"]]
    out = {"companies": len(companies)}
    for e in ENTITIES[1:]:
        out[e.entity_set] = sum(bc.get(f"companies({c})/{e.entity_set}", params={"$count": "true", "$select": "id"})
                                .json()["@odata.count"] for c in companies)
    return out


def test_extract_then_changes_then_deletions(sandbox, tmp_path, monkeypatch):
    point_at(monkeypatch, sandbox, tmp_path)
    for key, value in bc_env(sandbox).items():
        monkeypatch.setenv(key, value)
    warehouse = tmp_path / "p2c.duckdb"
    bc = bc_client(sandbox)

    # 0. the preflight's tenant check asks BC (its sets, its companies) and the CRM: nothing lacking
    from p2c import preflight

    assert preflight.tenant_problems() == []

    # 1. first run: every set whole, per company, company_id and the etag on every row
    expected = _service_counts(bc)
    first = extract("erp")
    for entity in ENTITIES:
        (n, companies, etags, deleted), = _query(
            warehouse, f"select count(*), count(distinct company_id), count(odata_etag), count(*) filter (where _p2c_deleted)"
                       f" from erp_raw.{entity.table}")
        assert n == expected[entity.entity_set] == first.rows[entity.entity_set], entity.entity_set
        assert etags == n and deleted == 0, entity.entity_set
        assert companies == (2 if n > 1 else n), entity.entity_set
    ids = {r[0] for r in _query(warehouse, "select id from erp_raw.companies")}
    assert {r[0] for r in _query(warehouse, "select distinct company_id from erp_raw.customers")} == ids
    (dupes,) = _query(warehouse, "select count(*) - count(distinct (company_id, id)) from erp_raw.sales_order_lines")[0]
    assert dupes == 0

    # 2. changes in BC: a customer renamed, an order line's quantity changed (its header's totals
    # move), another order line and a contact deleted
    company = sorted(ids)[0]
    root = f"companies({company})"
    customer = bc.get(f"{root}/customers", params={"$top": "1"}).json()["value"][0]
    r = bc.patch(f"{root}/customers({customer['id']})", json={"displayName": "Renamed by the BC test"},
                 headers={"If-Match": customer["@odata.etag"]})
    assert r.status_code == 200, r.text
    orders = bc.get(f"{root}/salesOrders", params={"$expand": "salesOrderLines", "$filter": "status eq 'Draft'"}).json()["value"]
    order = next(o for o in orders if len(o["salesOrderLines"]) >= 2)
    changed_line, deleted_line = order["salesOrderLines"][:2]
    r = bc.patch(f"{root}/salesOrderLines({changed_line['id']})", json={"quantity": changed_line["quantity"] + 7},
                 headers={"If-Match": changed_line["@odata.etag"]})
    assert r.status_code == 200, r.text
    r = bc.delete(f"{root}/salesOrderLines({deleted_line['id']})", headers={"If-Match": deleted_line["@odata.etag"]})
    assert r.status_code == 204, r.text
    contact = bc.get(f"{root}/contacts", params={"$top": "1", "$filter": "type eq 'Person'"}).json()["value"][0]
    r = bc.delete(f"{root}/contacts({contact['id']})", headers={"If-Match": contact["@odata.etag"]})
    assert r.status_code == 204, r.text

    # 3. second run: only rows modified within the overlap window of the cursor, the changed
    # header's lines, the deletions found by the id-set comparison
    second = extract("erp")
    assert 1 <= second.rows["customers"] <= 3, second.rows
    assert second.rows["salesOrders"] <= 3 and second.rows["salesOrderLines"] <= 20, second.rows
    # unchanged sets: at most the rows within the overlap window of their cursor
    # items are read whole every run: their inventory (a FlowField) moves without their timestamp
    assert second.rows["items"] == expected["items"], second.rows
    assert second.rows["salesInvoiceLines"] <= 20 < expected["salesInvoiceLines"], second.rows
    assert second.rows["customers"] < expected["customers"], second.rows
    assert _query(warehouse, "select display_name from erp_raw.customers where company_id = ? and id = ?",
                  company, customer["id"]) == [("Renamed by the BC test",)]
    assert _query(warehouse, "select quantity, coalesce(_p2c_deleted, false) from erp_raw.sales_order_lines where id = ?",
                  changed_line["id"]) == [(changed_line["quantity"] + 7, False)]
    assert _query(warehouse, "select _p2c_deleted from erp_raw.sales_order_lines where id = ?", deleted_line["id"]) == [(True,)]
    assert _query(warehouse, "select _p2c_deleted, display_name from erp_raw.contacts where id = ?",
                  contact["id"]) == [(True, contact["displayName"])]
    (live,) = _query(warehouse, "select count(*) from erp_raw.contacts where not coalesce(_p2c_deleted, false)")[0]
    assert live == expected["contacts"] - 1
    for entity in ENTITIES:
        (dupes,) = _query(warehouse, f"select count(*) - count(distinct (company_id, id)) from erp_raw.{entity.table}")[0]
        assert dupes == 0, entity.entity_set

    # 4. a third run with nothing changed reads again only the overlap window, finds no new deletion
    third = extract("erp")
    assert all(third.rows.get(s, 0) <= second.rows.get(s, 0) for s in LINES_OF), (second.rows, third.rows)
    (deleted,) = _query(warehouse, "select count(*) from erp_raw.contacts where _p2c_deleted")[0]
    assert deleted == 1
    bc.close()


def test_a_bad_deletion_check_setting_names_it(sandbox, tmp_path, monkeypatch):
    from p2c_core.errors import ConfigError

    point_at(monkeypatch, sandbox, tmp_path)
    for key, value in bc_env(sandbox).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SOURCES__ERP__DELETION_CHECK", "hourly")
    with pytest.raises(ConfigError) as err:
        extract("erp")
    assert err.value.setting == "sources.erp.deletion_check" and "every_run" in err.value.message
