"""The one way p2c talks HTTP to Dataverse and F&O: auth, retries, an injectable transport.

API (shared by the extraction and the writeback)::

    client = make_client(conn, transport=None, max_connections=8, retry=RetryPolicy())
    client.get("accounts", headers={...})     # relative to conn.base_url (the service root)
    preflight(conn, transport=None)           # fetch a token now: ConfigError if that cannot work

What the client does for you:

* **Auth**: OAuth2 client credentials against ``conn.token_url``. The token is fetched on first
  use, renewed shortly before ``expires_in`` runs out, and renewed once more if the service answers
  401 (the request is then resent once). One token is shared by all threads using the client.
  A token endpoint that is unreachable or refuses the credentials raises
  :class:`p2c_core.errors.ConfigError` naming the setting; the secret never appears in messages,
  reprs or logs (the ``Authorization`` header and the token form are never logged).
* **Retries** (tenacity, in the transport so every call gets them): 429 is resent after
  ``Retry-After`` (seconds or an HTTP date, capped), any method, since a throttled request was not
  processed. 5xx, timeouts and dropped connections are resent with exponential backoff and full
  jitter, for idempotent methods only (``RetryPolicy.methods``: GET/HEAD/OPTIONS/PUT/DELETE by
  default) — a POST/PATCH that may have reached the server is left to the caller, which knows
  whether resending it is safe. A connection that could not be opened is safe for any method.
  After ``max_attempts`` the last response is returned (the caller's ``raise_for_status`` names the
  URL) or the last transport exception is raised. The response body is read inside the retry, so
  a connection dropped mid-body is retried too.
* **Transport injection**: pass ``transport=httpx.MockTransport(handler)`` (tests) or any
  ``httpx.BaseTransport``; retries and auth wrap it, the token request goes through it as well.
"""

from __future__ import annotations

import email.utils
import functools
import logging
import ssl
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator

import httpx
import tenacity

from p2c_core.connection import Connection
from p2c_core.errors import ConfigError

log = logging.getLogger("p2c.http")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# a dropped or stalled connection; protocol errors on our side (LocalProtocolError) are bugs, not retried
RETRY_EXCEPTIONS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)
ODATA_HEADERS = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts per request, backoff bounds, the longest ``Retry-After`` honoured."""

    max_attempts: int = 6
    backoff_base: float = 0.5  # seconds; full jitter over base * 2**attempt
    backoff_cap: float = 30.0
    retry_after_cap: float = 300.0
    methods: frozenset[str] = IDEMPOTENT_METHODS
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds to wait: delta-seconds or an HTTP date; ``None`` if absent/garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class RetryTransport(httpx.BaseTransport):
    """Wraps a transport with the retry rules above; returns fully read responses."""

    def __init__(self, inner: httpx.BaseTransport, policy: RetryPolicy) -> None:
        self.inner = inner
        self.policy = policy
        self._jitter = tenacity.wait_random_exponential(multiplier=policy.backoff_base, max=policy.backoff_cap)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        idempotent = request.method in self.policy.methods

        def should_retry(state: tenacity.RetryCallState) -> bool:
            outcome = state.outcome
            if outcome.failed:
                exc = outcome.exception()
                return isinstance(exc, httpx.ConnectError) or (idempotent and isinstance(exc, RETRY_EXCEPTIONS))
            status = outcome.result().status_code
            return status == 429 or (idempotent and status in RETRY_STATUSES)

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.policy.max_attempts),
            wait=self._wait,
            retry=should_retry,
            sleep=self.policy.sleep,
            before_sleep=_log_retry,
            reraise=True,
            # out of attempts on a status: hand back the last response, the caller reports it
            retry_error_callback=lambda state: state.outcome.result(),
        )
        return retrying(self._attempt, request)

    def _attempt(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        try:
            raw = b"".join(response.stream)  # raw bytes: content-encoding is decoded by the client
        finally:
            response.close()
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=raw,
            extensions=response.extensions,
            request=request,
        )

    def _wait(self, state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            after = retry_after_seconds(outcome.result().headers.get("Retry-After"))
            if after is not None:
                return min(after, self.policy.retry_after_cap)
        return self._jitter(state)

    def close(self) -> None:
        self.inner.close()


def _log_retry(state: tenacity.RetryCallState) -> None:
    request: httpx.Request = state.args[0]
    outcome = state.outcome
    why = type(outcome.exception()).__name__ if outcome.failed else f"HTTP {outcome.result().status_code}"
    wait = state.next_action.sleep if state.next_action else 0.0
    log.warning("%s %s: %s, attempt %d, retrying in %.1fs", request.method, request.url, why, state.attempt_number, wait)


class ClientCredentialsAuth(httpx.Auth):
    """OAuth2 client credentials with renewal before expiry and once on a 401; thread-safe."""

    def __init__(
        self,
        conn: Connection,
        token_client: httpx.Client,
        *,
        renew_margin: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._conn = conn
        self._token_client = token_client
        self._renew_margin = renew_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0

    def __repr__(self) -> str:
        return f"ClientCredentialsAuth(system={self._conn.system!r}, token_url={self._conn.token_url!r})"

    def token(self, *, stale: str | None = None) -> str:
        """A valid token; renews it if due, or if the caller saw ``stale`` refused (and nobody renewed it since)."""
        with self._lock:
            due = self._token is None or self._clock() >= self._renew_at
            if due or (stale is not None and stale == self._token):
                self._fetch()
            assert self._token is not None
            return self._token

    def _fetch(self) -> None:
        conn = self._conn
        form = {
            "grant_type": "client_credentials",
            "client_id": conn.client_id,
            "client_secret": conn.client_secret,
            "scope": conn.scope,
        }
        try:
            response = self._token_client.post(conn.token_url, data=form, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise ConfigError(
                conn.setting("token_url"), f"token endpoint {conn.token_url} unreachable ({type(exc).__name__}: {exc})"
            ) from None
        body = _json_or_empty(response)
        if response.status_code != 200 or not body.get("access_token"):
            error = str(body.get("error") or f"HTTP {response.status_code}")
            detail = _redact(str(body.get("error_description") or "").split("\n")[0], conn.client_secret)
            setting = {
                "invalid_client": "client_secret",
                "unauthorized_client": "client_id",
                "invalid_scope": "scope",
                "invalid_request": "client_id",
            }.get(error, "token_url")
            raise ConfigError(
                conn.setting(setting),
                f"token request to {conn.token_url} refused: {error}" + (f" ({detail})" if detail else ""),
            )
        lifetime = float(body.get("expires_in") or 3599)
        self._token = str(body["access_token"])
        # renew early: a margin, but never more than half the lifetime (short-lived test tokens)
        self._renew_at = self._clock() + lifetime - min(self._renew_margin, lifetime / 2)

    def sync_auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        token = self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self.token(stale=token)}"
            yield request


def _json_or_empty(response: httpx.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


@functools.lru_cache(maxsize=None)
def _ssl_context() -> ssl.SSLContext:
    # httpx's default verification, built once: each new context reads the CA bundle (~50 ms)
    return httpx.create_ssl_context()


def _base_transport(transport: httpx.BaseTransport | None, max_connections: int) -> httpx.BaseTransport:
    if transport is not None:
        return transport
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.HTTPTransport(verify=_ssl_context(), limits=limits)


def make_client(
    conn: Connection,
    *,
    transport: httpx.BaseTransport | None = None,
    max_connections: int = 8,
    retry: RetryPolicy | None = RetryPolicy(),
    timeout: float = 120.0,
    renew_margin: float = 300.0,
) -> httpx.Client:
    """An ``httpx.Client`` rooted at the service (``conn.base_url``) with auth and retries.

    ``retry=None`` turns the transport's retries off (auth still renews on 401). Close the client
    when done (``with make_client(conn) as client: …``).
    """
    inner = _base_transport(transport, max_connections)
    wrapped = RetryTransport(inner, retry) if retry is not None else inner
    # the token form is a safe resend: allow POST there
    token_policy = replace(retry or RetryPolicy(max_attempts=1), methods=frozenset({"POST"}))
    token_client = httpx.Client(transport=RetryTransport(inner, token_policy), timeout=timeout)
    return httpx.Client(
        base_url=conn.base_url,
        transport=wrapped,
        auth=ClientCredentialsAuth(conn, token_client, renew_margin=renew_margin),
        headers=ODATA_HEADERS,
        timeout=timeout,
    )


def preflight(conn: Connection, *, transport: httpx.BaseTransport | None = None) -> None:
    """Fetch a token now, so a wrong secret or an unreachable token URL fails before any work."""
    with make_client(conn, transport=transport, retry=RetryPolicy(max_attempts=3, backoff_cap=5.0)) as client:
        auth = client.auth
        assert isinstance(auth, ClientCredentialsAuth)
        auth.token()
