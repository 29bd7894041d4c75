"""Response shapes built from Microsoft's documented forms, through the real CRM connector and dlt.

The fixtures under ``fixtures/dataverse/`` follow the Web API documentation: a change-tracking
initial read in two pages (the first with ``revenue`` and ``address1_composite`` null on every row,
the second with values; formatted-value, lookup-table and navigation-property annotations on the
rows), then a delta read in two pages whose rows carry fewer columns than the stored ones (the
first page otherwise readable straight into Arrow, the second in Microsoft's own delta form: a row
with a few columns and one explicit null, and a ``$deletedEntity``).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import duckdb
import httpx

from pipelines.extract import extract_system
from systems.dataverse.entities import ENTITIES as CRM_ENTITIES

from tests.extract.test_sources import TOKEN, configure

FIXTURES = Path(__file__).parent / "fixtures" / "dataverse"
ACCOUNTS = next(e for e in CRM_ENTITIES if e.entity_set == "accounts")
G = [f"a1b2c3d4-000{i}-ef11-9f8a-000d3a5b1c10" for i in range(1, 5)]


class DocumentedService:
    """Answers the accounts reads with the fixture pages: initial read, then the delta link."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "login.test":
            return httpx.Response(200, json={"access_token": TOKEN, "expires_in": 3600})
        self.requests.append(request)
        query = parse_qs(urlsplit(str(request.url)).query)
        phase = "delta" if "$deltatoken" in query else "initial"
        page = 2 if "$skiptoken" in query else 1
        body = json.loads((FIXTURES / f"accounts_{phase}_page{page}.json").read_text())
        return httpx.Response(200, json=body, headers={"Preference-Applied": request.headers.get("Prefer", "")})


def _warehouse(tmp_path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(tmp_path / "p2c.duckdb"), read_only=True)


def _types(con) -> dict[str, str]:
    return dict(con.execute(
        "select column_name, data_type from information_schema.columns where table_schema = 'crm_raw' and table_name = 'accounts'"
    ).fetchall())


def test_documented_pages_load_typed_with_plain_lookup_table_columns(monkeypatch, tmp_path):
    configure(monkeypatch, tmp_path)
    service = DocumentedService()
    result = extract_system("crm", entities=["accounts"], transport=httpx.MockTransport(service))
    assert result.rows == {"accounts": 4}

    first = service.requests[0]
    select = parse_qs(urlsplit(str(first.url)).query)["$select"][0].split(",")
    assert select == list(ACCOUNTS.columns)  # the declared columns, nothing else
    prefer = first.headers["Prefer"]
    assert 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"' in prefer
    assert "FormattedValue" not in prefer and "*" not in prefer

    with _warehouse(tmp_path) as con:
        types = _types(con)
        rows = con.execute(
            "select accountid, creditlimit, revenue, address1_composite, customertypecode, createdon,"
            " transactioncurrencyid_table, primarycontactid_table, ownerid_table from crm_raw.accounts order by accountid"
        ).fetchall()
    # declared columns typed, although the first page had only nulls in some of them
    assert types["creditlimit"] == "DOUBLE" and types["customertypecode"] == "BIGINT"
    assert types["createdon"] == "TIMESTAMP WITH TIME ZONE" and types["versionnumber"] == "BIGINT"
    # undeclared columns (null on every row of page 1, a number on page 2) load as text, no crash
    assert types["revenue"] == "VARCHAR" and types["address1_composite"] == "VARCHAR"
    # annotations as decided: the lookup's target table kept under a plain name, nothing else
    assert not [c for c in types if "formatted" in c.lower() or "odata_community" in c or "microsoft" in c.lower()]
    assert not [c for c in types if "associatednavigationproperty" in c or c == "odata_context"]
    assert [r[0] for r in rows] == G
    assert rows[0][1:3] == (None, None) and rows[2][1:3] == (50000.0, "1000000.0")
    assert rows[2][6:9] == ("transactioncurrency", "contact", "systemuser")
    assert rows[0][7] is None  # no primary contact: no target table


def test_narrower_delta_rows_keep_stored_values_and_deletions_apply(monkeypatch, tmp_path):
    configure(monkeypatch, tmp_path)
    service = DocumentedService()
    transport = httpx.MockTransport(service)
    extract_system("crm", entities=["accounts"], transport=transport)
    result = extract_system("crm", entities=["accounts"], transport=transport)
    assert "$deltatoken" in str(service.requests[-1].url)
    assert result.rows == {"accounts": 4}  # 3 changed rows + 1 deletion

    with _warehouse(tmp_path) as con:
        rows = {r[0]: r[1:] for r in con.execute(
            "select accountid, name, telephone1, address1_city, creditlimit, emailaddress1, ownerid_table,"
            " versionnumber, _p2c_deleted from crm_raw.accounts"
        ).fetchall()}
    assert len(rows) == 4
    # delta page 1 (no telephone1, address1_city, creditlimit): the new name, the stored rest
    assert rows[G[0]] == ("Fourth Coffee Roasters", "+1-425-555-0101", "Redmond", None, "info1@example.com", "systemuser", 900001, False)
    assert rows[G[2]] == ("Adventure Works Cycles", "+1-425-555-0103", "Redmond", 50000.0, "info3@example.com", "systemuser", 900003, False)
    # delta page 2, Microsoft's form: a few columns; the explicit null clears, the absent ones stay
    assert rows[G[1]] == ("Litware, Inc.", "+1-425-555-0102", "Redmond", None, None, "systemuser", 900002, False)
    # the deleted row: kept with its last values, marked deleted
    assert rows[G[3]][0] == "Fabrikam, Inc." and rows[G[3]][-1] is True
