"""The shared HTTP layer: token renewal, retries, secrets kept out of sight (httpx MockTransport)."""

from __future__ import annotations

import logging

import httpx
import pytest

from p2c_core.connection import Connection, resolve_connection
from p2c_core.errors import ConfigError
from p2c_core.http import RetryPolicy, make_client, preflight, retry_after_seconds

SECRET = "s3cr3t-value-never-shown"
TOKEN_URL = "http://login.test/tenant/oauth2/v2.0/token"


def conn() -> Connection:
    return Connection(
        system="crm",
        base_url="http://crm.test/api/data/v9.2/",
        token_url=TOKEN_URL,
        client_id="client",
        scope="http://crm.test/.default",
        tenant="tenant",
        client_secret=SECRET,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Service:
    """A token endpoint plus a data endpoint whose answers the test scripts."""

    def __init__(self, answers: list | None = None, expires_in: int = 3600) -> None:
        self.answers = list(answers or [])
        self.expires_in = expires_in
        self.tokens_issued = 0
        self.data_calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            self.tokens_issued += 1
            return httpx.Response(200, json={"token_type": "Bearer", "expires_in": self.expires_in, "access_token": f"tok{self.tokens_issued}"})
        self.data_calls.append(request)
        if self.answers:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            if callable(answer):
                return answer(request)
            return answer
        return httpx.Response(200, json={"value": [], "auth": request.headers["Authorization"]})


def sleeps() -> tuple[list[float], RetryPolicy]:
    waited: list[float] = []
    return waited, RetryPolicy(max_attempts=4, backoff_base=0.5, backoff_cap=8.0, sleep=waited.append)


def test_token_is_reused_then_renewed_before_expiry():
    service = Service(expires_in=3600)
    client = make_client(conn(), transport=httpx.MockTransport(service), renew_margin=300)
    clock = Clock()
    client.auth._clock = clock  # type: ignore[attr-defined]
    assert client.get("accounts").json()["auth"] == "Bearer tok1"
    clock.now += 3000  # still 600 s left: reused
    assert client.get("accounts").json()["auth"] == "Bearer tok1"
    clock.now += 400  # inside the 300 s margin: renewed before the service could refuse it
    assert client.get("accounts").json()["auth"] == "Bearer tok2"
    assert service.tokens_issued == 2


def test_401_renews_token_once_and_resends():
    service = Service([httpx.Response(401, json={"error": {"code": "", "message": "ExpiredAuthTicket"}})])
    client = make_client(conn(), transport=httpx.MockTransport(service))
    response = client.get("accounts")
    assert response.status_code == 200
    assert response.json()["auth"] == "Bearer tok2"
    assert service.tokens_issued == 2


def test_repeated_401_is_returned_not_looped():
    service = Service([httpx.Response(401)] * 5)
    client = make_client(conn(), transport=httpx.MockTransport(service))
    assert client.get("accounts").status_code == 401
    assert len(service.data_calls) == 2  # the original and one resend with a fresh token


def test_429_waits_retry_after():
    waited, policy = sleeps()
    service = Service([httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(429, headers={"Retry-After": "2"})])
    client = make_client(conn(), transport=httpx.MockTransport(service), retry=policy)
    assert client.get("accounts").status_code == 200
    assert waited == [7.0, 2.0]


def test_429_on_post_is_retried_but_503_on_post_is_not():
    waited, policy = sleeps()
    service = Service([httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(503)])
    client = make_client(conn(), transport=httpx.MockTransport(service), retry=policy)
    assert client.post("$batch", content=b"x").status_code == 503
    assert len(service.data_calls) == 2


def test_5xx_timeouts_and_dropped_connections_back_off_with_jitter():
    waited, policy = sleeps()
    service = Service(
        [
            httpx.Response(503),
            httpx.ReadTimeout("slow"),
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            httpx.Response(200, json={"value": [1]}),
        ]
    )
    client = make_client(conn(), transport=httpx.MockTransport(service), retry=policy)
    assert client.get("accounts").json() == {"value": [1]}
    assert len(waited) == 3
    # full jitter: each wait lies in [0, min(cap, base * 2**n)]
    for n, wait in enumerate(waited, start=1):
        assert 0 <= wait <= min(8.0, 0.5 * 2**n)


def test_gives_up_after_max_attempts_with_last_response():
    waited, policy = sleeps()
    service = Service([httpx.Response(503)] * 10)
    client = make_client(conn(), transport=httpx.MockTransport(service), retry=policy)
    response = client.get("accounts")
    assert response.status_code == 503
    assert len(service.data_calls) == 4
    with pytest.raises(httpx.HTTPStatusError) as info:
        response.raise_for_status()
    assert "crm.test/api/data/v9.2/accounts" in str(info.value)


def test_gives_up_after_max_attempts_on_dropped_connections():
    waited, policy = sleeps()
    service = Service([httpx.ReadError("reset")] * 10)
    client = make_client(conn(), transport=httpx.MockTransport(service), retry=policy)
    with pytest.raises(httpx.ReadError):
        client.get("accounts")
    assert len(service.data_calls) == 4


def test_retry_after_accepts_http_dates():
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412480.0) == 30.0
    assert retry_after_seconds("garbage") is None
    assert retry_after_seconds(None) is None


def test_unreachable_token_url_is_a_config_error_naming_the_setting():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(ConfigError) as info:
        preflight(conn(), transport=httpx.MockTransport(refuse))
    assert info.value.setting == "sources.crm.credentials.token_url"
    assert SECRET not in str(info.value)


def test_refused_secret_names_the_secret_setting_without_its_value():
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            json={"error": "invalid_client", "error_description": f"AADSTS7000215: Invalid client secret {SECRET}"},
        )

    with pytest.raises(ConfigError) as info:
        preflight(conn(), transport=httpx.MockTransport(refuse))
    assert info.value.setting == "sources.crm.credentials.client_secret"
    assert "invalid_client" in str(info.value)
    assert SECRET not in str(info.value)


def test_secret_never_in_reprs_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    waited, policy = sleeps()
    service = Service([httpx.Response(503)])
    client = make_client(conn(), transport=httpx.MockTransport(service), retry=policy)
    client.get("accounts")
    assert SECRET not in repr(conn())
    assert SECRET not in repr(client.auth)
    assert "retrying" in caplog.text  # the retry was logged …
    assert SECRET not in caplog.text and "tok1" not in caplog.text  # … without secret or token


def test_missing_secret_is_a_config_error(monkeypatch):
    monkeypatch.setenv("SOURCES__ERP__BASE_URL", "http://erp.test/data/")
    monkeypatch.setenv("SOURCES__ERP__CREDENTIALS__CLIENT_ID", "client")
    monkeypatch.setenv("SOURCES__ERP__CREDENTIALS__TENANT", "contoso")
    monkeypatch.setenv("SOURCES__ERP__CREDENTIALS__CLIENT_SECRET", "")
    with pytest.raises(ConfigError) as info:
        resolve_connection("erp")
    assert info.value.setting == "sources.erp.credentials.client_secret"


def test_connection_defaults_to_entra_token_url_and_origin_scope(monkeypatch):
    monkeypatch.setenv("SOURCES__ERP__BASE_URL", "https://env.operations.dynamics.com/data")
    monkeypatch.setenv("SOURCES__ERP__CREDENTIALS__CLIENT_ID", "client")
    monkeypatch.setenv("SOURCES__ERP__CREDENTIALS__TENANT", "contoso")
    monkeypatch.setenv("SOURCES__ERP__CREDENTIALS__CLIENT_SECRET", SECRET)
    # empty values count as unset (and hide the repo's .dlt/config.toml, which points at the sandbox)
    monkeypatch.setenv("SOURCES__ERP__CREDENTIALS__TOKEN_URL", "")
    monkeypatch.setenv("SOURCES__ERP__CREDENTIALS__SCOPE", "")
    resolved = resolve_connection("erp")
    assert resolved.base_url == "https://env.operations.dynamics.com/data/"
    assert resolved.token_url == "https://login.microsoftonline.com/contoso/oauth2/v2.0/token"
    assert resolved.scope == "https://env.operations.dynamics.com/.default"
    assert resolved.client_secret == SECRET
    assert SECRET not in repr(resolved)
