"""`p2c run` with Business Central as the ERP, end to end: the real CLI against the sandbox's BC API.

The F&O module's runner (:class:`Job`, same fixtures and helpers) over one sandbox and one chain
of runs on DuckDB: a first run; a day of activity; the second night run stage by stage (`p2c
extract`, `p2c transform`, then a BC user edits a customer p2c is about to update, then `p2c
writeback`) so its If-Match is refused; a settling run; a quiet run that writes nothing. Each
step's checks read both systems and the warehouse.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter

import pytest

from conftest import warehouse_env
from test_nightly_run import Job, written

pytestmark = pytest.mark.e2e
ERP_BATCH = 100  # BC's JSON $batch takes at most 100 operations (the sandbox answers 413 beyond)


@pytest.fixture(scope="module")
def job(request, sandbox_factory, tmp_path_factory):
    sb = sandbox_factory(scale="small", seed=21)
    yield Job(sb, tmp_path_factory.mktemp("nightly-bc"), warehouse_env("duckdb", request), erp="business_central")
    sb.stop()


@pytest.fixture(scope="module")
def manifest(job) -> dict:
    return json.loads((job.sandbox.dir / "manifest.json").read_text())


@pytest.fixture(scope="module")
def companies(manifest) -> dict[str, str]:
    """Canonical company (usmf/demf) → BC company id."""
    return {c["legal_entity"]: c["id"] for c in manifest["bc"]["companies"].values()}


def bc_rows(job, company_id: str, entity_set: str, flt: str) -> list[dict]:
    with job.sandbox.client("bc") as bc:
        response = bc.get(f"companies({company_id})/{entity_set}", params={"$filter": flt})
        response.raise_for_status()
        return response.json()["value"]


def crm_rows(job, entity_set: str, flt: str) -> list[dict]:
    with job.sandbox.client("crm") as crm:
        response = crm.get(entity_set, params={"$filter": flt})
        response.raise_for_status()
        return response.json()["value"]


def log_of(job, run_id: str) -> list[tuple]:
    return job.sql("select system, entity, record_key, operation, status, http_status, error_code, error_message"
                   " from p2c_sync.writeback_log where run_id = ?", [run_id])


@pytest.fixture(scope="module")
def twin(job, manifest, companies) -> tuple[str, str]:
    """Before the first run, a BC user keys in a customer the CRM has as an account not yet in BC,
    under BC's own number: (account number, BC number). Match-based coupling must pair the two."""
    for account in (p["natural_key"] for p in manifest["planted"] if p.get("entity_set") == "accounts"
                    and p.get("case") == "crm_only" and not p.get("reason") and p["company"] == "usmf"):
        [row] = crm_rows(job, "accounts", f"accountnumber eq '{account}'")
        name = row["name"].replace("'", "''")
        if not bc_rows(job, companies["usmf"], "customers", f"displayName eq '{name}'"):
            break  # not one of the planted look-alikes (the ambiguous match)
    with job.sandbox.client("bc") as bc:
        made = bc.post(f"companies({companies['usmf']})/customers",
                       json={"number": "BC-TWIN-1", "displayName": row["name"], "postalCode": row["address1_postalcode"],
                             "city": row["address1_city"] or ""})
        assert made.status_code == 201, made.text
    return account, "BC-TWIN-1"


@pytest.fixture(scope="module")
def first(job, twin):
    return job.run()


def only_waits_on_quarantined_parents(job, code: int, summary: dict) -> None:
    """Nothing failed; what did not go through waits on a parent in quarantine, and the exit code says so."""
    entries = log_of(job, summary["run_id"])
    assert not [r for r in entries if r[4] in ("failed", "changed_since_extract")], entries[:5]
    waiting = [r for r in entries if r[4] == "waiting"]
    assert all("is quarantined" in r[7] for r in waiting), waiting
    assert code == (1 if waiting else 0), summary


def test_first_run_writes_both_systems(job, first, manifest, companies):
    code, summary = first
    only_waits_on_quarantined_parents(job, code, summary)
    assert [s["stage"] for s in summary["stages"]] == ["extract", "transform", "writeback"]
    # CRM-only accounts and orders are now BC customers and sales orders (orders with their lines)
    accounts = [p for p in manifest["planted"] if p.get("entity_set") == "accounts" and p.get("case") == "crm_only"
                and not p.get("reason")]
    orders = [p for p in manifest["planted"] if p.get("entity_set") == "salesorders" and p.get("case") == "crm_only"
              and not p.get("reason")]
    assert accounts and orders
    owned = 0
    created = {r[0] for r in job.sql("select record_key from p2c_sync.writeback_log where status = 'written' "
                                     "and operation = 'create' and system = 'erp'")}
    for p in accounts + orders:
        key = f"{p['company']}|{p['natural_key']}"
        if key not in created:  # waits on a quarantined parent, listed in the quarantine
            continue
        entity_set = "customers" if p["entity_set"] == "accounts" else "salesOrders"
        rows = bc_rows(job, companies[p["company"]], entity_set, f"number eq '{p['natural_key']}'")
        assert len(rows) == 1, (entity_set, key)
        if entity_set == "salesOrders":
            lines = bc_rows(job, companies[p["company"]], "salesOrderLines", f"documentId eq {rows[0]['id']}")
            assert lines and rows[0]["totalAmountIncludingTax"] > 0
            # its owner is the salesperson coupled to the CRM order's owner (as a customer's)
            [order] = crm_rows(job, "salesorders", f"ordernumber eq '{p['natural_key']}'")
            code = job.sql("select salesperson_code from intermediate.int_bc_salespeople where user_id = ? "
                           "and company = ? and is_unique_for_user", [order["_ownerid_value"], p["company"]])
            if code:
                assert rows[0]["salesperson"] == code[0][0], (key, rows[0]["salesperson"], code)
                owned += 1
    assert owned  # orders whose CRM owner is a BC salesperson
    # the currency BC has and the CRM lacked is created there with BC's exchange rate in force
    [dkk] = crm_rows(job, "transactioncurrencies", "isocurrencycode eq 'DKK'")
    assert dkk["exchangerate"] == pytest.approx(6.87, abs=1e-3)
    # BC items reached the CRM as products
    assert summary["entities"]["product"]["created"] > 0


def test_the_writeback_sends_at_most_100_operations_per_batch(job, first):
    _, summary = first
    sent = [r for r in log_of(job, summary["run_id"]) if r[4] not in ("waiting", "skipped")]
    # a new document's lines travel inside its create (deep insert): logged, but not operations of their own
    created = {r[2] for r in sent if r[3] == "create" and r[0] == "erp"}
    carried = [r for r in sent if r[3] == "create" and r[0] == "erp" and r[2].rsplit("|", 1)[0] in created]
    assert carried
    operations = Counter((r[0], r[1]) for r in sent) - Counter((r[0], r[1]) for r in carried)
    attempted = [(system, entity_set, n) for (system, entity_set), n in operations.items()]
    erp_sets = {entity_set: n for system, entity_set, n in attempted if system == "erp"}
    assert max(erp_sets.values()) > ERP_BATCH, erp_sets  # some set needs more than one $batch
    writeback = next(s for s in summary["stages"] if s["stage"] == "writeback")
    records, requests, crm, erp = map(int, re.match(r"(\d+) records in (\d+) HTTP requests \(crm (\d+), erp (\d+)\)",
                                                    writeback["message"]).groups())
    assert records == sum(n for _, _, n in attempted) and requests == crm + erp
    # one $batch per 100 BC operations of a set, no more (a batch over 100 would be refused and split),
    # and no look-ups (BC's keys came with the extracted rows)
    assert erp == sum(math.ceil(n / ERP_BATCH) for n in erp_sets.values()), (erp, erp_sets)
    assert not [r for r in log_of(job, summary["run_id"]) if r[4] == "failed"]


def test_planted_bc_values_are_quarantined_with_their_reason(job, first, manifest):
    quarantined = {json.loads(source_id)["id"]: (reason, text) for source_id, reason, text in job.sql(
        "select source_id, reason, reason_text from audit.quarantine where system = 'erp' and entity <> 'price'")}
    planted = [p for p in manifest["bc"]["planted"] if p["reason"] in ("unmapped_unit", "unmapped_currency")]
    assert planted
    for p in planted:
        reason, text = quarantined[p["id"]]
        assert reason == p["reason"] and text, p


def test_coupling_by_match_and_the_ambiguous_match_is_quarantined_with_its_candidates(job, first, manifest, twin,
                                                                                      companies):
    ambiguous = [p["number"] for p in manifest["bc"]["planted"] if p["reason"] == "ambiguous_match"]
    listed = dict(job.sql("select natural_key, reason_text from audit.quarantine where reason = 'ambiguous_match' "
                          "and entity = 'customer'"))
    assert set(ambiguous) <= set(listed)
    assert all(any(number in text for number in ambiguous) for text in listed.values()), listed
    # the pairs match-based coupling found are recorded as such and shown by `p2c couplings`
    out = job.p2c("couplings", "--entity", "customer", "--json")
    assert out.returncode == 0, out.stderr[-2000:]
    shown = json.loads(out.stdout)
    account, bc_number = twin
    [pair] = [c for c in shown if c["record_key"] == f"usmf|{account}"]
    assert str(pair["coupled_by"]).startswith("match:name"), pair  # paired on name + post code, not by number
    # … so the account was not created in BC a second time under its CRM number
    assert bc_rows(job, companies["usmf"], "customers", f"number eq '{account}'") == []
    assert len(bc_rows(job, companies["usmf"], "customers", f"number eq '{bc_number}'")) == 1
    assert not {c["record_key"] for c in shown} & {f"usmf|{n}" for n in ambiguous}


@pytest.fixture(scope="module")
def second(job, first, companies):
    """A day of activity, then the second night stage by stage; between the transform and the
    writeback a BC user edits a customer p2c is about to update (its credit limit: BC's field)."""
    day = job.sandbox.cli("activity", "--seed", "5")
    assert day.returncode == 0, day.stdout + day.stderr
    log = json.loads((job.sandbox.dir / "activity.json").read_text())[-1]["changes"]
    # and a BC user deletes a contact the CRM has, whose customer is not quarantined (the day's own
    # deletions may hit a contact whose customer waits in quarantine: that one waits with it)
    [(record_key, erp_key)] = job.sql(
        "select p.record_key, p.erp_key from intermediate.int_record_pairs as p "
        "inner join intermediate.int_merge as m on m.entity = 'contact' and m.record_key = p.record_key "
        "    and m.field = 'customer_account' "
        "where p.entity = 'contact' and p.presence = 'both' and p.record_key like 'usmf|%' "
        "    and not exists (select 1 from audit.quarantine as q "
        "                    where q.entity = 'customer' and q.natural_key = m.merged_value) "
        "order by p.record_key limit 1")
    contact = json.loads(erp_key)
    with job.sandbox.client("bc") as bc:
        path = f"companies({contact['companyId']})/contacts({contact['id']})"
        gone = bc.delete(path, headers={"If-Match": bc.get(path).json()["@odata.etag"]})
        assert gone.status_code == 204, gone.text
    log.append({"system": "bc", "action": "delete", "entity_set": "contacts", "key": contact["id"],
                "natural_key": record_key.split("|", 1)[1]})
    for stage in (("extract",), ("transform",)):
        out = job.p2c(*stage)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    planned = job.sql("select record_key, target_key, payload from writeback.erp__customers "
                      "where operation = 'update' and etag is not null order by record_key")
    assert planned, "the day's CRM edits plan BC customer updates"
    record_key, target_key, payload = planned[0]
    target_key, payload = json.loads(target_key), json.loads(payload)
    with job.sandbox.client("bc") as bc:
        path = f"companies({target_key['companyId']})/customers({target_key['id']})"
        current = bc.get(path).json()
        edited = bc.patch(path, json={"creditLimit": current["creditLimit"] + 1234},
                          headers={"If-Match": current["@odata.etag"]})
        assert edited.status_code == 200, edited.text
    out = job.p2c("writeback")
    run_id = job.sql("select max(run_id) from p2c_sync.writeback_log")[0][0]
    return log, out, run_id, (record_key, path, payload, current["creditLimit"] + 1234)


def test_a_bc_edit_after_extraction_refuses_the_patch_and_is_never_overwritten(job, second):
    _, out, run_id, (record_key, path, payload, credit_limit) = second
    assert out.returncode == 1, out.stdout[-2000:] + out.stderr[-2000:]
    refused = [r for r in log_of(job, run_id) if r[2] == record_key]
    assert [(r[4], r[5]) for r in refused] == [("changed_since_extract", 412)], refused
    with job.sandbox.client("bc") as bc:
        now = bc.get(path).json()
    assert now["creditLimit"] == credit_limit  # the BC user's edit stands
    assert any(now.get(field) != value for field, value in payload.items())  # p2c's PATCH did not go through


def test_deletions_in_bc_are_seen(job, second, companies):
    log, *_ = second
    deleted = [c for c in log if c["system"] == "bc" and c["action"] == "delete" and c["entity_set"] == "contacts"]
    assert deleted
    restored = 0
    for c in deleted:
        assert job.sql("select _p2c_deleted from erp_raw.contacts where id = ?", [c["key"]]) == [(True,)]
        key = f"usmf|{c['natural_key']}"
        [(in_crm, erp_deleted)] = job.sql("select crm_id is not null and not crm_deleted, erp_deleted "
                                          "from intermediate.int_record_pairs where entity = 'contact' and record_key = ?", [key])
        assert erp_deleted  # the merge saw it
        again = bc_rows(job, companies["usmf"], "contacts", f"number eq '{c['natural_key']}'")
        waits = job.sql("select error_message from p2c_sync.writeback_log where record_key = ? and status = 'waiting'",
                        [key])
        if in_crm and waits:  # its customer is quarantined: it waits with it, saying so
            assert again == [] and all("is quarantined" in w for (w,) in waits), waits
        elif in_crm:  # the CRM masters contacts: it is created again in BC, as a CRM deletion of an ERP record is
            assert len(again) == 1 and again[0]["id"] != c["key"], again
            restored += 1
        else:
            assert again == []
    assert restored  # a contact the CRM has, deleted in BC, is created again


def test_posted_orders_are_the_erps_and_nothing_fails(job, second):
    _, _, run_id, _ = second
    entries = log_of(job, run_id)
    assert not [r for r in entries if r[4] == "failed"], [r for r in entries if r[4] == "failed"][:5]
    skipped = [r for r in entries if r[4] == "skipped" and r[6] == "p2c_target"]
    assert skipped and all("has posted" in r[7] or "is blocked" in r[7] for r in skipped), skipped[:3]
    listed = json.loads(job.p2c("errors", "--json").stdout)  # `p2c errors` lists them, with the reason
    assert {(r["record_key"], r["error_message"]) for r in listed if r["status"] == "skipped"} == {
        (r[2], r[7]) for r in skipped}


def test_the_second_night_sees_no_conflict_in_what_the_first_night_created(job, first, second):
    """A create's base holds only what it sent: a contact's customer BC did not know yet as a company
    contact (not sent) is sent the next night as a plain change, not listed as a conflict with BC's
    empty field (crm_wins, base = the CRM's value) that settles by itself."""
    _, summary = first
    made = ("select record_key from p2c_sync.writeback_log where run_id = ? and system = 'erp' "
            "and operation = 'create' and status = 'written'")
    stale = job.sql(
        "select c.entity, c.record_key, c.field, c.crm_value from audit.conflicts as c "
        f"where c.record_key in ({made}) and c.erp_value is null and c.base_value is not distinct from c.crm_value",
        [summary["run_id"]])
    contacts = job.sql(f"select count(*) from ({made}) as made where record_key like '%|CON-%'", [summary["run_id"]])
    assert contacts[0][0] and stale == [], stale[:5]


@pytest.fixture(scope="module")
def settled(job, second):
    return job.run()


def test_a_posted_orders_refused_edits_are_skipped_each_night_not_conflicts(job, second, settled):
    """BC will never take the CRM's edits to an order it posted: the night they are refused, the base
    moves to BC's values, so the next night lists them only as skipped with the reason, never as
    conflicts again."""
    _, _, run_id, _ = second
    refused = {r[2] for r in log_of(job, run_id) if r[4] == "skipped" and r[6] == "p2c_target" and r[3] == "update"}
    assert refused
    conflicts = {key for (key,) in job.sql("select record_key from audit.conflicts")}  # the settling night's
    assert not refused & conflicts, sorted(refused & conflicts)[:5]
    again = {r[2]: r[7] for r in log_of(job, settled[1]["run_id"]) if r[4] == "skipped" and r[6] == "p2c_target"}
    assert refused <= set(again) and all("has posted" in again[key] for key in refused)


def test_the_next_run_settles_the_refused_patch(job, second, settled):
    _, _, _, (record_key, path, payload, credit_limit) = second
    code, summary = settled
    only_waits_on_quarantined_parents(job, code, summary)
    with job.sandbox.client("bc") as bc:
        now = bc.get(path).json()
    assert now["creditLimit"] == credit_limit
    assert all(now.get(field) == value for field, value in payload.items()), (now, payload)
    account = crm_rows(job, "accounts", f"accountnumber eq '{record_key.split('|')[1]}'")
    assert account and account[0]["creditlimit"] == credit_limit  # BC's field reached the CRM
    # the orders BC posted during the day are invoiced in the CRM, with BC's totals
    invoiced = [c["natural_key"] for c in second[0] if c["system"] == "bc" and c["action"] == "post"]
    assert invoiced
    orders = [o for number in invoiced for o in crm_rows(job, "salesorders", f"ordernumber eq '{number}'")]
    assert orders  # some of them the CRM sent
    for order in orders:
        assert order["p2c_processingstatus"] == "Invoiced" and order["totalamount"] > 0, order


def test_a_run_after_no_activity_writes_nothing(job, settled):
    code, quiet = job.run()
    assert written(quiet) == 0, quiet["entities"]
    only_waits_on_quarantined_parents(job, code, quiet)
    assert {r[4] for r in log_of(job, quiet["run_id"])} <= {"skipped", "waiting"}
