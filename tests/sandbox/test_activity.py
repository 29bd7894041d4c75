"""A simulated day against running servers: every change it logs is visible through the APIs,
with a newer version/ETag, and the same seed on the same data does the same day."""

from __future__ import annotations

import json

import pytest

from sandbox import activity
from sandbox.auth import Credentials
from sandbox.finops_protocol import etag_version
from sandbox.server import crm_store, erp_store

STATUS_AFTER = {"confirm": "Confirmed", "pick": "Picked", "ship": "Delivered", "invoice": "Invoiced"}


def _creds(sb) -> Credentials:
    return Credentials(sb.tenant, sb.client_id, sb.client_secret)


def _versions(sb) -> tuple[int, int]:
    crm, erp = crm_store(sb.dir), erp_store(sb.dir)
    try:
        return crm.current_version(), erp.current_version()
    finally:
        crm.close()
        erp.close()


@pytest.fixture(scope="module")
def day(sandbox_factory):
    sb = sandbox_factory(scale="small", seed=11)
    before = _versions(sb)
    summary = activity.run(sb.dir, sb.crm_url, sb.erp_url, 5, _creds(sb))
    yield sb, before, summary, json.loads((sb.dir / "activity.json").read_text())
    sb.stop()


def test_summary_matches_the_log(day):
    _, _, summary, runs = day
    assert len(runs) == 1 and runs[0]["seed"] == 5
    changes = runs[0]["changes"]
    assert summary["changes"] == len(changes) > 30
    assert summary["conflicts"] == sum(1 for c in changes if c.get("conflict")) >= 4
    actions = {(c["system"], c["entity_set"], c["action"]) for c in changes}
    for expected in [("crm", "accounts", "create"), ("crm", "accounts", "update"), ("crm", "contacts", "create"),
                     ("crm", "salesorders", "create"), ("crm", "quotes", "create"), ("crm", "salesorders", "delete"),
                     ("crm", "accounts", "deactivate"), ("erp", "CustomersV3", "update"),
                     ("erp", "ReleasedProductsV2", "create"), ("erp", "ReleasedProductsV2", "update"),
                     ("erp", "CDSSalesOrderHeaders", "confirm"), ("erp", "CDSSalesOrderHeaders", "ship"),
                     ("erp", "CDSSalesOrderHeaders", "invoice"), ("erp", "SalesInvoiceHeadersV2", "create")]:
        assert expected in actions, expected


def test_crm_changes_are_visible_with_newer_versions(day):
    sb, (crm_before, _), _, runs = day
    with sb.client("crm") as http:
        for c in runs[0]["changes"]:
            if c["system"] != "crm":
                continue
            r = http.get(f"{c['entity_set']}({c['key']})")
            if c["action"] == "delete":
                assert r.status_code == 404, c
                continue
            assert r.status_code == 200, c
            row = r.json()
            assert int(row["@odata.etag"][3:-1]) > crm_before, c
            for name, value in (c.get("fields") or {}).items():
                if name in row:
                    assert row[name] == value, (c, name)
            if c["action"] == "deactivate":
                assert row["statecode"] == 1


def test_new_crm_orders_have_priced_lines_and_totals(day):
    sb, _, _, runs = day
    created = [c for c in runs[0]["changes"] if c["entity_set"] == "salesorders" and c["action"] == "create"]
    assert created
    with sb.client("crm") as http:
        for c in created:
            order = http.get(f"salesorders({c['key']})").json()
            lines = http.get("salesorderdetails", params={"$filter": f"_salesorderid_value eq {c['key']}"}).json()["value"]
            assert len(lines) == c["fields"]["lines"]
            assert all(ln["_productid_value"] and ln["priceperunit"] > 0 for ln in lines)
            assert order["totalamount"] == pytest.approx(sum(ln["extendedamount"] for ln in lines))
            assert order["ordernumber"] == c["natural_key"]


def _erp_get(http, set_name, key):
    from sandbox.activity import erp_path

    return http.get(erp_path(set_name, key))


def test_erp_changes_and_processes_are_visible_with_new_etags(day):
    sb, (_, erp_before), _, runs = day
    with sb.client("erp") as http:
        for c in runs[0]["changes"]:
            if c["system"] != "erp":
                continue
            r = _erp_get(http, c["entity_set"], c["key"])
            assert r.status_code == 200, c
            row = r.json()
            if c["entity_set"] != "SalesInvoiceHeadersV2":
                assert etag_version(row["@odata.etag"]) > erp_before, c
            for name, value in (c.get("fields") or {}).items():
                assert row[name] == value, (c, name)
            if c["action"] in STATUS_AFTER:
                assert row["SalesOrderProcessingStatus"] == STATUS_AFTER[c["action"]]
                lines = http.get("CDSSalesOrderLines", params={
                    "cross-company": "true",
                    "$filter": f"dataAreaId eq '{c['company']}' and SalesOrderNumber eq '{c['natural_key']}'"}).json()["value"]
                assert lines and {ln["SalesOrderLineStatus"] for ln in lines} == {row["SalesOrderStatus"]}
            if c["action"] == "invoice":
                invoices = http.get("SalesInvoiceHeadersV2", params={
                    "cross-company": "true", "$filter": f"SalesOrderNumber eq '{c['natural_key']}'"}).json()["value"]
                assert len(invoices) == 1
                assert invoices[0]["TotalInvoiceAmount"] == row["OrderTotalAmount"]


def test_conflicting_edits_hit_the_same_record_on_both_sides(day):
    _, _, _, runs = day
    conflicts = [c for c in runs[0]["changes"] if c.get("conflict")]
    by_key = {}
    for c in conflicts:
        by_key.setdefault(c["natural_key"], set()).add(c["system"])
    assert by_key and all(systems == {"crm", "erp"} for systems in by_key.values())


def test_same_seed_same_data_same_day(day, sandbox_factory):
    sb, _, _, runs = day
    twin = sandbox_factory(scale="small", seed=11)
    try:
        activity.run(twin.dir, twin.crm_url, twin.erp_url, 5, _creds(twin))
        again = json.loads((twin.dir / "activity.json").read_text())
    finally:
        twin.stop()
    assert again[0]["changes"] == runs[0]["changes"]
