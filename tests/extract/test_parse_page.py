"""Pages read straight into Arrow (pyarrow.json) give the same table as the row path, or none at all."""

from __future__ import annotations

import orjson
import pytest

from pipelines.batches import page_table, parse_page
from pipelines.settings import CRM_ENTITIES, ERP_ENTITIES

ACCOUNTS = next(e for e in CRM_ENTITIES if e.entity_set == "accounts")
CONTACTS = next(e for e in ERP_ENTITIES if e.entity_set == "ContactPersons")


def _rows(entity, n: int) -> list[dict]:
    """Rows with every declared column filled by a value of its type, every other row all null."""
    sample = {"string": "x", "int": 7, "decimal": 12.5, "bool": True, "datetime": "2024-05-01T10:00:00Z", "date": "2024-05-01"}
    rows = []
    for i in range(n):
        row = {"@odata.etag": f'W/"{i}"'}
        for name, code in entity.columns.items():
            row[name] = f"id-{i}" if name in entity.primary_key else (sample[code] if i % 2 else None)
        rows.append(row)
    return rows


def _page(rows: list[dict], **links) -> bytes:
    return orjson.dumps({"@odata.context": "ctx", "value": rows, **links})


def _without_ids(table):
    return table.drop_columns(["_dlt_id"])


@pytest.mark.parametrize("entity, crm", [(ACCOUNTS, True), (CONTACTS, False)])
def test_fast_table_equals_the_row_path(entity, crm):
    rows = _rows(entity, 5)
    body = parse_page(entity, _page(rows, **{"@odata.nextLink": "next?p=2"}), crm=crm)
    assert body is not None and body["@odata.nextLink"] == "next?p=2"
    expected = page_table(entity, rows, crm=crm)
    assert _without_ids(body["value"]).equals(_without_ids(expected))
    assert body["value"].schema == expected.schema


def test_all_null_page_keeps_declared_types():
    rows = [{k: (v if k in ACCOUNTS.primary_key else None) for k, v in r.items()} for r in _rows(ACCOUNTS, 3)]
    table = parse_page(ACCOUNTS, _page(rows), crm=True)["value"]
    assert table.schema == page_table(ACCOUNTS, rows, crm=True).schema
    assert table.column("creditlimit").null_count == 3


def test_a_row_without_a_declared_column_goes_to_the_row_path():
    # pyarrow reads an absent field as null; absent is not null (the stored value must stay)
    rows = _rows(ACCOUNTS, 3)
    del rows[1]["telephone1"]
    assert parse_page(ACCOUNTS, _page(rows), crm=True) is None


@pytest.mark.parametrize(
    "change",
    [
        {"creditlimit": "12.5"},  # a number sent as text: the row path converts it visibly
        {"name": 12},  # a number where text is declared
        {"undeclared_column": 1},  # an extra column must not be dropped
    ],
)
def test_pages_it_cannot_read_exactly_go_to_the_row_path(change):
    rows = _rows(ACCOUNTS, 3)
    rows[1].update(change)
    assert parse_page(ACCOUNTS, _page(rows), crm=True) is None
    table = page_table(ACCOUNTS, rows, crm=True)
    assert table.num_rows == 3


def test_change_tracking_deletions_go_to_the_row_path():
    rows = _rows(ACCOUNTS, 2) + [{"@odata.context": "$metadata#accounts/$deletedEntity", "id": "id-9", "reason": "deleted"}]
    assert parse_page(ACCOUNTS, _page(rows), crm=True) is None


def test_a_page_without_a_value_array_is_not_taken():
    assert parse_page(ACCOUNTS, orjson.dumps({"error": {"message": "no"}}), crm=True) is None
    assert parse_page(ACCOUNTS, b"not json", crm=True) is None
