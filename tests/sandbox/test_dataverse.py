"""The Dataverse (CRM) emulator, checked over real HTTP the way a Web API client sees it."""

from __future__ import annotations

import re
import uuid
from urllib.parse import unquote
from xml.etree import ElementTree as ET

import pytest

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@pytest.fixture(scope="module")
def sb(sandbox_factory):
    s = sandbox_factory(scale="small")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def crm(sb):
    with sb.client("crm") as c:
        yield c


def uniq(prefix: str = "T") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_account(crm, **fields) -> dict:
    body = {"name": fields.pop("name", "Test account"), "accountnumber": fields.pop("accountnumber", uniq("A"))}
    body.update(fields)
    r = crm.post("accounts", json=body, headers={"Prefer": "return=representation"})
    assert r.status_code == 201, r.text
    return r.json()


def error_of(r) -> dict:
    body = r.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    return body["error"]


# --- discovery --------------------------------------------------------------------------------


def test_service_document_lists_every_entity_set(crm):
    r = crm.get("")
    assert r.status_code == 200
    body = r.json()
    assert body["@odata.context"].endswith("/api/data/v9.2/$metadata")
    names = {v["name"] for v in body["value"]}
    assert {"accounts", "contacts", "products", "pricelevels", "productpricelevels", "quotes", "quotedetails",
            "salesorders", "salesorderdetails", "invoices", "invoicedetails", "transactioncurrencies", "uoms",
            "uomschedules", "systemusers", "businessunits"} == names
    assert all(v["kind"] == "EntitySet" for v in body["value"])


def test_metadata_describes_keys_lookups_alternate_keys_and_change_tracking(crm):
    r = crm.get("$metadata")
    assert r.status_code == 200 and "xml" in r.headers["content-type"]
    root = ET.fromstring(r.content)
    schema = root.find(f".//{EDM}Schema")
    assert schema.get("Namespace") == "Microsoft.Dynamics.CRM"
    types = {t.get("Name"): t for t in schema.findall(f"{EDM}EntityType")}
    account = types["account"]
    assert [p.get("Name") for p in account.find(f"{EDM}Key")] == ["accountid"]
    props = {p.get("Name"): p.get("Type") for p in account.findall(f"{EDM}Property")}
    assert props["accountid"] == "Edm.Guid" and props["_primarycontactid_value"] == "Edm.Guid"
    assert props["versionnumber"] == "Edm.Int64" and props["creditlimit"] == "Edm.Decimal"
    navs = {n.get("Name") for n in types["quote"].findall(f"{EDM}NavigationProperty")}
    assert {"customerid_account", "customerid_contact", "pricelevelid"} <= navs
    alt = account.find(f"{EDM}Annotation[@Term='OData.Community.Keys.V1.AlternateKeys']")
    assert alt is not None and alt.find(f".//{EDM}PropertyValue[@PropertyPath='accountnumber']") is not None
    sets = root.findall(f".//{EDM}EntityContainer/{EDM}EntitySet")
    assert len(sets) == 16
    tracking = sets[0].find(f"{EDM}Annotation[@Term='Org.OData.Capabilities.V1.ChangeTracking']")
    assert tracking.find(f".//{EDM}PropertyValue").get("Bool") == "true"


def test_entity_definitions_answer_like_the_metadata_web_api(crm):
    r = crm.get("EntityDefinitions", params={"$select": "LogicalName,EntitySetName,PrimaryIdAttribute",
                                             "$filter": "ChangeTrackingEnabled eq true"})
    assert r.status_code == 200
    rows = r.json()["value"]
    acc = next(d for d in rows if d["LogicalName"] == "account")
    assert acc["EntitySetName"] == "accounts" and acc["PrimaryIdAttribute"] == "accountid"
    assert set(acc) == {"MetadataId", "LogicalName", "EntitySetName", "PrimaryIdAttribute"}
    one = crm.get("EntityDefinitions(LogicalName='salesorder')").json()
    assert one["EntitySetName"] == "salesorders" and one["ChangeTrackingEnabled"] is True
    attrs = crm.get("EntityDefinitions(LogicalName='quote')/Attributes",
                    params={"$select": "LogicalName,AttributeType"}).json()["value"]
    by_name = {a["LogicalName"]: a for a in attrs}
    assert by_name["customerid"]["AttributeType"] == "Customer"
    assert by_name["quoteid"]["AttributeType"] == "Uniqueidentifier"
    assert by_name["statecode"]["AttributeType"] == "State"
    keys = crm.get("EntityDefinitions(LogicalName='account')/Keys").json()["value"]
    assert keys[0]["KeyAttributes"] == ["accountnumber"] and keys[0]["EntityKeyIndexStatus"] == "Active"
    missing = crm.get("EntityDefinitions(LogicalName='nothing')")
    assert missing.status_code == 404


def test_unknown_entity_set_is_404_with_error_body(crm):
    r = crm.get("widgets")
    assert r.status_code == 404
    assert "widgets" in error_of(r)["message"]


# --- create and read --------------------------------------------------------------------------


def test_create_returns_204_with_entity_id_and_row_reads_back(crm):
    number = uniq("A")
    r = crm.post("accounts", json={"name": "Contoso Ltd", "accountnumber": number})
    assert r.status_code == 204 and r.content == b""
    m = re.fullmatch(r".*/api/data/v9\.2/accounts\(([0-9a-f-]{36})\)", r.headers["OData-EntityId"])
    assert m
    row = crm.get(f"accounts({m.group(1)})").json()
    assert row["accountid"] == m.group(1) and row["accountnumber"] == number
    assert row["@odata.context"].endswith("$metadata#accounts/$entity")
    assert row["@odata.etag"] == f'W/"{row["versionnumber"]}"'
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["createdon"])
    assert row["statecode"] == 0 and row["statuscode"] == 1


def test_create_with_representation_is_201_and_version_rises_on_every_change(crm):
    row = make_account(crm)
    assert row["@odata.etag"] == f'W/"{row["versionnumber"]}"'
    r = crm.patch(f"accounts({row['accountid']})", json={"telephone1": "555"},
                  headers={"Prefer": "return=representation"})
    assert r.status_code == 200
    assert r.json()["versionnumber"] > row["versionnumber"]
    assert r.headers["ETag"] == r.json()["@odata.etag"]


def test_missing_row_is_404_with_documented_message(crm):
    gid = str(uuid.uuid4())
    r = crm.get(f"accounts({gid})")
    assert r.status_code == 404
    assert error_of(r)["message"] == f"account With Id = {gid} Does Not Exist"


def test_validation_errors(crm):
    r = crm.post("accounts", json={"name": "x" * 161, "accountnumber": uniq()})
    assert r.status_code == 400 and error_of(r)["code"] == "0x80044331"
    assert "maximum allowed length of '160'" in error_of(r)["message"]
    r = crm.post("accounts", json={"accountnumber": uniq()})
    assert r.status_code == 400 and error_of(r)["code"] == "0x80044331"
    r = crm.post("accounts", json={"name": "n", "creditlimit": "lots"})
    assert r.status_code == 400
    r = crm.post("accounts", json={"name": "n", "nosuchcolumn": 1})
    assert r.status_code == 400 and "nosuchcolumn" in error_of(r)["message"]
    r = crm.post("accounts", json={"name": "n", "_primarycontactid_value": str(uuid.uuid4())})
    assert r.status_code == 400


def test_statecode_and_statuscode_are_checked_as_a_pair(crm):
    row = make_account(crm)
    url = f"accounts({row['accountid']})"
    assert crm.patch(url, json={"statecode": 1, "statuscode": 1}).status_code == 400
    assert crm.patch(url, json={"statecode": 1}).status_code == 204
    assert crm.get(url).json()["statuscode"] == 2  # the state's default status
    assert crm.patch(url, json={"statecode": 0, "statuscode": 1}).status_code == 204


# --- query options ----------------------------------------------------------------------------


def test_select_filter_orderby_top_count(crm):
    tag = uniq("Q")
    for i, limit in enumerate([300, 100, None, 200]):
        make_account(crm, name=f"{tag} {i}", accountnumber=f"{tag}-{i}", creditlimit=limit)
    r = crm.get("accounts", params={"$select": "name,creditlimit", "$filter": f"startswith(name,'{tag}') and "
                                    "(creditlimit gt 150 or creditlimit eq null)", "$orderby": "creditlimit desc",
                                    "$count": "true"})
    assert r.status_code == 200
    body = r.json()
    assert body["@odata.context"].endswith("$metadata#accounts(name,creditlimit)")
    assert body["@odata.count"] == 3
    assert [v["creditlimit"] for v in body["value"]] == [300, 200, None]
    assert set(body["value"][0]) == {"@odata.etag", "name", "creditlimit", "accountid"}
    top = crm.get("accounts", params={"$filter": f"startswith(name,'{tag}')", "$top": "2", "$orderby": "name"}).json()
    assert [v["name"] for v in top["value"]] == [f"{tag} 0", f"{tag} 1"] and "@odata.nextLink" not in top
    assert crm.get("accounts/$count", params={"$filter": f"startswith(name,'{tag}')"}).text == "4"


def test_filter_is_case_insensitive_and_escapes_quotes(crm):
    acc = make_account(crm, name="O'Hara & Sons")
    r = crm.get("accounts", params={"$filter": "name eq 'o''hara & sons'", "$select": "name"})
    assert acc["accountid"] in {v["accountid"] for v in r.json()["value"]}


@pytest.mark.parametrize("params,needle", [
    ({"$skip": "10"}, "$skip"),
    ({"$filter": "name eq 'x"}, "unterminated"),
    ({"$filter": "nosuch eq 1"}, "nosuch"),
    ({"$filter": "name eq 5"}, "incompatible"),
    ({"$select": "nosuch"}, "nosuch"),
    ({"$orderby": "name sideways"}, "$orderby"),
    ({"$top": "-1"}, "$top"),
])
def test_refused_query_options_are_400_with_error_body(crm, params, needle):
    r = crm.get("accounts", params=params)
    assert r.status_code == 400
    assert needle in error_of(r)["message"]


def test_paging_with_maxpagesize_and_opaque_next_link(crm):
    tag = uniq("P")
    for i in range(12):
        make_account(crm, name=f"{tag} {i:02}", accountnumber=f"{tag}-{i}")
    seen, pages = [], 0
    url, params = "accounts", {"$filter": f"startswith(name,'{tag}')", "$select": "name", "$orderby": "name desc"}
    while url:
        r = crm.get(url, params=params, headers={"Prefer": "odata.maxpagesize=5"})
        assert r.status_code == 200 and r.headers["Preference-Applied"] == "odata.maxpagesize=5"
        body = r.json()
        pages += 1
        seen += [v["name"] for v in body["value"]]
        url, params = body.get("@odata.nextLink"), None
        if url:
            token = unquote(url.split("$skiptoken=")[1])
            assert token.startswith(f'<cookie pagenumber="{pages + 1}" pagingcookie="') and 'istracking="False"' in token
    assert pages == 3
    assert seen == [f"{tag} {i:02}" for i in reversed(range(12))]


def test_page_size_is_capped_at_5000(crm):
    r = crm.get("accounts", params={"$select": "name"}, headers={"Prefer": "odata.maxpagesize=9000"})
    assert r.headers["Preference-Applied"] == "odata.maxpagesize=5000"
    assert len(r.json()["value"]) <= 5000


def test_polymorphic_lookup_annotations(crm):
    acc = make_account(crm)
    r = crm.post("contacts", json={"lastname": "Lee", "firstname": "Ann",
                                   "parentcustomerid_account@odata.bind": f"/accounts({acc['accountid']})"},
                 headers={"Prefer": "return=representation"})
    cid = r.json()["contactid"]
    child = crm.post("contacts", json={"lastname": "Kid", "parentcustomerid_contact@odata.bind": f"/contacts({cid})"},
                     headers={"Prefer": "return=representation"}).json()
    prefer = ('odata.include-annotations="OData.Community.Display.V1.FormattedValue,'
              'Microsoft.Dynamics.CRM.lookuplogicalname,Microsoft.Dynamics.CRM.associatednavigationproperty",'
              ' odata.maxpagesize=10')
    row = crm.get(f"contacts({cid})", params={"$select": "_parentcustomerid_value"}, headers={"Prefer": prefer}).json()
    assert row["_parentcustomerid_value"] == acc["accountid"]
    assert row["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    kid = crm.get(f"contacts({child['contactid']})", headers={"Prefer": prefer}).json()
    assert kid["_parentcustomerid_value"] == cid
    assert kid["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "contact"
    assert kid["_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] == "parentcustomerid_contact"
    assert kid["_parentcustomerid_value@OData.Community.Display.V1.FormattedValue"] == "Ann Lee"  # the parent's name


# --- lookups and computed columns ---------------------------------------------------------------


def test_lookups_bind_by_guid_and_alternate_key_and_read_as_value(crm):
    acc = make_account(crm, accountnumber=uniq("B'"))
    key = acc["accountnumber"].replace("'", "''")
    r = crm.post("contacts", json={"firstname": "Jo", "lastname": "Bloggs",
                                   "parentcustomerid_account@odata.bind": f"accounts(accountnumber='{key}')"},
                 headers={"Prefer": "return=representation"})
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["_parentcustomerid_value"] == acc["accountid"]
    assert c["fullname"] == "Jo Bloggs"
    r = crm.patch(f"accounts({acc['accountid']})",
                  json={"primarycontactid@odata.bind": f"/contacts({c['contactid']})"})
    assert r.status_code == 204
    assert crm.get(f"accounts({acc['accountid']})").json()["_primarycontactid_value"] == c["contactid"]
    r = crm.patch(f"accounts({acc['accountid']})", json={"primarycontactid@odata.bind": None})
    assert crm.get(f"accounts({acc['accountid']})").json()["_primarycontactid_value"] is None
    r = crm.post("contacts", json={"lastname": "X", "parentcustomerid_account@odata.bind": f"/accounts({uuid.uuid4()})"})
    assert r.status_code == 404 and "Does Not Exist" in error_of(r)["message"]


def _users(crm) -> dict[str, dict]:
    units = {u["businessunitid"]: u for u in crm.get("businessunits").json()["value"]}
    return {u["fullname"]: u | {"unit": units[u["_businessunitid_value"]]}
            for u in crm.get("systemusers").json()["value"]}


def test_records_the_integration_creates_are_owned_by_its_application_user(crm):
    """Demo data defines the application user in the root business unit; without an owner in
    the request, it owns what it creates, and the record lives in its business unit."""
    app_user = _users(crm)["# p2c integration"]
    assert app_user["unit"]["_parentbusinessunitid_value"] is None  # the root business unit
    for set_name, body in (("accounts", {"name": "Owned", "accountnumber": uniq("OWN")}),
                           ("contacts", {"lastname": "Owned"})):
        row = crm.post(set_name, json=body, headers={"Prefer": "return=representation"}).json()
        assert row["_ownerid_value"] == app_user["systemuserid"], set_name
        assert row["_owningbusinessunit_value"] == app_user["unit"]["businessunitid"], set_name


def test_owner_and_owning_business_unit_binds_are_honoured(crm):
    users = _users(crm)
    seller = next(u for u in users.values() if u["unit"]["_parentbusinessunitid_value"] and not u["fullname"].startswith("#"))
    other_unit = next(u["unit"] for u in users.values() if u["unit"]["businessunitid"] != seller["unit"]["businessunitid"])
    by_owner = make_account(crm, **{"ownerid@odata.bind": f"/systemusers({seller['systemuserid']})"})
    assert (by_owner["_ownerid_value"], by_owner["_owningbusinessunit_value"]) == (
        seller["systemuserid"], seller["unit"]["businessunitid"])
    by_unit = make_account(crm, **{"owningbusinessunit@odata.bind": f"/businessunits({other_unit['businessunitid']})"})
    assert by_unit["_owningbusinessunit_value"] == other_unit["businessunitid"]
    assert by_unit["_ownerid_value"] == users["# p2c integration"]["systemuserid"]
    both = make_account(crm, **{"ownerid@odata.bind": f"/systemusers({seller['systemuserid']})",
                                "owningbusinessunit@odata.bind": f"/businessunits({other_unit['businessunitid']})"})
    assert (both["_ownerid_value"], both["_owningbusinessunit_value"]) == (
        seller["systemuserid"], other_unit["businessunitid"])
    # assigning to another user moves the record to that user's business unit
    assert crm.patch(f"accounts({by_unit['accountid']})",
                     json={"ownerid@odata.bind": f"/systemusers({seller['systemuserid']})"}).status_code == 204
    assigned = crm.get(f"accounts({by_unit['accountid']})").json()
    assert assigned["_owningbusinessunit_value"] == seller["unit"]["businessunitid"]


def _reference_data(crm):
    cur = crm.post("transactioncurrencies", json={"currencyname": uniq("Cur"), "isocurrencycode": uniq("C")[:5]},
                   headers={"Prefer": "return=representation"}).json()
    pl = crm.post("pricelevels", json={"name": uniq("PL"),
                                       "transactioncurrencyid@odata.bind": f"/transactioncurrencies({cur['transactioncurrencyid']})"},
                  headers={"Prefer": "return=representation"}).json()
    return cur, pl


def test_order_lines_compute_amounts_and_header_totals(crm):
    cur, pl = _reference_data(crm)
    acc = make_account(crm)
    r = crm.post("salesorders", json={"name": "Order", "ordernumber": uniq("SO"),
                                      "customerid_account@odata.bind": f"/accounts({acc['accountid']})",
                                      "pricelevelid@odata.bind": f"/pricelevels({pl['pricelevelid']})",
                                      "freightamount": 10},
                 headers={"Prefer": "return=representation"})
    assert r.status_code == 201, r.text
    so = r.json()
    assert so["_customerid_value"] == acc["accountid"]
    for qty, price, disc, tax in ((2, 50.0, 10.0, 9.0), (1, 30.0, 0.0, 3.0)):
        line = crm.post("salesorderdetails", json={"quantity": qty, "priceperunit": price, "manualdiscountamount": disc,
                                                   "tax": tax, "ispriceoverridden": True,
                                                   "salesorderid@odata.bind": f"/salesorders({so['salesorderid']})"},
                        headers={"Prefer": "return=representation"})
        assert line.status_code == 201, line.text
        assert line.json()["baseamount"] == qty * price
        assert line.json()["extendedamount"] == qty * price - disc + tax
    head = crm.get(f"salesorders({so['salesorderid']})").json()
    assert head["totallineitemamount"] == 120.0  # (100-10) + 30
    assert head["totaltax"] == 12.0
    assert head["totalamount"] == 120.0 + 10 + 12.0
    assert head["versionnumber"] > so["versionnumber"]


# --- upsert, concurrency ----------------------------------------------------------------------


def test_upsert_by_alternate_key_with_escaped_quote(crm):
    number = uniq("U'p")
    url = "accounts(accountnumber='" + number.replace("'", "''") + "')"
    r = crm.patch(url, json={"name": "Upserted"})
    assert r.status_code == 204 and "OData-EntityId" in r.headers
    r = crm.patch(url, json={"name": "Updated"}, headers={"Prefer": "return=representation"})
    assert r.status_code == 200
    assert r.json()["accountnumber"] == number and r.json()["name"] == "Updated"
    r = crm.patch("accounts(accountnumber='" + uniq() + "')", json={"name": "New"},
                  headers={"Prefer": "return=representation"})
    assert r.status_code == 201
    r = crm.patch("accounts(nosuchkey='x')", json={"name": "x"})
    assert r.status_code == 400 and "The key in the request URI is not valid" in error_of(r)["message"]


def test_if_match_and_if_none_match(crm):
    row = make_account(crm)
    url = f"accounts({row['accountid']})"
    stale = row["@odata.etag"]
    assert crm.patch(url, json={"name": "v2"}, headers={"If-Match": stale}).status_code == 204
    r = crm.patch(url, json={"name": "v3"}, headers={"If-Match": stale})
    assert r.status_code == 412
    assert error_of(r)["message"] == "The version of the existing record doesn't match the RowVersion property provided."
    assert crm.delete(url, headers={"If-Match": stale}).status_code == 412
    r = crm.patch(url, json={"name": "x"}, headers={"If-None-Match": "*"})
    assert r.status_code == 412 and error_of(r)["message"] == "A record with matching key values already exists."
    missing = f"accounts({uuid.uuid4()})"
    assert crm.patch(missing, json={"name": "x"}, headers={"If-Match": "*"}).status_code == 404
    assert crm.get(missing).status_code == 404
    assert crm.patch(missing, json={"name": "created"}, headers={"If-None-Match": "*"}).status_code == 204
    fresh = crm.get(url).json()["@odata.etag"]
    assert crm.get(url, headers={"If-None-Match": fresh}).status_code == 304
    assert crm.delete(url, headers={"If-Match": fresh}).status_code == 204
    assert crm.get(url).status_code == 404


def test_duplicate_alternate_key_is_refused(crm):
    row = make_account(crm)
    r = crm.post("accounts", json={"name": "dup", "accountnumber": row["accountnumber"]})
    assert r.status_code == 412 and error_of(r)["code"] == "0x80060892"


# --- change tracking --------------------------------------------------------------------------


def test_change_tracking_delta_reports_changes_and_deletions(sb, crm):
    r = crm.get("uomschedules", params={"$select": "name"}, headers={"Prefer": "odata.track-changes"})
    assert r.status_code == 200 and "odata.track-changes" in r.headers["Preference-Applied"]
    delta = r.json()["@odata.deltaLink"]
    assert re.search(r"\$deltatoken=\d+%21\d\d%2F\d\d%2F\d{4}%20\d\d%3A\d\d%3A\d\d$", delta)
    made = [crm.post("uomschedules", json={"name": uniq("S")}, headers={"Prefer": "return=representation"}).json()
            for _ in range(3)]
    crm.patch(f"uomschedules({made[0]['uomscheduleid']})", json={"name": "renamed"})
    crm.delete(f"uomschedules({made[1]['uomscheduleid']})")
    body = crm.get(delta).json()
    assert body["@odata.context"].endswith("$metadata#uomschedules(name)/$delta")
    changed = {v["uomscheduleid"]: v for v in body["value"] if "@odata.etag" in v}
    deleted = [v for v in body["value"] if v.get("reason") == "deleted"]
    assert changed.keys() == {made[0]["uomscheduleid"], made[2]["uomscheduleid"]}
    assert changed[made[0]["uomscheduleid"]]["name"] == "renamed"
    assert [d["id"] for d in deleted] == [made[1]["uomscheduleid"]]
    assert deleted[0]["@odata.context"].endswith("$metadata#uomschedules/$deletedEntity")
    nothing = crm.get(body["@odata.deltaLink"]).json()
    assert nothing["value"] == [] and "@odata.deltaLink" in nothing


def test_change_tracking_pages_large_deltas(crm):
    first = crm.get("pricelevels", params={"$select": "name"}, headers={"Prefer": "odata.track-changes"}).json()
    link = first["@odata.deltaLink"]
    while "@odata.nextLink" in first:  # the initial full read may itself be paged
        first = crm.get(first["@odata.nextLink"], headers={"Prefer": "odata.track-changes"}).json()
        link = first.get("@odata.deltaLink", link)
    cur, _ = _reference_data(crm)
    names = [uniq("PL") for _ in range(7)]
    for n in names:
        crm.post("pricelevels", json={"name": n, "transactioncurrencyid@odata.bind":
                                      f"/transactioncurrencies({cur['transactioncurrencyid']})"})
    got, url = [], link
    while True:
        body = crm.get(url, headers={"Prefer": "odata.maxpagesize=3"}).json()
        got += [v["name"] for v in body["value"]]
        if "@odata.nextLink" in body:
            url = body["@odata.nextLink"]
            continue
        assert "@odata.deltaLink" in body
        break
    assert set(names) <= set(got)


@pytest.mark.parametrize("option", ["$filter", "$orderby", "$top"])
def test_change_tracking_refuses_options(crm, option):
    value = {"$filter": "name eq 'x'", "$orderby": "name", "$top": "1"}[option]
    r = crm.get("accounts", params={option: value}, headers={"Prefer": "odata.track-changes"})
    assert r.status_code == 400
    assert error_of(r)["message"] == f'The "{option}" query parameter isn\'t supported when Change Tracking is enabled.'


def test_expired_delta_token_needs_a_full_sync(sb, crm):
    r = crm.get("uoms", params={"$select": "name"}, headers={"Prefer": "odata.track-changes"})
    delta = r.json()["@odata.deltaLink"]
    assert crm.get(delta).status_code == 200
    sb.expire_tokens()
    r = crm.get(delta)
    assert r.status_code == 400
    assert "Version stamp associated with the client has expired" in error_of(r)["message"]
    again = crm.get("uoms", params={"$select": "name"}, headers={"Prefer": "odata.track-changes"}).json()
    assert crm.get(again["@odata.deltaLink"]).status_code == 200


# --- $batch -----------------------------------------------------------------------------------


def _batch(parts: list[str], boundary: str = "batch_x") -> tuple[bytes, str]:
    body = "".join(f"--{boundary}\r\n{p}" for p in parts) + f"--{boundary}--\r\n"
    return body.encode(), f"multipart/mixed; boundary={boundary}"


def _changeset(requests: list[tuple[str, str, str | None]], cs: str = "changeset_y") -> str:
    out = f"Content-Type: multipart/mixed; boundary={cs}\r\n\r\n"
    for i, (method, url, body) in enumerate(requests, 1):
        out += (f"--{cs}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
                f"Content-ID: {i}\r\n\r\n{method} {url} HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n"
                f"{body or ''}\r\n")
    return out + f"--{cs}--\r\n"


def _get(url: str) -> str:
    return f"Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nGET {url} HTTP/1.1\r\nAccept: application/json\r\n\r\n"


def test_batch_change_set_with_content_id_reference(sb, crm):
    number = uniq("BQ")
    body, ctype = _batch([
        _changeset([
            ("POST", f"{sb.crm_url}quotes", f'{{"name": "Q", "quotenumber": "{number}", '
             f'"customerid_account@odata.bind": "/accounts({make_account(crm)["accountid"]})"}}'),
            ("POST", "/api/data/v9.2/quotedetails", '{"quantity": 3, "priceperunit": 2, "ispriceoverridden": true, '
             '"quoteid@odata.bind": "$1"}'),
        ]),
        _get(f"quotes(quotenumber='{number}')?$select=totallineitemamount"),
    ])
    r = crm.post("$batch", content=body, headers={"Content-Type": ctype})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("multipart/mixed; boundary=batchresponse_")
    text = r.text
    assert text.count("HTTP/1.1 204 No Content") == 2 and "changesetresponse_" in text
    assert '"totallineitemamount":6.0' in text
    q = crm.get(f"quotes(quotenumber='{number}')").json()
    lines = crm.get("quotedetails", params={"$filter": f"_quoteid_value eq {q['quoteid']}"}).json()["value"]
    assert len(lines) == 1 and lines[0]["baseamount"] == 6.0


def test_batch_change_set_is_atomic(crm):
    number = uniq("AT")
    body, ctype = _batch([_changeset([
        ("POST", "accounts", f'{{"name": "first", "accountnumber": "{number}"}}'),
        ("POST", "accounts", '{"name": "second", "nosuchcolumn": 1}'),
    ])])
    r = crm.post("$batch", content=body, headers={"Content-Type": ctype})
    assert r.status_code == 400
    assert "HTTP/1.1 400 Bad Request" in r.text and "nosuchcolumn" in r.text
    assert crm.get(f"accounts(accountnumber='{number}')").status_code == 404


def test_batch_stops_at_first_failure_unless_continue_on_error(crm):
    n1, n2 = uniq("C1"), uniq("C2")
    parts = [
        _changeset([("POST", "accounts", f'{{"name": "ok", "accountnumber": "{n1}"}}')], "cs_a"),
        _changeset([("PATCH", f"accounts({uuid.uuid4()})", '{"name": "x"}')], "cs_b"),
        _changeset([("POST", "accounts", f'{{"name": "after", "accountnumber": "{n2}"}}')], "cs_c"),
    ]
    body, ctype = _batch(parts)
    # the PATCH on a missing GUID without If-Match is an upsert that creates; make it fail instead
    body = body.replace(b'"name": "x"', b'"name": "' + b"x" * 200 + b'"')
    r = crm.post("$batch", content=body, headers={"Content-Type": ctype})
    assert r.status_code == 400
    assert crm.get(f"accounts(accountnumber='{n1}')").status_code == 200
    assert crm.get(f"accounts(accountnumber='{n2}')").status_code == 404
    body2 = body.replace(n1.encode(), uniq("C3").encode())
    r = crm.post("$batch", content=body2, headers={"Content-Type": ctype, "Prefer": "odata.continue-on-error"})
    assert r.status_code == 200
    assert r.text.count("HTTP/1.1 204") == 2 and r.text.count("HTTP/1.1 400") == 1
    assert crm.get(f"accounts(accountnumber='{n2}')").status_code == 200


def test_batch_refuses_unknown_reference_and_more_than_1000_requests(crm):
    body, ctype = _batch([_changeset([("PATCH", "$9", '{"name": "x"}')])])
    r = crm.post("$batch", content=body, headers={"Content-Type": ctype})
    assert "Content-ID Reference: '$9' does not exist in the batch context." in r.text
    body, ctype = _batch([_get("accounts?$top=1")] * 1001)
    r = crm.post("$batch", content=body, headers={"Content-Type": ctype})
    assert r.status_code == 400 and "1000" in error_of(r)["message"]


# --- a generic client -------------------------------------------------------------------------


def test_generic_client_discovers_and_pages_every_entity_set(crm):
    """What a generic Dataverse client does: EntityDefinitions → EntitySetName/PrimaryIdAttribute,
    then page each set with odata.maxpagesize until no nextLink; $metadata agrees on the sets."""
    defs = crm.get("EntityDefinitions", params={"$select": "EntitySetName,PrimaryIdAttribute"}).json()["value"]
    root = ET.fromstring(crm.get("$metadata").content)
    csdl_sets = {s.get("Name") for s in root.iter(f"{EDM}EntitySet")}
    assert {d["EntitySetName"] for d in defs} == csdl_sets
    for d in defs:
        ids, url = set(), d["EntitySetName"]
        while url:
            r = crm.get(url, headers={"Prefer": "odata.maxpagesize=400"})
            assert r.status_code == 200, (url, r.text)
            body = r.json()
            ids |= {v[d["PrimaryIdAttribute"]] for v in body["value"]}
            url = body.get("@odata.nextLink")
        count = int(crm.get(f"{d['EntitySetName']}/$count").text)
        assert len(ids) == count or count == 5000, d


# --- the documented forms a generic client relies on -------------------------------------------


def test_entity_definitions_expand_attributes_and_keys_with_nested_select(crm):
    r = crm.get("EntityDefinitions(LogicalName='account')", params={
        "$select": "LogicalName,ChangeTrackingEnabled",
        "$expand": "Attributes($select=LogicalName,AttributeType),Keys($select=KeyAttributes,EntityKeyIndexStatus)"})
    assert r.status_code == 200
    body = r.json()
    attributes = {a["LogicalName"]: a["AttributeType"] for a in body["Attributes"]}
    assert attributes["revenue"] == "Money" and attributes["primarycontactid"] == "Lookup"
    assert set(body["Attributes"][0]) == {"MetadataId", "LogicalName", "AttributeType"}
    assert {"KeyAttributes": ["accountnumber"], "EntityKeyIndexStatus": "Active"}.items() <= body["Keys"][0].items()
    assert body["ChangeTrackingEnabled"] is True


def test_single_valued_lookups_expand_on_entity_sets(crm):
    r = crm.get("contacts", params={"$select": "fullname", "$top": "50",
                                    "$expand": "parentcustomerid_account($select=name,accountnumber)"})
    assert r.status_code == 200, r.text
    rows = r.json()["value"]
    parents = [row["parentcustomerid_account"] for row in rows if row["parentcustomerid_account"]]
    assert parents and all(set(p) == {"@odata.etag", "accountid", "name", "accountnumber"} for p in parents)
    assert all("_parentcustomerid_value" not in row for row in rows)  # not selected, not shown
    bad = crm.get("accounts", params={"$expand": "nosuchnav"})
    assert bad.status_code == 400


def test_include_annotations_returns_what_was_asked_and_says_so(crm):
    star = crm.get("accounts", params={"$select": "name,revenue,creditlimit,statecode,_transactioncurrencyid_value", "$top": "5"},
                   headers={"Prefer": 'odata.include-annotations="*"'})
    assert star.headers["Preference-Applied"] == 'odata.include-annotations="*"'
    row = next(r for r in star.json()["value"] if r["_transactioncurrencyid_value"])
    assert row["statecode@OData.Community.Display.V1.FormattedValue"] == "Active"
    assert row["_transactioncurrencyid_value@OData.Community.Display.V1.FormattedValue"]  # the currency's name
    assert row["_transactioncurrencyid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "transactioncurrency"
    assert "revenue" in row  # a common column the documents use in their examples
    only = crm.get("accounts", params={"$select": "name,statecode,_transactioncurrencyid_value", "$top": "5"},
                   headers={"Prefer": 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'})
    assert only.headers["Preference-Applied"] == 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'
    keys = {k for r in only.json()["value"] for k in r if "@" in k and k != "@odata.etag"}
    assert keys == {"_transactioncurrencyid_value@Microsoft.Dynamics.CRM.lookuplogicalname"}
    plain = crm.get("accounts", params={"$top": "1"})
    assert "Preference-Applied" not in plain.headers
