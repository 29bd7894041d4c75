"""The writeback end to end over in-memory services: order, waiting, 412, modes, bookkeeping."""

from __future__ import annotations

import json

import pytest

from reverse_etl import store
from reverse_etl.apply import Writeback
from reverse_etl.config import WritebackConfig

from .fake_service import FakeService
from .helpers import row, warehouse


def _run(conn, crm=None, erp=None, **cfg):
    clients = {}
    if crm:
        clients["crm"] = crm.client()
    if erp:
        clients["erp"] = erp.client("http://erp.test")
    return Writeback(conn, clients, WritebackConfig(**cfg), sleep=lambda s: None).run()


def _log(conn):
    return {(r[0], r[1]): r[2:] for r in conn.execute(
        "select entity, record_key, status, http_status, error_message from p2c_sync.writeback_log").fetchall()}


def test_parents_are_written_before_children_and_children_resolve_their_guids(tmp_path):
    crm = FakeService()
    order = row("order", "usmf|SO-1", target_set="salesorders", target_key={"ordernumber": "SO-1"}, sequence=7)
    line = row("order_line", "usmf|SO-1|1", target_set="salesorderdetails", sequence=8,
               target_key={"_salesorderid_value": {"ref": "salesorders", "key": {"ordernumber": "SO-1"}}, "sequencenumber": 1},
               depends_on=[("order", "usmf|SO-1")], payload={"quantity": 2}, base_after={"quantity": 2})
    conn = warehouse(tmp_path / "w.duckdb", [line, order])
    result = _run(conn, crm)
    assert result.clean and result.totals["written"] == 2
    created = crm.find("salesorders", {"ordernumber": "SO-1"})
    assert crm.find("salesorderdetails", {"_salesorderid_value": created["__id"], "sequencenumber": 1})["quantity"] == 2
    assert crm.gets == 0  # the parent's GUID came back with its write
    assert conn.execute("select crm_id from p2c_sync.couplings where record_key='usmf|SO-1'").fetchone()[0] == created["__id"]
    assert conn.execute("select value from p2c_sync.sync_state where record_key='usmf|SO-1|1' and field='quantity'").fetchone()[0] == "2"


def test_a_child_of_a_failed_parent_waits_naming_the_parent(tmp_path):
    crm = FakeService()
    order = row("order", "usmf|SO-1", target_set="salesorders", target_key={"ordernumber": "SO-1"}, payload={"bad": True}, sequence=7)
    line = row("order_line", "usmf|SO-1|1", target_set="salesorderdetails", sequence=8,
               target_key={"_salesorderid_value": {"ref": "salesorders", "key": {"ordernumber": "SO-1"}}, "sequencenumber": 1},
               depends_on=[("order", "usmf|SO-1")])
    grandchild = row("invoice", "usmf|INV-1", target_set="invoices", target_key={"invoicenumber": "INV-1"},
                     depends_on=[("order_line", "usmf|SO-1|1")], sequence=10)
    conn = warehouse(tmp_path / "w.duckdb", [order, line, grandchild])
    result = _run(conn, crm)
    log = _log(conn)
    assert log[("salesorders", "usmf|SO-1")][:2] == ("failed", 400)
    assert log[("salesorderdetails", "usmf|SO-1|1")][0] == "waiting"
    assert "order usmf|SO-1" in log[("salesorderdetails", "usmf|SO-1|1")][2]
    assert log[("invoices", "usmf|INV-1")][0] == "waiting"
    assert not crm.rows("salesorderdetails") and not crm.rows("invoices")
    assert not result.clean
    # the failed record's base did not move
    assert conn.execute("select count(*) from p2c_sync.sync_state").fetchone()[0] == 0
    errors = store.read_errors(conn, entity="salesorders")
    assert [e["record_key"] for e in errors] == ["usmf|SO-1"] and "validation" in errors[0]["error_message"]


def test_a_quarantined_parent_makes_the_child_wait(tmp_path):
    crm = FakeService()
    line = row("order_line", "usmf|SO-9|1", target_set="salesorderdetails", sequence=8,
               target_key={"_salesorderid_value": {"ref": "salesorders", "key": {"ordernumber": "SO-9"}}, "sequencenumber": 1},
               depends_on=[("order", "usmf|SO-9")])
    conn = warehouse(tmp_path / "w.duckdb", [line])
    conn.execute("create schema audit; create table audit.quarantine as select 'order' entity, 'SO-9' natural_key, 'usmf' company, 'unmapped_currency' reason")
    _run(conn, crm)
    status, _, message = _log(conn)[("salesorderdetails", "usmf|SO-9|1")]
    assert status == "waiting" and "quarantined (unmapped_currency)" in message


def test_an_edit_in_the_target_after_extraction_is_not_overwritten(tmp_path):
    crm = FakeService()
    a = crm.add("accounts", {"accountnumber": "A-1", "name": "old"})
    etag_at_extract = crm.etag(a)
    crm.edit("accounts", {"accountnumber": "A-1"}, name="edited by a seller")
    upd = row(key="usmf|A-1", op="update", payload={"name": "from p2c"}, etag=etag_at_extract, crm_id=a["__id"],
              target_key={"accountid": a["__id"]}, base_after={"name": "from p2c"})
    conn = warehouse(tmp_path / "w.duckdb", [upd])
    result = _run(conn, crm)
    assert crm.find("accounts", {"accountnumber": "A-1"})["name"] == "edited by a seller"
    assert _log(conn)[("accounts", "usmf|A-1")][:2] == ("changed_since_extract", 412)
    assert result.totals["changed_since_extract"] == 1
    assert conn.execute("select count(*) from p2c_sync.sync_state").fetchone()[0] == 0


def test_modes_update_only_and_create_only(tmp_path):
    crm = FakeService()
    crm.add("accounts", {"accountnumber": "A-2", "name": "exists"})
    rows = [row(key="usmf|A-1", op="create"), row(key="usmf|P-1", entity="product", target_set="products",
                                                   target_key={"productnumber": "P-1"}, op="create"),
            row(key="usmf|A-2", op="create", payload={"name": "dup"})]
    conn = warehouse(tmp_path / "w.duckdb", rows)
    _run(conn, crm, modes={"accounts": "create_only", "products": "update_only"})
    log = _log(conn)
    assert log[("products", "usmf|P-1")][0] == "skipped" and not crm.rows("products")
    assert log[("accounts", "usmf|A-1")][0] == "written"
    assert log[("accounts", "usmf|A-2")][:2] == ("skipped", 412)
    assert crm.find("accounts", {"accountnumber": "A-2"})["name"] == "exists"


def test_erp_create_retried_after_a_lost_response_does_not_duplicate(tmp_path):
    erp = FakeService(root="/data/", erp=True)
    real = erp.handler
    calls = {"n": 0}

    def lose_first_response(request):
        response = real(request)
        calls["n"] += 1
        if calls["n"] == 1 and request.url.path.endswith("$batch"):
            return __import__("httpx").Response(504)  # the write went through, the answer was lost
        return response

    erp.handler = lose_first_response
    key = {"dataAreaId": "usmf", "CustomerAccount": "A-1"}
    create = row(system="erp", target_set="CustomersV3", target_key=key, payload={"OrganizationName": "Contoso"},
                 erp_key='{"CustomerAccount": "A-1", "dataAreaId": "usmf"}')
    conn = warehouse(tmp_path / "w.duckdb", [create])
    result = _run(conn, erp=erp)
    assert result.clean and len(erp.rows("CustomersV3")) == 1
    assert _log(conn)[("CustomersV3", "usmf|A-1")][0] == "written"


def test_an_erp_record_created_by_someone_else_since_extraction_is_left_alone(tmp_path):
    erp = FakeService(root="/data/", erp=True)
    erp.add("CustomersV3", {"dataAreaId": "usmf", "CustomerAccount": "A-1", "OrganizationName": "theirs"})
    create = row(system="erp", target_set="CustomersV3", target_key={"dataAreaId": "usmf", "CustomerAccount": "A-1"},
                 payload={"OrganizationName": "ours"})
    conn = warehouse(tmp_path / "w.duckdb", [create])
    _run(conn, erp=erp)
    assert erp.rows("CustomersV3")[0]["OrganizationName"] == "theirs"
    assert _log(conn)[("CustomersV3", "usmf|A-1")][0] == "changed_since_extract"


def test_base_updates_move_the_base_without_http(tmp_path):
    conn = warehouse(tmp_path / "w.duckdb", [], base_updates=[
        {"entity": "customer", "record_key": "usmf|A-1", "crm_id": "g1", "erp_key": '{"x":1}', "company": "usmf",
         "base_after": {"name": "Same", "creditlimit": 1000.50}}])
    result = _run(conn, FakeService())
    assert result.base_updates == 1 and result.http_requests == 0
    assert dict(conn.execute("select field, value from p2c_sync.sync_state").fetchall()) == {"name": "Same", "creditlimit": "1000.5"}


def test_a_pair_the_build_matched_is_recorded_as_coupled_by_its_match_rule(tmp_path):
    conn = warehouse(tmp_path / "w.duckdb", [], base_updates=[
        {"entity": "customer", "record_key": k, "crm_id": g, "erp_key": e, "company": "usmf", "base_after": {"name": "Same"}}
        for k, g, e in (("usmf|A-1", "g1", '{"x":1}'), ("usmf|A-2", "g2", '{"x":2}'))])
    conn.execute("create schema audit")
    conn.execute("""create table audit.matches as select * from (values
        ('customer', 'crm', 'g2', 'usmf|A-2', 'usmf|A-2', 'matched', 2, 'name+postal_code', 'match:name+postal_code'),
        ('customer', 'erp', '{"x":2}', 'usmf|C-9', 'usmf|A-2', 'matched', 2, 'name+postal_code', 'match:name+postal_code'),
        ('customer', 'crm', 'g3', 'usmf|A-3', 'usmf|A-3', 'ambiguous', 2, 'name+postal_code', 'match:name+postal_code'))
        as t(entity, system, source_id, natural_record_key, record_key, outcome, priority, fields, coupled_by)""")
    _run(conn, FakeService())
    assert dict(conn.execute("select record_key, coupled_by from p2c_sync.couplings").fetchall()) == {
        "usmf|A-1": "natural_key", "usmf|A-2": "match:name+postal_code"}


def test_a_coupling_records_the_system_that_played_the_erp_role(tmp_path, monkeypatch):
    """A pair belongs to its ERP: a deployment that later changes p2c.erp does not pair records
    through the other ERP's keys (the merge reads only the couplings of the system now playing it)."""
    monkeypatch.setenv("P2C__ERP", "business_central")
    conn = warehouse(tmp_path / "w.duckdb", [], base_updates=[
        {"entity": "customer", "record_key": "usmf|A-1", "crm_id": "g1", "erp_key": '{"x":1}', "company": "usmf",
         "base_after": {"name": "Same"}}])
    _run(conn, FakeService())
    assert conn.execute("select record_key, erp_system from p2c_sync.couplings").fetchall() == [("usmf|A-1", "business_central")]


def test_log_and_base_are_one_transaction(tmp_path, monkeypatch):
    crm = FakeService()
    conn = warehouse(tmp_path / "w.duckdb", [row(key="usmf|A-1"), row(key="usmf|A-2")])
    real = conn.execute

    class Crash(Exception):
        pass

    def crash_on_couplings(sql, *params):
        if "insert into p2c_sync.couplings" in sql:
            raise Crash("killed between the log and the couplings")
        return real(sql, *params)

    class Proxy:
        def __getattr__(self, name):
            return crash_on_couplings if name == "execute" else getattr(conn, name)

    with pytest.raises(Crash):
        Writeback(Proxy(), {"crm": crm.client()}, WritebackConfig(), sleep=lambda s: None).run()
    # the accounts were written, but neither log nor base rows survived the failed commit
    assert len(crm.rows("accounts")) == 2
    assert conn.execute("select count(*) from p2c_sync.writeback_log").fetchone()[0] == 0
    assert conn.execute("select count(*) from p2c_sync.sync_state").fetchone()[0] == 0
    # the next run converges: upserts by key, no duplicate
    _run(conn, crm)
    assert len(crm.rows("accounts")) == 2
    assert conn.execute("select count(*) from p2c_sync.sync_state").fetchone()[0] == 2


def test_a_writeback_on_its_own_books_its_run(tmp_path):
    """``p2c writeback`` without ``p2c run`` books itself through the core's writer of
    ``p2c_sync.runs``: the stage's total row, and one row per entity set with its own status."""
    crm = FakeService()
    good = row(key="usmf|A-1")
    bad = row("order", "usmf|SO-1", target_set="salesorders", target_key={"ordernumber": "SO-1"},
              payload={"bad": True}, sequence=7)
    conn = warehouse(tmp_path / "w.duckdb", [good, bad])
    result = _run(conn, crm)
    rows = conn.execute("select stage, entity, status, finished_at is not null, counts from p2c_sync.runs"
                        " where run_id = ? order by entity", [result.run_id]).fetchall()
    assert [r[:4] for r in rows] == [("writeback", "", "partial", True), ("writeback", "crm:accounts", "ok", True),
                                     ("writeback", "crm:salesorders", "partial", True)]
    assert json.loads(rows[0][4]) == {"written": 1, "failed": 1}


def test_p2c_run_shows_each_sets_progress_in_dependency_order_and_why_a_child_waits(tmp_path):
    """`p2c run`'s writeback progress (p2c.commands.run.SetProgress): one line per target set as it
    completes, parents first, the waiting child naming the parent that failed."""
    import io

    from rich.console import Console

    from p2c.commands.run import SetProgress

    crm = FakeService()
    currency = row("currency", "DKK", target_set="transactioncurrencies", sequence=0,
                   target_key={"transactioncurrencyid": "6b2ecf2b-84c7-20d5-dfb5-f649bda73839"},
                   payload={"isocurrencycode": "DKK", "currencyname": "Danish Krone"})
    order = row("order", "usmf|SO-1", target_set="salesorders", target_key={"ordernumber": "SO-1"}, payload={"bad": True}, sequence=7)
    line = row("order_line", "usmf|SO-1|1", target_set="salesorderdetails", sequence=8,
               target_key={"_salesorderid_value": {"ref": "salesorders", "key": {"ordernumber": "SO-1"}}, "sequencenumber": 1},
               depends_on=[("order", "usmf|SO-1")])
    conn = warehouse(tmp_path / "w.duckdb", [line, order, currency])
    out = io.StringIO()
    Writeback(conn, {"crm": crm.client()}, WritebackConfig(), sleep=lambda s: None,
              progress=SetProgress(Console(file=out, width=300))).run()
    lines = [ln.strip() for ln in out.getvalue().splitlines()]
    assert [ln.split(":")[0] for ln in lines] == [
        "writeback crm transactioncurrencies", "writeback crm salesorders", "writeback crm salesorderdetails"]
    assert "written 1" in lines[0] and "failed 1" in lines[1]
    assert "waiting 1" in lines[2] and "waits: " in lines[2] and "order usmf|SO-1" in lines[2]


def test_a_write_the_target_refuses_is_skipped_and_a_deep_insert_records_what_it_carried(tmp_path):
    from dataclasses import replace

    crm = FakeService()
    crm.add("accounts", {"accountnumber": "A-2", "name": "posted"})
    refused = replace(row(key="usmf|A-2", op="update", payload={"name": "edited"}, etag='W/"1"'),
                      skip_reason="the target has posted it")
    carrier = replace(row(key="usmf|A-1", op="create"), carries=(
        {"entity": "contact", "record_key": "usmf|A-1|C-1", "target_set": "contacts", "crm_id": None,
         "base_after": {"last_name": "Lind"}},))
    conn = warehouse(tmp_path / "w.duckdb", [])
    result = Writeback(conn, {"crm": crm.client()}, WritebackConfig(), sleep=lambda s: None).run(rows=[refused, carrier])
    log = {(r[0], r[1]): r[2:] for r in conn.execute(
        "select entity, record_key, status, error_code, error_message from p2c_sync.writeback_log").fetchall()}
    # never sent, logged with its reason, and the run is not partial for it
    assert log[("accounts", "usmf|A-2")] == ("skipped", "p2c_target", "the target has posted it")
    assert crm.find("accounts", {"accountnumber": "A-2"})["name"] == "posted" and result.clean
    # the carried record shares its carrier's outcome; its base and coupling are recorded
    assert log[("contacts", "usmf|A-1|C-1")][0] == "written" and result.by_entity["contact"]["created"] == 1
    assert conn.execute("select value from p2c_sync.sync_state where entity = 'contact' and record_key = 'usmf|A-1|C-1'"
                        ).fetchall() == [("Lind",)]
    assert conn.execute("select coupled_by from p2c_sync.couplings where record_key = 'usmf|A-1|C-1'").fetchall() == [
        ("created_by_p2c",)]


def test_a_refused_update_moves_the_base_to_what_the_target_holds(tmp_path):
    """An update the target refuses by its rules (a posted order) is never sent, and its record's base
    becomes the target's values for the refused fields (the others as the row settles them): the
    next merge sees the source's edit as its own change, skipped again with the reason, instead of a
    conflict with the target every night. A refused create leaves no base (nothing exists)."""
    from dataclasses import replace

    refused = replace(row("order", "usmf|SO-1", op="update", payload={"name": "edited"}, etag='W/"1"',
                          base_after={"name": "edited", "currency": "USD"}),
                      changes={"name": {"old": "PO-15020", "new": "edited"}}, skip_reason="the target has posted it")
    new = replace(row("order", "usmf|SO-2", op="create"), skip_reason="customer A-7 is blocked")
    conn = warehouse(tmp_path / "w.duckdb", [])
    result = Writeback(conn, {"crm": FakeService().client()}, WritebackConfig(), sleep=lambda s: None).run(rows=[refused, new])
    assert result.clean and result.totals["skipped"] == 2
    state = {(r[0], r[1]): r[2] for r in conn.execute("select record_key, field, value from p2c_sync.sync_state").fetchall()}
    assert state == {("usmf|SO-1", "name"): "PO-15020", ("usmf|SO-1", "currency"): "USD"}
