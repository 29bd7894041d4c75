"""Demo data: deterministic, the size promised, consistent with the ERP's logic, and its manifest
tells the truth about every planted record (checked against the stores and the value-map seeds)."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from sandbox import demo_data, erp_logic
from sandbox.dataverse_rules import header_totals
from sandbox.schema import CRM, ERP
from sandbox.server import crm_store, erp_store

SEEDS = Path(__file__).resolve().parents[2] / "seeds"


def _seed(name: str, column: str) -> set[str]:
    from transform.seeds import seed_file  # F&O's copy (its home) where the map is spelled in its codes

    with open(seed_file(name), newline="") as f:
        return {row[column] for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def tenant(tmp_path_factory):
    d = tmp_path_factory.mktemp("demo")
    summary = demo_data.reset(d, "small", 42)
    crm, erp = crm_store(d), erp_store(d)
    yield d, summary, demo_data.load_manifest(d), crm, erp
    crm.close()
    erp.close()


def _digest(d: Path) -> dict[str, str]:
    # the stores (checkpointed by reset) and the manifest; an open store adds -wal/-shm beside them
    return {n: hashlib.sha256((d / n).read_bytes()).hexdigest() for n in ("crm.sqlite", "erp.sqlite", "manifest.json")}


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path, tenant):
    demo_data.reset(tmp_path / "a", "small", 42)
    demo_data.reset(tmp_path / "b", "small", 43)
    assert _digest(tmp_path / "a") == _digest(tenant[0])
    assert _digest(tmp_path / "b")["crm.sqlite"] != _digest(tenant[0])["crm.sqlite"]


def test_reset_wipes_what_was_there(tmp_path):
    demo_data.reset(tmp_path, "small", 1)
    crm = crm_store(tmp_path)
    crm.insert("accounts", {"name": "left over"})
    crm.close()
    demo_data.reset(tmp_path, "small", 1)
    crm = crm_store(tmp_path)
    assert crm.find("accounts", {"name": "left over"}) == []
    crm.close()


def test_unknown_scale_is_refused(tmp_path):
    with pytest.raises(ValueError, match="scale"):
        demo_data.reset(tmp_path, "huge", 1)


def test_small_is_about_two_thousand_records_across_every_entity_set(tenant):
    _, summary, manifest, crm, erp = tenant
    assert 1_600 <= summary["total"] <= 2_600
    for system, store, catalogue in (("crm", crm, CRM), ("erp", erp, ERP)):
        for set_name in catalogue:
            assert store.count(set_name) == manifest["counts"][system][set_name] > 0, set_name
    assert summary["crm"] == manifest["counts"]["crm"] and summary["total"] == manifest["total"]


def test_reference_data_is_what_the_value_maps_know(tenant):
    _, _, _, crm, erp = tenant
    bus = {r["name"] for r in crm.iter_rows("businessunits")}
    assert _seed("company_map", "business_unit_name") < bus and "Contoso" in bus
    companies = {r["LegalEntityId"]: r["AccountingCurrency"] for r in erp.iter_rows("LegalEntities")}
    assert companies == {"usmf": "USD", "demf": "EUR"}
    currencies = {r["currencyname"] for r in crm.iter_rows("transactioncurrencies")}
    assert currencies - _seed("currency_map", "crm_currency_name") == {"Bitcoin"}
    # the map also names DKK, which only Business Central's demo tenant knows (p2c creates it in the CRM)
    assert {r["CurrencyCode"] for r in erp.iter_rows("Currencies")} == _seed("currency_map", "erp_currency_code") - {"DKK"}
    assert {r["name"] for r in crm.iter_rows("uoms")} == _seed("unit_map", "crm_unit_name")
    assert {r["UnitSymbol"] for r in erp.iter_rows("UnitsOfMeasure")} - _seed("unit_map", "erp_unit_symbol") == {"pallet"}
    assert {r["name"] for r in crm.iter_rows("pricelevels")} == _seed("price_list_map", "price_list_name")
    terms = {r["Name"] for r in erp.iter_rows("PaymentTerms")}
    assert terms == _seed("payment_terms_map", "erp_payment_terms_name")


def _bu_names(crm) -> dict[str, str]:
    return {r["businessunitid"]: r["name"] for r in crm.iter_rows("businessunits")}


def test_every_dirty_account_is_planted_and_nothing_else_is_dirty(tenant):
    """Derive each account's problem from the seeds; it must be exactly what the manifest says."""
    _, _, manifest, crm, _ = tenant
    bus = _bu_names(crm)
    currency = {r["transactioncurrencyid"]: r["currencyname"] for r in crm.iter_rows("transactioncurrencies")}
    companies = _seed("company_map", "business_unit_name")
    countries = _seed("country_map", "crm_country_name")
    terms = {int(t) for t in _seed("payment_terms_map", "crm_payment_terms_code")}
    currencies = _seed("currency_map", "crm_currency_name")
    rows = list(crm.iter_rows("accounts"))
    keys = Counter((r["_owningbusinessunit_value"], r["accountnumber"]) for r in rows)
    found = set()
    for r in rows:
        if r["accountnumber"] is None:
            reason = "missing_key"
        elif keys[(r["_owningbusinessunit_value"], r["accountnumber"])] > 1:
            reason = "duplicate_key"
        elif bus[r["_owningbusinessunit_value"]] not in companies:
            reason = "unmapped_company"
        elif currency[r["_transactioncurrencyid_value"]] not in currencies:
            reason = "unmapped_currency"
        elif r["address1_country"] not in countries:
            reason = "unmapped_country"
        elif r["paymenttermscode"] not in terms:
            reason = "unmapped_payment_terms"
        else:
            continue
        found.add((r["accountid"], reason))
    planted = {(p["id_or_key"], p["reason"]) for p in manifest["planted"]
               if p.get("reason") and p["entity_set"] == "accounts"}
    assert found == planted
    assert {reason for _, reason in planted} == {"missing_key", "duplicate_key", "unmapped_company",
                                                 "unmapped_currency", "unmapped_country", "unmapped_payment_terms"}


def test_every_planted_problem_is_really_there(tenant):
    _, _, manifest, crm, erp = tenant
    reasons = Counter()
    for p in manifest["planted"]:
        if not p.get("reason"):
            continue
        reasons[p["reason"]] += 1
        store = crm if p["system"] == "crm" else erp
        row = store.get(p["entity_set"], p["id_or_key"])
        assert row is not None, p
        e = (CRM if p["system"] == "crm" else ERP)[p["entity_set"]]
        key_col = {"accounts": "accountnumber", "contacts": "p2c_contactnumber", "products": "productnumber",
                   "salesorders": "ordernumber"}.get(p["entity_set"])
        if p["reason"] == "missing_key":
            assert row[key_col] is None
        elif p["reason"] == "duplicate_key":
            assert len(store.find(p["entity_set"], {key_col: p["natural_key"]})) >= 2
        elif p["reason"] == "unmapped_unit":
            assert row["SalesUnitSymbol"] not in _seed("unit_map", "erp_unit_symbol")
        elif p["reason"] == "write_in_product":
            assert row["_productid_value"] is None and row["isproductoverridden"] and row["productdescription"]
        elif p["reason"] == "parent_missing":
            if p["system"] == "crm":
                parent_col = next(c.name for c in e.columns if c.lookup in ("salesorders", "quotes"))
                assert crm.get(CRM[e.col(parent_col).lookup].set_name, row[parent_col]) is None
            else:
                assert erp.get("CDSSalesOrderHeaders", {"dataAreaId": row["dataAreaId"],
                                                        "SalesOrderNumber": row["SalesOrderNumber"]}) is None
    for reason in ("missing_key", "duplicate_key", "unmapped_company", "unmapped_currency", "unmapped_unit",
                   "unmapped_country", "write_in_product", "parent_missing"):
        assert reasons[reason] >= 2, reason
    dup_sets = {p["entity_set"] for p in manifest["planted"] if p.get("reason") == "duplicate_key"}
    assert {"accounts", "contacts", "products", "salesorders"} <= dup_sets


def test_erp_units_and_products_are_clean_apart_from_the_planted_ones(tenant):
    _, _, manifest, _, erp = tenant
    units = _seed("unit_map", "erp_unit_symbol")
    odd = {(r["dataAreaId"], r["ItemNumber"]) for r in erp.iter_rows("ReleasedProductsV2") if r["SalesUnitSymbol"] not in units}
    planted = {(p["id_or_key"]["dataAreaId"], p["id_or_key"]["ItemNumber"]) for p in manifest["planted"]
               if p.get("reason") == "unmapped_unit"}
    assert odd == planted


def test_awkward_but_clean_cases_are_as_described(tenant):
    _, _, manifest, crm, erp = tenant
    by_case = defaultdict(list)
    for p in manifest["planted"]:
        if p.get("case"):
            by_case[p["case"]].append(p)
    for case in ("crm_only", "erp_only", "both_equal", "both_differ", "unicode", "long_name", "inactive"):
        assert by_case[case], case
    for p in by_case["unicode"]:
        row = crm.get(p["entity_set"], p["id_or_key"])
        text = row.get("name") or row.get("fullname")
        assert not text.isascii()
    assert any(any(ord(ch) > 0xFFFF for ch in crm.get(p["entity_set"], p["id_or_key"]).get("name") or "")
               for p in by_case["unicode"])  # an emoji, outside the BMP
    for p in by_case["long_name"]:
        row = crm.get(p["entity_set"], p["id_or_key"])
        assert len(row["name"]) == CRM[p["entity_set"]].col("name").max_length
        assert erp.find("CustomersV3" if p["entity_set"] == "accounts" else "ReleasedProductsV2",
                        {"OrganizationName" if p["entity_set"] == "accounts" else "ProductName": row["name"]})
    for p in by_case["inactive"]:
        store = crm if p["system"] == "crm" else erp
        row = store.get(p["entity_set"], p["id_or_key"])
        if p["system"] == "crm" and p["entity_set"] != "contacts" or p["entity_set"] == "contacts" and "counterpart" not in p:
            assert row["statecode"] == 1
        elif p["entity_set"] == "contacts":
            assert erp.get("ContactPersons", p["counterpart"])["IsInactive"] == "Yes"
        else:
            assert row["IsSalesProhibited"] == "Yes"


def test_one_system_only_and_both_systems_cases_match_the_stores(tenant):
    _, _, manifest, crm, erp = tenant
    natural = {"accounts": ("CustomersV3", "CustomerAccount"), "contacts": ("ContactPersons", "ContactPersonId"),
               "salesorders": ("CDSSalesOrderHeaders", "SalesOrderNumber")}
    erp_field = {"phone": "PrimaryContactPhone", "city": "AddressCity", "credit_limit": "CreditLimit",
                 "name": "OrganizationName", "job_title": "EmploymentJobTitle"}
    crm_field = {"phone": "telephone1", "city": "address1_city", "credit_limit": "creditlimit", "name": "name",
                 "job_title": "jobtitle"}
    checked = Counter()
    for p in manifest["planted"]:
        if p.get("case") not in ("crm_only", "erp_only", "both_equal", "both_differ") or p["entity_set"] not in natural:
            continue
        erp_set, key_col = natural[p["entity_set"]]
        if p["case"] == "erp_only":
            assert erp.get(erp_set, p["id_or_key"]) is not None
            continue
        row = crm.get(p["entity_set"], p["id_or_key"])
        counterpart = erp.get(erp_set, {"dataAreaId": p["company"], key_col: p["natural_key"]})
        if p["case"] == "crm_only":
            assert counterpart is None, p
            continue
        assert counterpart is not None and p["counterpart"][key_col] == p["natural_key"]
        checked[p["case"]] += 1
        if p["entity_set"] == "salesorders":
            assert row["totalamount"] == counterpart["OrderTotalAmount"]
            assert row["totaltax"] == counterpart["OrderTotalTaxAmount"]
            continue
        for f in p.get("fields", []):
            assert row[crm_field[f]] != counterpart[erp_field[f]], (p, f)
        if p["case"] == "both_equal" and p["entity_set"] == "accounts":
            assert row["name"] == counterpart["OrganizationName"] and row["telephone1"] == counterpart["PrimaryContactPhone"]
    assert checked["both_equal"] and checked["both_differ"]


def test_erp_copies_follow_the_erp_logic(tenant):
    _, _, _, crm, erp = tenant
    lines = defaultdict(list)
    for ln in erp.iter_rows("CDSSalesOrderLines"):
        lines[(ln["dataAreaId"], ln["SalesOrderNumber"])].append(ln)
        assert ln["LineAmount"] == erp_logic.price_line(ln["dataAreaId"], ln["OrderedSalesQuantity"], ln["SalesPrice"],
                                                        ln["LineDiscountAmount"])["LineAmount"]
    orders = {(o["dataAreaId"], o["SalesOrderNumber"]): o for o in erp.iter_rows("CDSSalesOrderHeaders")}
    for key, o in orders.items():
        totals = erp_logic.order_totals(o["dataAreaId"], lines[key])
        assert {k: o[k] for k in totals} == totals
        assert {ln["SalesOrderLineStatus"] for ln in lines[key]} == {o["SalesOrderStatus"]}
    invoiced = {k for k, o in orders.items() if o["SalesOrderProcessingStatus"] == "Invoiced"}
    invoices = list(erp.iter_rows("SalesInvoiceHeadersV2"))
    assert {(i["dataAreaId"], i["SalesOrderNumber"]) for i in invoices} == invoiced
    for inv in invoices:
        assert inv["TotalInvoiceAmount"] == orders[(inv["dataAreaId"], inv["SalesOrderNumber"])]["OrderTotalAmount"]
    assert len({i["InvoiceNumber"] for i in invoices}) == len(invoices)  # numbers unique across companies
    assert erp.get_meta("numseq:INV") == max(int(i["InvoiceNumber"][4:]) for i in invoices)
    # CRM headers that the ERP does not know carry the CRM's own totals of their lines
    crm_lines = defaultdict(list)
    for ln in crm.iter_rows("salesorderdetails"):
        crm_lines[ln["_salesorderid_value"]].append(ln)
        assert ln["baseamount"] == round(ln["quantity"] * ln["priceperunit"], 4)
    for o in crm.iter_rows("salesorders"):
        if not o["p2c_isexternallymaintained"]:
            assert o["totalamount"] == header_totals(crm_lines[o["salesorderid"]], o)["totalamount"]


def test_manifest_is_json_with_the_agreed_fields(tenant):
    d, _, manifest, _, _ = tenant
    assert json.loads((d / "manifest.json").read_text()) == manifest
    for p in manifest["planted"]:
        assert {"system", "entity_set", "id_or_key", "natural_key", "company"} <= p.keys()
        assert ("reason" in p) != ("case" in p)
        assert p["system"] in ("crm", "erp")
