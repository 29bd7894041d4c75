"""The sources over a scripted service (httpx MockTransport): paging, types, extra columns, failures."""

from __future__ import annotations

import duckdb
import httpx
import pytest

from dlt.common.storages.load_package import PackageStorage

from p2c_core.http import RetryPolicy
from pipelines.extract import ExtractError, extract_system

TOKEN = "tok-very-secret"


def configure(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("SOURCES__CRM__BASE_URL", "http://crm.test/api/data/v9.2/")
    monkeypatch.setenv("SOURCES__CRM__CREDENTIALS__CLIENT_ID", "client")
    monkeypatch.setenv("SOURCES__CRM__CREDENTIALS__CLIENT_SECRET", "secret")
    monkeypatch.setenv("SOURCES__CRM__CREDENTIALS__TOKEN_URL", "http://login.test/t/oauth2/v2.0/token")
    monkeypatch.setenv("P2C_WAREHOUSE", str(tmp_path / "p2c.duckdb"))


def account(i: int, **extra) -> dict:
    return {"@odata.etag": f'W/"{i}"', "accountid": f"id-{i}", "name": f"A{i}", "creditlimit": None, **extra}


class Service:
    """Accounts in pages of two; the first page all-null credit limits, later pages carry numbers."""

    def __init__(self, rows: list[dict], fail_page: int | None = None) -> None:
        self.rows = rows
        self.fail_page = fail_page
        self.prefer: list[str] = []
        self.urls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "login.test":
            return httpx.Response(200, json={"access_token": TOKEN, "expires_in": 3600})
        self.prefer.append(request.headers.get("Prefer", ""))
        self.urls.append(str(request.url))
        page = int(request.url.params.get("$skiptoken", "0"))
        if page == self.fail_page:
            return httpx.Response(500, json={"error": {"code": "0x80040216", "message": "Generic SQL error."}})
        body = {"value": self.rows[page * 2 : page * 2 + 2]}
        if page * 2 + 2 < len(self.rows):
            body["@odata.nextLink"] = f"http://crm.test/api/data/v9.2/accounts?$skiptoken={page + 1}"
        else:
            body["@odata.deltaLink"] = "http://crm.test/api/data/v9.2/accounts?$deltatoken=1"
        return httpx.Response(200, json=body)


def test_pages_to_the_end_with_declared_types_and_extra_columns(monkeypatch, tmp_path):
    configure(monkeypatch, tmp_path)
    rows = [account(1), account(2), account(3, creditlimit=12.5, surprise_column="hello"), account(4, creditlimit=7)]
    service = Service(rows)
    result = extract_system("crm", entities=["accounts"], transport=httpx.MockTransport(service))
    assert result.rows == {"accounts": 4} and result.pages == {"accounts": 2}
    assert all("odata.maxpagesize=5000" in p and "odata.track-changes" in p for p in service.prefer)
    with duckdb.connect(str(tmp_path / "p2c.duckdb"), read_only=True) as con:
        types = dict(con.execute(
            "select column_name, data_type from information_schema.columns where table_schema = 'crm_raw' and table_name = 'accounts'"
        ).fetchall())
        loaded = con.execute("select accountid, creditlimit, surprise_column, odata_etag from crm_raw.accounts order by accountid").fetchall()
    assert types["creditlimit"] == "DOUBLE"  # declared type, although the first page had only nulls
    assert types["surprise_column"] == "VARCHAR"  # not declared, still loaded
    assert loaded == [
        ("id-1", None, None, 'W/"1"'),
        ("id-2", None, None, 'W/"2"'),
        ("id-3", 12.5, "hello", 'W/"3"'),
        ("id-4", 7.0, None, 'W/"4"'),
    ]


def test_failed_page_names_entity_and_url_never_the_token(monkeypatch, tmp_path):
    configure(monkeypatch, tmp_path)
    service = Service([account(i) for i in range(1, 7)], fail_page=1)
    retry = RetryPolicy(max_attempts=3, sleep=lambda seconds: None)
    with pytest.raises(ExtractError) as info:
        extract_system("crm", entities=["accounts"], transport=httpx.MockTransport(service), retry=retry)
    message = str(info.value)
    assert "accounts" in message and "$skiptoken=1" in message and "Generic SQL error" in message
    assert TOKEN not in message and "secret" not in message
    assert sum("$skiptoken=1" in url for url in service.urls) == 3  # retried up to the limit, then failed


class Killed(BaseException):
    """The process dies here (no ``except Exception`` catches it)."""


def test_a_run_killed_inside_dlts_normalize_commit_leaves_a_package_the_next_run_loads_once(monkeypatch, tmp_path):
    """dlt commits a normalized package by renaming it into place, then deletes the extracted one;
    killed between the two, the package is left twice. The next extraction goes on, loading it once."""
    configure(monkeypatch, tmp_path)
    delete = PackageStorage.delete_package

    def killed_before_the_clean_up(self, load_id, *args, **kwargs):
        if self.storage.storage_path.rstrip("/").endswith("extracted"):
            raise Killed
        return delete(self, load_id, *args, **kwargs)

    monkeypatch.setattr(PackageStorage, "delete_package", killed_before_the_clean_up)
    with pytest.raises(Killed):
        extract_system("crm", entities=["accounts"], transport=httpx.MockTransport(Service([account(1), account(2)])))
    monkeypatch.setattr(PackageStorage, "delete_package", delete)
    rows = [account(1), account(2, name="A2 renamed"), account(3)]
    result = extract_system("crm", entities=["accounts"], transport=httpx.MockTransport(Service(rows)))
    assert result.rows == {"accounts": 3}
    with duckdb.connect(str(tmp_path / "p2c.duckdb"), read_only=True) as con:
        loaded = con.execute("select accountid, name from crm_raw.accounts order by accountid").fetchall()
    assert loaded == [("id-1", "A1"), ("id-2", "A2 renamed"), ("id-3", "A3")]


def test_a_set_without_rows_still_gets_its_table_and_later_rows_load_into_it(monkeypatch, tmp_path):
    # a new tenant's empty set (no accounts yet): the models read every raw table, so it must exist
    configure(monkeypatch, tmp_path)
    result = extract_system("crm", entities=["accounts"], transport=httpx.MockTransport(Service([])))
    assert result.rows == {"accounts": 0}
    query = ("select column_name, data_type from information_schema.columns"
             " where table_schema = 'crm_raw' and table_name = 'accounts'")
    with duckdb.connect(str(tmp_path / "p2c.duckdb"), read_only=True) as con:
        empty_types = dict(con.execute(query).fetchall())
        assert con.execute("select count(*) from crm_raw.accounts").fetchall() == [(0,)]
    assert empty_types["accountid"] == "VARCHAR" and empty_types["creditlimit"] == "DOUBLE"
    assert "odata_etag" in empty_types
    # the next run's rows arrive in that table, with the same declared columns
    extract_system("crm", entities=["accounts"], transport=httpx.MockTransport(Service([account(1, creditlimit=3)])))
    with duckdb.connect(str(tmp_path / "p2c.duckdb"), read_only=True) as con:
        assert {k: v for k, v in con.execute(query).fetchall() if k in empty_types} == empty_types
        assert con.execute("select accountid, creditlimit from crm_raw.accounts").fetchall() == [("id-1", 3.0)]


def test_a_business_central_set_without_rows_gets_its_table_with_the_company_column(monkeypatch, tmp_path):
    # a company without exchange rates: currency_exchange_rates exists, in the shape BC's pages have
    company = "00000000-0000-0000-0000-00000000c001"
    monkeypatch.setenv("P2C__ERP", "business_central")
    monkeypatch.setenv("SOURCES__ERP__BASE_URL", "http://bc.test/v2.0/t/production/api/v2.0/")
    monkeypatch.setenv("SOURCES__ERP__CREDENTIALS__CLIENT_ID", "client")
    monkeypatch.setenv("SOURCES__ERP__CREDENTIALS__CLIENT_SECRET", "secret")
    monkeypatch.setenv("SOURCES__ERP__CREDENTIALS__TOKEN_URL", "http://login.test/t/oauth2/v2.0/token")
    monkeypatch.setenv("P2C_WAREHOUSE", str(tmp_path / "p2c.duckdb"))

    def service(request: httpx.Request) -> httpx.Response:
        if request.url.host == "login.test":
            return httpx.Response(200, json={"access_token": TOKEN, "expires_in": 3600})
        if request.url.path.endswith("/companies"):
            return httpx.Response(200, json={"value": [{"id": company, "name": "CRONUS"}]})
        return httpx.Response(200, json={"value": []})

    result = extract_system("erp", entities=["currencyExchangeRates"], transport=httpx.MockTransport(service))
    assert result.rows == {"currencyExchangeRates": 0}
    with duckdb.connect(str(tmp_path / "p2c.duckdb"), read_only=True) as con:
        columns = [c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema = 'erp_raw'"
            " and table_name = 'currency_exchange_rates'").fetchall()]
        assert con.execute("select count(*) from erp_raw.currency_exchange_rates").fetchall() == [(0,)]
    assert {"company_id", "currency_code", "starting_date", "exchange_rate_amount"} <= set(columns)


def test_a_delta_link_of_another_environment_is_not_followed(monkeypatch, tmp_path):
    # the CRM's base URL moved (a new environment): its changes must not be read from the old one
    configure(monkeypatch, tmp_path)
    extract_system("crm", entities=["accounts"], transport=httpx.MockTransport(Service([account(1)])))
    monkeypatch.setenv("SOURCES__CRM__BASE_URL", "http://crm-new.test/api/data/v9.2/")
    asked: list[str] = []

    def new_environment(request: httpx.Request) -> httpx.Response:
        if request.url.host == "login.test":
            return httpx.Response(200, json={"access_token": TOKEN, "expires_in": 3600})
        asked.append(str(request.url))
        if request.url.host != "crm-new.test":
            return httpx.Response(500, json={"error": {"code": "0x0", "message": "the old environment"}})
        return httpx.Response(200, json={"value": [account(2)], "@odata.deltaLink":
                                         "http://crm-new.test/api/data/v9.2/accounts?$deltatoken=7"})

    result = extract_system("crm", entities=["accounts"], transport=httpx.MockTransport(new_environment))
    assert result.rows == {"accounts": 1}
    assert asked and all(url.startswith("http://crm-new.test/") and "deltatoken" not in url for url in asked), asked
