"""Property-based tests (hypothesis) for the pure logic the promise rests on.

- The three-way merge: the real ``int_merge`` model's SQL (its one ``ref`` pointed at a table)
  runs on DuckDB over generated rows — every combination of base / CRM / ERP values (equal,
  different, null, no base), owner, policy, modification times and manual decisions — and its
  output is held to the design's rules (stated here as properties, not re-implemented).
- Key segments and ``$filter`` literals built by the writeback round-trip through the sandbox's
  own key and ``$filter`` parsers, down to the SQLite row they select.
- The ``$batch`` codec: what the writeback builds, the sandbox's parser reads back unchanged, and
  what the sandbox answers, the writeback's parser reads back unchanged.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from p2c_core import multipart
from systems.dataverse.lookups import filter_eq
from systems.dataverse.writer import UNSUPPORTED as DATAVERSE_UNSUPPORTED
from systems.dataverse.writer import UnsupportedKeyValue
from systems.dataverse.writer import key_segment as crm_key_segment
from systems.finops.writer import key_segment as erp_key_segment
from sandbox import batch as sandbox_batch
from sandbox.odata_query import key_parts, parse_filter
from sandbox.schema import CRM_ENTITIES
from sandbox.store import Store

ROOT = Path(__file__).resolve().parents[2]
# the model's SQL as a full build runs it: its config block gone, its one ref a table of the sample,
# and every record "changed" (an incremental build's filter, macros/incremental_records.sql)
MERGE_SQL = re.sub(r"\{\{\s*config\(.*?\n\)\s*\}\}", "",
                   (ROOT / "models/intermediate/merge/int_merge.sql").read_text(), flags=re.S)
MERGE_SQL = re.sub(r"\{\{\s*ref\('int_merge_input'\)\s*\}\}", "merge_input", MERGE_SQL)
MERGE_SQL = re.sub(r"\{\{\s*changed_records_only\('\w+'\)\s*\}\}", "true", MERGE_SQL)
assert "{{" not in MERGE_SQL  # the model has no other Jinja

# --- the merge --------------------------------------------------------------------------------

VALUES = st.sampled_from(["A", "B", "C", None])
STAMPS = st.sampled_from([None, "2026-01-01 10:00:00", "2026-01-02 10:00:00"])
COLUMNS = ("entity", "record_key", "field", "presence", "crm_value", "erp_value", "base_value", "has_base", "owner",
           "master", "policy", "crm_modified_at", "erp_modified_at", "decision_take", "decision_value")


@st.composite
def merge_rows(draw):
    has_base = draw(st.booleans())
    decision = draw(st.sampled_from([None, "crm", "erp", "value"]))
    return {
        "entity": "customer", "record_key": "usmf|K", "field": "name",
        "presence": draw(st.sampled_from(["both", "both", "both", "crm_only", "erp_only"])),
        "crm_value": draw(VALUES), "erp_value": draw(VALUES),
        "base_value": draw(VALUES) if has_base else None, "has_base": has_base,
        "owner": draw(st.sampled_from(["crm", "erp", "shared"])), "master": draw(st.sampled_from(["crm", "erp"])),
        "policy": draw(st.sampled_from(["owner_wins", "last_writer_wins", "manual"])),
        "crm_modified_at": draw(STAMPS), "erp_modified_at": draw(STAMPS),
        "decision_take": decision, "decision_value": "D" if decision == "value" else None,
    }


@pytest.fixture(scope="module")
def merge():
    con = duckdb.connect()
    con.execute("create table merge_input (entity varchar, record_key varchar, field varchar, presence varchar, "
                "crm_value varchar, erp_value varchar, base_value varchar, has_base boolean, owner varchar, "
                "master varchar, policy varchar, crm_modified_at timestamp, erp_modified_at timestamp, "
                "decision_take varchar, decision_value varchar)")

    def run(rows: list[dict]) -> list[dict]:
        con.execute("delete from merge_input")
        if not rows:
            return []
        one = f"({', '.join('?' * len(COLUMNS))})"  # one statement for the sample: executemany is slow
        con.execute(f"insert into merge_input values {', '.join([one] * len(rows))}",
                    [r[c] for r in rows for c in COLUMNS])
        cur = con.execute(MERGE_SQL)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    yield run
    con.close()


def owner_side(row):
    side = row["master"] if row["owner"] == "shared" else row["owner"]
    return side


def merged(merge, rows: list[dict]) -> list[tuple[dict, dict]]:
    """Each input row (its own record key) with its output row: one query for the whole sample."""
    rows = [{**r, "record_key": f"usmf|K{i}"} for i, r in enumerate(rows)]
    out = {o["record_key"]: o for o in merge(rows)}
    assert len(out) == len(rows)
    return [(r, out[r["record_key"]]) for r in rows]


SAMPLES = st.lists(merge_rows(), min_size=1, max_size=40)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=SAMPLES)
def test_the_merge_follows_the_design_for_every_combination(merge, rows):
    for row, out in merged(merge, rows):
        check_merge(row, out)


def check_merge(row: dict, out: dict) -> None:
    crm, erp, base = row["crm_value"], row["erp_value"], row["base_value"]
    both = row["presence"] == "both"
    # one record only in one system is never written by the field merge (it is a create)
    if not both:
        assert not out["write_crm"] and not out["write_erp"] and not out["is_conflict"]
        return
    crm_changed, erp_changed = row["has_base"] and crm != base, row["has_base"] and erp != base
    # nothing is invented: the outcome is one side's value or a person's decision
    assert out["merged_value"] in (crm, erp, row["decision_value"])
    # what is written makes both systems hold the merged value; a held conflict writes nothing
    if out["is_held"]:
        assert not out["write_crm"] and not out["write_erp"] and out["base_after_value"] == base
        assert row["policy"] == "manual" and row["decision_take"] is None and crm_changed and erp_changed
    else:
        assert out["write_crm"] == (out["merged_value"] != crm)
        assert out["write_erp"] == (out["merged_value"] != erp)
        assert out["base_after_value"] == out["merged_value"]
    if crm == erp and (not row["has_base"] or crm_changed):
        assert not out["write_crm"] and not out["write_erp"] and not out["is_conflict"]  # agreed
    elif not row["has_base"]:
        assert out["merged_value"] == (crm if owner_side(row) == "crm" else erp)  # first sync: the owner's
    elif not crm_changed and not erp_changed:
        assert not out["write_crm"] and not out["write_erp"] and not out["is_conflict"]  # nobody touched it
    elif crm_changed != erp_changed:
        editor = "crm" if crm_changed else "erp"
        edited = crm if crm_changed else erp
        may_edit = row["owner"] in (editor, "shared")
        # an owner's (or shared) edit travels; a non-owner's edit is undone and flagged
        assert out["merged_value"] == (edited if may_edit else (erp if editor == "crm" else crm))
        assert out["is_conflict"] == (not may_edit)
    else:  # both changed, differently: the policy decides, and it is always a conflict
        assert out["is_conflict"]
        if row["policy"] == "manual" and row["decision_take"] in ("crm", "erp"):
            assert out["merged_value"] == (crm if row["decision_take"] == "crm" else erp)
        elif row["policy"] == "manual" and row["decision_take"] == "value":
            assert out["merged_value"] == "D"
        elif (row["policy"] == "last_writer_wins" and row["owner"] == "shared"
              and row["crm_modified_at"] and row["erp_modified_at"]):
            later_erp = row["erp_modified_at"] > row["crm_modified_at"]
            assert out["merged_value"] == (erp if later_erp else crm)
        elif row["policy"] != "manual":
            assert out["merged_value"] == (crm if owner_side(row) == "crm" else erp)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=SAMPLES)
def test_after_the_writes_the_next_merge_has_nothing_to_do(merge, rows):
    # the next run sees both systems at the merged value and the base moved to it: converged
    settled = [{**row, "crm_value": out["merged_value"], "erp_value": out["merged_value"],
                "base_value": out["base_after_value"], "has_base": True, "decision_take": None, "decision_value": None}
               for row, out in merged(merge, rows) if row["presence"] == "both" and not out["is_held"]]
    for _, again in merged(merge, settled) if settled else []:
        assert not again["write_crm"] and not again["write_erp"] and not again["is_conflict"]


# --- key segments and $filter literals ---------------------------------------------------------

KEY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@given(value=KEY_TEXT, company=st.sampled_from(["usmf", "demf", "O'x"]))
def test_an_erp_key_segment_reads_back_as_the_same_key(value, company):
    segment = erp_key_segment("CustomersV3", {"CustomerAccount": value, "dataAreaId": company})
    assert segment.startswith("CustomersV3(") and segment.endswith(")")
    inner = unquote(segment[len("CustomersV3("):-1])  # the server decodes the path first
    assert [(n, v) for n, v, _ in key_parts(inner)] == [("dataAreaId", company), ("CustomerAccount", value)]


@given(value=KEY_TEXT)
def test_a_crm_alternate_key_reads_back_or_is_refused_naming_the_characters(value):
    try:
        segment = crm_key_segment("accounts", {"accountnumber": value})
    except UnsupportedKeyValue as exc:
        assert set(value) & DATAVERSE_UNSUPPORTED and "accountnumber" in str(exc)
        return
    assert not set(value) & DATAVERSE_UNSUPPORTED
    inner = unquote(segment[len("accounts("):-1])
    assert [(n, v) for n, v, _ in key_parts(inner)] == [("accountnumber", value)]


@pytest.fixture(scope="module")
def crm_store(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("props") / "crm.sqlite", CRM_ENTITIES)
    yield store
    store.close()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1,
                     max_size=30), other=st.text(min_size=1, max_size=5))
def test_a_filter_literal_selects_exactly_the_row_with_that_value(crm_store, value, other):
    entity = crm_store.entity("accounts")
    with crm_store.transaction():
        crm_store._conn().execute('DELETE FROM "accounts"')
    crm_store.insert("accounts", {"accountnumber": value, "name": "wanted"})
    if other != value:
        crm_store.insert("accounts", {"accountnumber": value + other, "name": "other"})
    where, params = parse_filter(filter_eq("accountnumber", value), entity)
    assert value in params
    rows = crm_store.query("accounts", where, params).rows
    assert [r["name"] for r in rows] == ["wanted"]


# --- the $batch codec --------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.text(st.characters(blacklist_categories=("Cs",))),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
REQUESTS = st.builds(
    multipart.PartRequest,
    method=st.sampled_from(["POST", "PATCH", "DELETE"]),
    url=st.builds(lambda k: f"/data/CustomersV3({k})", st.text("abcXYZ09-_%'", min_size=1, max_size=12)),
    headers=st.just({"Content-Type": "application/json", "If-Match": 'W/"12"'}),
    body=st.one_of(st.none(), st.dictionaries(st.text(min_size=1, max_size=10), JSON_VALUES, max_size=4)),
)


@given(requests=st.lists(REQUESTS, min_size=1, max_size=8), changeset_size=st.integers(0, 3))
def test_a_batch_the_writeback_builds_is_read_back_by_the_service_unchanged(requests, changeset_size):
    ctype, body, groups = multipart.build_batch(requests, changeset_size)
    parts = sandbox_batch.parse(body, ctype)
    flat = [r for p in parts for r in (p.requests if isinstance(p, sandbox_batch.ChangeSet) else [p])]
    assert len(parts) == len(groups) and len(flat) == len(requests)
    for sent, got in zip(requests, flat):
        assert (got.method, got.url) == (sent.method, sent.url)
        assert got.headers["if-match"] == sent.headers["If-Match"]
        assert (json.loads(got.body) if got.body.strip() else None) == sent.body
        assert got.in_changeset == (changeset_size > 0)


RESPONSES = st.builds(
    sandbox_batch.SubResponse,
    status=st.sampled_from([200, 201, 204, 400, 404, 412, 429, 500]),
    headers=st.dictionaries(st.sampled_from(["etag", "odata-entityid", "location"]),
                            st.text("abcdef0123456789-/:()'\"W", min_size=1, max_size=20), max_size=3),
    body=st.one_of(st.just(b""), st.builds(lambda v: json.dumps(v, ensure_ascii=False).encode(), JSON_VALUES)),
)


@given(parts=st.lists(st.one_of(RESPONSES, st.lists(RESPONSES, min_size=1, max_size=3)), min_size=1, max_size=6))
def test_an_answer_the_service_builds_is_read_back_by_the_writeback_unchanged(parts):
    body, ctype = sandbox_batch.build(parts)
    groups, n = [], 0
    for p in parts:
        size = len(p) if isinstance(p, list) else 1
        groups.append(list(range(n, n + size)))
        n += size
    got = multipart.parse_response(ctype, body, groups, n)
    sent = [r for p in parts for r in (p if isinstance(p, list) else [p])]
    assert len(got) == len(sent)
    for s, g in zip(sent, got):
        assert g is not None and g.status == s.status
        for k, v in s.headers.items():
            assert g.header(k) == v.strip()
        assert g.text == s.body.decode().strip()


@settings(max_examples=60, deadline=None)
@given(values=st.lists(KEY_TEXT, max_size=30))
def test_a_list_of_texts_reaches_duckdb_as_one_parameter_unchanged(values):
    # the writeback's key lists (record keys of a batch): any text, quotes and control characters too
    from p2c_core.warehouse import DuckDBConnection

    conn = DuckDBConnection(duckdb.connect())
    expression, value = conn.texts(values)
    assert [row[0] for row in conn.execute(f"select unnest({expression})", [value]).fetchall()] == values
    conn.execute("create table t (k varchar)")
    conn.insert("t", ["k"], [(v,) for v in values] + [("not asked",)])
    found = conn.execute(f"select k from t where k in (select unnest({expression}))", [value]).fetchall()
    assert sorted(k for (k,) in found) == sorted(v for v in values if v != "not asked")
