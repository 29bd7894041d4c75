"""Concurrent edits: people keep working in both systems between p2c's extraction and its writeback.

After a first sync has converged, the business changes customers on both sides (ERP credit limits,
CRM phone numbers): the next extraction and ``dbt build`` plan an update of each in the other
system. Then — after ``p2c transform``, before ``p2c writeback`` (the stages run one by one, as a
scheduler may run them) — people edit exactly the records p2c is about to write:

* in the CRM, accounts p2c will update with the ERP's credit limit: the same field (``creditlimit``),
  another field (``telephone1``), the account deactivated, the account deleted;
* in the ERP, customers p2c will update with the CRM's phone number: the same field
  (``PrimaryContactPhone``), another field (``CreditLimit``), the customer put on hold (``All``,
  the F&O deactivation).

The writeback must overwrite none of them (If-Match on the extracted ETag: 412, or 404 for a deleted
record) and log each as ``changed_since_extract``. The next run settles every one per the merge
rules (docs/design.md): a same-field edit by the non-owner is a conflict the owner wins (listed in
``audit.conflicts``), an edit of another field travels to the other system, a deactivated or deleted
CRM account deactivates the ERP customer (and is never re-created), an ERP hold travels to the CRM.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from systems.dataverse.writer import key_segment as crm_key_segment
from systems.finops.writer import key_segment as erp_key_segment
from tests.reliability.helpers import Job, figure, unreconciled, written

pytestmark = [pytest.mark.e2e]

SEED = 53
# edits of the records p2c is about to write, per kind (68 in all)
CRM_SAME, CRM_OTHER, CRM_DEACTIVATE, CRM_DELETE = 15, 15, 6, 6
ERP_SAME, ERP_OTHER, ERP_HOLD = 10, 10, 6
ERP_PARAMS = {"cross-company": "true"}


def _erp_path(company: str, account: str) -> str:
    return erp_key_segment("CustomersV3", {"dataAreaId": company, "CustomerAccount": account})


def _crm(sb, crm_id: str) -> dict | None:
    with sb.client("crm") as c:
        r = c.get(crm_key_segment("accounts", {"accountid": crm_id}))
    return r.json() if r.status_code == 200 else None


def _erp(sb, company: str, account: str) -> dict:
    with sb.client("erp") as c:
        r = c.get(_erp_path(company, account), params=ERP_PARAMS)
    assert r.status_code == 200, r.text
    return r.json()


def _ok(response) -> None:
    assert response.status_code in (200, 204), (response.request.method, str(response.request.url), response.text)


@pytest.fixture(scope="module")
def edited(sandbox_factory, tmp_path_factory):
    sb = sandbox_factory(scale="small", seed=SEED)
    job = Job(sb, tmp_path_factory.mktemp("concurrent"))
    job.converge()
    # coupled, active customers; those to delete have no documents (a deleted account's orders are another story)
    pairs = job.sql("""
        select p.record_key, p.company, p.crm_id, p.erp_key, p.record_key in (select company || '|' || customer_account
            from (select company, customer_account from canonical.orders
                  union all select company, customer_account from canonical.quotes
                  union all select company, customer_account from canonical.invoices
                  union all select company, customer_account from canonical.contacts)) as has_documents
        from intermediate.int_record_pairs p
        where p.entity = 'customer' and p.presence = 'both' and p.crm_active and p.erp_active
        order by has_documents desc, p.record_key""")
    n_crm = CRM_SAME + CRM_OTHER + CRM_DEACTIVATE + CRM_DELETE
    n_erp = ERP_SAME + ERP_OTHER + ERP_HOLD
    assert len(pairs) >= n_crm + n_erp, f"only {len(pairs)} customers to edit"
    assert not any(has_documents for *_, has_documents in pairs[-CRM_DELETE:])
    # the last CRM_DELETE (no documents) go to the CRM group, whose last edits are the deletions
    to_erp, to_crm = pairs[:n_erp], pairs[-n_crm:]
    accounts = {key: (company, crm_id, key.split("|", 1)[1]) for key, company, crm_id, *_ in pairs}

    # 1. the day's business: ERP credit limits (ERP-owned) and CRM phones (CRM-owned) change
    with sb.client("erp") as erp, sb.client("crm") as crm:
        for i, (key, company, *_) in enumerate(to_crm):
            _ok(erp.patch(_erp_path(company, accounts[key][2]), params=ERP_PARAMS, json={"CreditLimit": 10_000 + i},
                          headers={"If-Match": "*"}))
        for i, (key, _, crm_id, *_) in enumerate(to_erp):
            _ok(crm.patch(crm_key_segment("accounts", {"accountid": crm_id}), json={"telephone1": f"+1 555 01{i:02d}"},
                          headers={"If-Match": "*"}))
    for stage in ("extract", "transform"):
        out = job.p2c(stage)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "unit tests not run" in " ".join(out.stdout.split())  # the nightly build leaves them out
    from reverse_etl import store

    import duckdb
    with duckdb.connect(str(job.warehouse), read_only=True) as conn:
        planned = {(r.target_set, r.record_key): r for r in store.read_writeback_rows(conn)}
    for key, *_ in to_crm:
        assert planned[("accounts", key)].operation == "update", key
    for key, *_ in to_erp:
        assert planned[("CustomersV3", key)].operation == "update", key

    # 2. between transform and writeback, people edit exactly those records
    edits: list[dict] = []
    with sb.client("erp") as erp, sb.client("crm") as crm:
        for i, (key, company, crm_id, *_) in enumerate(to_crm):
            path = crm_key_segment("accounts", {"accountid": crm_id})
            if i < CRM_SAME:
                kind, body = "crm_same_field", {"creditlimit": 777 + i}
            elif i < CRM_SAME + CRM_OTHER:
                kind, body = "crm_other_field", {"telephone1": f"+44 20 7946 0{i:03d}"}
            elif i < CRM_SAME + CRM_OTHER + CRM_DEACTIVATE:
                kind, body = "crm_deactivated", {"statecode": 1, "statuscode": 2}
            else:
                kind, body = "crm_deleted", None
            _ok(crm.delete(path) if body is None else crm.patch(path, json=body, headers={"If-Match": "*"}))
            edits.append({"kind": kind, "key": key, "set": "accounts", "body": body, "erp_limit": 10_000 + i})
        for i, (key, company, crm_id, *_) in enumerate(to_erp):
            path = _erp_path(company, accounts[key][2])
            if i < ERP_SAME:
                kind, body = "erp_same_field", {"PrimaryContactPhone": f"+49 30 901820{i:02d}"}
            elif i < ERP_SAME + ERP_OTHER:
                kind, body = "erp_other_field", {"CreditLimit": 55_000 + i}
            else:
                kind, body = "erp_on_hold", {"OnHoldStatus": "All"}
            _ok(erp.patch(path, params=ERP_PARAMS, json=body, headers={"If-Match": "*"}))
            edits.append({"kind": kind, "key": key, "set": "CustomersV3", "body": body, "crm_phone": f"+1 555 01{i:02d}"})

    # 3. the writeback
    wb = job.p2c("writeback", "--json")
    assert wb.returncode == 1, wb.stdout[-3000:] + wb.stderr[-3000:]  # records changed since extraction
    run_id = json.loads(wb.stdout)["run_id"]
    log = {(s, k): (status, http) for s, k, status, http in job.sql(
        "select entity, record_key, status, http_status from p2c_sync.writeback_log where run_id = ?", [run_id])}
    after_writeback = {e["key"]: (_crm(sb, accounts[e["key"]][1]), _erp(sb, accounts[e["key"]][0], accounts[e["key"]][2]))
                       for e in edits}

    # 4. the next run settles them; its conflicts are read before any later run
    code, settle = job.run()
    conflicts = set(job.sql("select record_key, field, outcome from audit.conflicts where entity = 'customer'"))
    later = job.converge()
    yield {"job": job, "sb": sb, "edits": edits, "accounts": accounts, "log": log, "after_writeback": after_writeback,
           "settle": (code, settle), "conflicts": conflicts, "later": later}
    sb.stop()


def test_at_least_50_concurrent_edits_in_both_systems_of_every_kind(edited):
    kinds = Counter(e["kind"] for e in edited["edits"])
    assert sum(kinds.values()) >= 50
    assert set(kinds) == {"crm_same_field", "crm_other_field", "crm_deactivated", "crm_deleted",
                          "erp_same_field", "erp_other_field", "erp_on_hold"}
    figure(f"concurrent edits: {sum(kinds.values())} {dict(kinds)}")


def test_none_is_overwritten_and_each_is_logged_changed_since_extract(edited):
    overwritten, not_logged = [], []
    for e in edited["edits"]:
        crm, erp = edited["after_writeback"][e["key"]]
        status = edited["log"].get((e["set"], e["key"]))
        if status is None or status[0] != "changed_since_extract" or status[1] not in (404, 412):
            not_logged.append((e["kind"], e["key"], status))
        if e["kind"] == "crm_deleted":
            still = crm is None
        elif e["set"] == "accounts":
            still = all(crm[f] == v for f, v in e["body"].items())
        else:
            still = all(erp[f] == v for f, v in e["body"].items())
        if not still:
            overwritten.append((e["kind"], e["key"]))
    figure(f"concurrent edits overwritten: {len(overwritten)}; logged changed_since_extract: "
           f"{len(edited['edits']) - len(not_logged)} of {len(edited['edits'])}")
    assert overwritten == []
    assert not_logged == []


def test_the_next_run_settles_each_edit_per_the_merge_rules(edited):
    sb, accounts, conflicts = edited["sb"], edited["accounts"], edited["conflicts"]
    code, settle = edited["settle"]
    assert code in (0, 1), settle
    job = edited["job"]
    latest = {(s, k): status for s, k, status in job.sql(
        "select entity, record_key, arg_max(status, logged_at) from p2c_sync.writeback_log group by all")}
    wrong = []
    for e in edited["edits"]:
        company, crm_id, account = accounts[e["key"]]
        crm, erp = _crm(sb, crm_id), _erp(sb, company, account)
        # a deleted account is settled by deactivating its ERP customer: nothing more goes to the CRM
        if e["kind"] != "crm_deleted" and latest.get((e["set"], e["key"])) == "changed_since_extract":
            wrong.append((e["kind"], e["key"], "still changed_since_extract"))
        kind = e["kind"]
        if kind == "crm_same_field":  # credit limit is the ERP's: the owner wins, a conflict is listed
            ok = (float(crm["creditlimit"]) == e["erp_limit"] and float(erp["CreditLimit"]) == e["erp_limit"]
                  and (e["key"], "credit_limit", "erp_wins") in conflicts)
        elif kind == "crm_other_field":  # the CRM's phone travels; the ERP's credit limit arrives
            ok = erp["PrimaryContactPhone"] == e["body"]["telephone1"] and float(crm["creditlimit"]) == e["erp_limit"]
        elif kind == "crm_deactivated":  # stays inactive; the ERP customer is put on hold
            ok = crm["statecode"] == 1 and erp["OnHoldStatus"] == "All"
        elif kind == "crm_deleted":  # stays deleted, is not re-created; the ERP customer is put on hold
            with sb.client("crm") as c:
                again = c.get("accounts", params={"$filter": f"accountnumber eq '{account}'"}).json()["value"]
            ok = crm is None and again == [] and erp["OnHoldStatus"] == "All"
        elif kind == "erp_same_field":  # phone is the CRM's: the owner wins, a conflict is listed
            ok = (erp["PrimaryContactPhone"] == e["crm_phone"] and crm["telephone1"] == e["crm_phone"]
                  and (e["key"], "phone", "crm_wins") in conflicts)
        elif kind == "erp_other_field":  # the ERP's credit limit travels; the CRM's phone arrives
            ok = float(crm["creditlimit"]) == e["body"]["CreditLimit"] and erp["PrimaryContactPhone"] == e["crm_phone"]
        else:  # erp_on_hold: the hold (ERP-owned) travels to the CRM
            ok = erp["OnHoldStatus"] == "All" and crm["p2c_onholdstatus"] == "All"
        if not ok:
            wrong.append((kind, e["key"], {k: crm.get(k) for k in ("creditlimit", "telephone1", "statecode",
                                                                     "p2c_onholdstatus")} if crm else None,
                          {k: erp.get(k) for k in ("CreditLimit", "PrimaryContactPhone", "OnHoldStatus")}))
    assert wrong == []


def test_then_the_systems_converge_and_reconcile(edited):
    job, later = edited["job"], edited["later"]
    assert written(later[-1]) == 0
    assert unreconciled(job) == []
