"""Key escaping and the $batch wire format, checked against the sandbox's own parser."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from p2c_core.multipart import PartRequest, build_batch, parse_response
from p2c_core.keys import string_literal
from systems.dataverse.writer import UnsupportedKeyValue
from systems.dataverse.writer import key_segment as crm_key_segment
from systems.finops.writer import key_segment as erp_key_segment
from sandbox import batch as sandbox_batch


def test_quotes_are_doubled_and_the_value_percent_encoded():
    assert string_literal("O'Brien") == "'O''Brien'"
    assert string_literal("a b#c") == "'a%20b%23c'"
    assert unquote(string_literal("Zürich ünd")) == "'Zürich ünd'"


def test_crm_alternate_and_primary_keys():
    guid = "3F2504E0-4F89-11D3-9A0C-0305E82C3301"
    assert crm_key_segment("accounts", {"accountid": guid}) == f"accounts({guid.lower()})"
    assert crm_key_segment("accounts", {"accountnumber": "A'1"}) == "accounts(accountnumber='A''1')"
    seg = crm_key_segment("quotedetails", {"_quoteid_value": guid, "sequencenumber": 2})
    assert seg == f"quotedetails(_quoteid_value={guid.lower()},sequencenumber=2)"


@pytest.mark.parametrize("bad", ["A/1", "A&B", "50%", "a+b", "x:y", "what?"])
def test_documented_unsupported_characters_are_refused_with_a_clear_error(bad):
    with pytest.raises(UnsupportedKeyValue, match="does not support"):
        crm_key_segment("accounts", {"accountnumber": bad})


def test_erp_composite_key_puts_the_company_first():
    seg = erp_key_segment("CDSSalesOrderLines", {"SalesOrderNumber": "SO'1", "LineCreationSequenceNumber": 3, "dataAreaId": "usmf"})
    assert seg == "CDSSalesOrderLines(dataAreaId='usmf',SalesOrderNumber='SO''1',LineCreationSequenceNumber=3)"
    # the ERP allows characters Dataverse refuses; they travel encoded
    assert erp_key_segment("CustomersV3", {"dataAreaId": "usmf", "CustomerAccount": "A/1 &"}).endswith("'A%2F1%20%26')")


def _requests(n):
    return [PartRequest("PATCH", f"/api/data/v9.2/accounts(accountnumber='A{i}')", {"Content-Type": "application/json", "If-Match": 'W/"1"'}, {"name": f"n{i}"}) for i in range(n)]


@pytest.mark.parametrize("changeset_size", [0, 1, 3])
def test_the_sandbox_reads_our_batches(changeset_size):
    ctype, body, groups = build_batch(_requests(7), changeset_size)
    parts = sandbox_batch.parse(body, ctype)
    flat = [r for p in parts for r in (p.requests if isinstance(p, sandbox_batch.ChangeSet) else [p])]
    assert [r.url for r in flat] == [f"/api/data/v9.2/accounts(accountnumber='A{i}')" for i in range(7)]
    assert flat[2].headers["if-match"] == 'W/"1"' and b'"name":"n2"' in flat[2].body
    assert sum(len(g) for g in groups) == 7


def test_response_alignment_with_a_failed_change_set_and_a_stop():
    ok = sandbox_batch.SubResponse(204, {"odata-entityid": "x(1)"})
    bad = sandbox_batch.SubResponse(400, {"content-type": "application/json"}, b'{"error":{"code":"0x1","message":"no"}}')
    # change sets of 2: first fine, second failed as a whole, third never ran
    body, ctype = sandbox_batch.build([[ok, ok], bad])
    _, _, groups = build_batch(_requests(6), 2)
    out = parse_response(ctype, body, groups, 6)
    assert [o.status if o else None for o in out] == [204, 204, 400, 400, None, None]
    assert out[2] is out[3]  # one answer stands for the whole failed change set
    assert out[2].json()["error"]["message"] == "no"
