"""Pages read straight into Arrow (pyarrow.json) give the same table as the row path, or none at all."""

from __future__ import annotations

import orjson
import pytest

from p2c_core.pages import page_table, parse_page
from systems.dataverse.entities import ENTITIES as CRM_ENTITIES
from systems.finops.entities import ENTITIES as ERP_ENTITIES

ACCOUNTS = next(e for e in CRM_ENTITIES if e.entity_set == "accounts")
CONTACTS = next(e for e in ERP_ENTITIES if e.entity_set == "ContactPersons")


def _rows(entity, n: int) -> list[dict]:
    """Rows with every declared column filled by a value of its type, every other row all null."""
    sample = {"string": "x", "int": 1, "decimal": 12.5, "bool": True, "datetime": "2024-05-01T10:00:00Z", "date": "2024-05-01"}
    rows = []
    for i in range(n):
        row = {"@odata.etag": f'W/"{i}"'}
        for name, code in entity.columns.items():
            row[name] = f"id-{i}" if name in entity.key else (sample[code] if i % 2 else None)
        rows.append(row)
    return rows


def _page(rows: list[dict], **links) -> bytes:
    return orjson.dumps({"@odata.context": "ctx", "value": rows, **links})


def _without_ids(table):
    return table.drop_columns(["_dlt_id"])


@pytest.mark.parametrize("entity", [ACCOUNTS, CONTACTS])
def test_fast_table_equals_the_row_path(entity):
    rows = _rows(entity, 5)
    body = parse_page(entity, _page(rows, **{"@odata.nextLink": "next?p=2"}))
    assert body is not None and body["@odata.nextLink"] == "next?p=2"
    expected = page_table(entity, rows)
    assert _without_ids(body["value"]).equals(_without_ids(expected))
    assert body["value"].schema == expected.schema


def test_all_null_page_keeps_declared_types():
    rows = [{k: (v if k in ACCOUNTS.primary_key else None) for k, v in r.items()} for r in _rows(ACCOUNTS, 3)]
    table = parse_page(ACCOUNTS, _page(rows))["value"]
    assert table.schema == page_table(ACCOUNTS, rows).schema
    assert table.column("creditlimit").null_count == 3


def test_a_row_without_a_declared_column_goes_to_the_row_path():
    # pyarrow reads an absent field as null; absent is not null (the stored value must stay)
    rows = _rows(ACCOUNTS, 3)
    del rows[1]["telephone1"]
    assert parse_page(ACCOUNTS, _page(rows)) is None


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
    assert parse_page(ACCOUNTS, _page(rows)) is None
    table = page_table(ACCOUNTS, rows)
    assert table.num_rows == 3


def test_change_tracking_deletions_go_to_the_row_path():
    rows = _rows(ACCOUNTS, 2) + [{"@odata.context": "$metadata#accounts/$deletedEntity", "id": "id-9", "reason": "deleted"}]
    assert parse_page(ACCOUNTS, _page(rows)) is None


def test_a_page_without_a_value_array_is_not_taken():
    assert parse_page(ACCOUNTS, orjson.dumps({"error": {"message": "no"}})) is None
    assert parse_page(ACCOUNTS, b"not json") is None


BAD = [  # (column, value, words the problem must contain)
    ("accountid", None, "accountid: missing key"),
    ("creditlimit", "twelve", "creditlimit: expected a number"),
    ("name", {"a": 1}, "name: expected text"),
    ("name", "x" * 10_000, "name: 10000 characters"),
    ("name", "Ac\x00me", "name: control character U+0000"),
    ("name", "Ac\ud800me", "name: unpaired surrogate U+D800"),
    ("statecode", 7, "statecode: unknown value '7'"),
    ("modifiedon", "0001-01-01T00:00:00Z", "modifiedon: datetime '0001-01-01T00:00:00Z' out of range"),
    ("modifiedon", "2024-13-45T00:00:00Z", "modifiedon: not a datetime"),
]


@pytest.mark.parametrize("column, value, problem", BAD)
def test_a_value_p2c_cannot_take_loads_null_and_names_the_column(column, value, problem):
    rows = _rows(ACCOUNTS, 3)
    rows[1][column] = value
    if value is None or "\ud800" in str(value):
        page = None  # orjson cannot write a lone surrogate; a null key never takes the fast path
    else:
        page = _page(rows)
        assert parse_page(ACCOUNTS, page) is None  # the fast path hands it to the row path
    table = page_table(ACCOUNTS, rows)
    invalid = table.column("_p2c_invalid").to_pylist()
    assert invalid[0] is None and invalid[2] is None
    assert problem in invalid[1]
    if column != "accountid":
        assert table.column(column)[1].as_py() is None
    else:  # a stand-in key, the same for the same row: a re-read does not duplicate it
        key = table.column("accountid")[1].as_py()
        assert key and key == page_table(ACCOUNTS, rows).column("accountid")[1].as_py()


def test_numbers_as_text_and_extra_columns_are_not_problems():
    rows = _rows(ACCOUNTS, 3)
    rows[1].update({"creditlimit": "12.5", "an_extra_column": {"x": 1}})
    table = page_table(ACCOUNTS, rows)
    assert table.column("_p2c_invalid").null_count == 3
    assert table.column("creditlimit")[1].as_py() == 12.5


def test_a_clean_page_carries_an_empty_invalid_column_on_both_paths():
    rows = _rows(ACCOUNTS, 2)
    fast = parse_page(ACCOUNTS, _page(rows))["value"]
    assert fast.column("_p2c_invalid").null_count == 2
