"""Server-driven paging over an OData collection: follow ``@odata.nextLink`` to the last page.

``iter_pages(client, url, entity=…, headers=…, params=…)`` yields each page's parsed JSON body
(``value``, and on the last page ``@odata.deltaLink`` when change tracking was asked for);
``pages_from(client, first, …)`` does the same from a page the caller already fetched. The same
headers go with every page (Dataverse wants ``Prefer`` resent); next links are used unchanged.
``parse`` (optional) reads a page's bytes faster, e.g. straight into Arrow; where it returns
``None`` the page is parsed with orjson as usual.

A page the service refuses after the HTTP layer's retries raises :class:`PageError`, which names
the entity, the URL and the service's own error message — never a header, so never the token.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator, Mapping

import httpx
import orjson

from p2c_core.crashpoints import crashpoint

NEXT_LINK = "@odata.nextLink"
DELTA_LINK = "@odata.deltaLink"
Parse = Callable[[bytes], "dict[str, Any] | None"]


class PageError(RuntimeError):
    """A page could not be read: which entity, which URL, what the service said."""

    def __init__(self, entity: str, url: str, detail: str, status: int | None = None, code: str | None = None) -> None:
        self.entity = entity
        self.url = url
        self.status = status
        self.code = code
        super().__init__(f"{entity}: GET {url} failed: {detail}")


class RequestFailed(RuntimeError):
    """A GET the service refused, or left unanswered, after every attempt; ``response`` holds the
    service's last answer (``None``: the connection failed)."""

    def __init__(self, message: str, response: Any = None) -> None:  # a p2c_core.multipart.PartResponse
        super().__init__(message)
        self.response = response


def error_of(response) -> tuple[str | None, str | None]:
    """The service's own error code and message from an OData error body (a ``PartResponse``)."""
    if response is None:
        return None, None
    body = response.json()
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        message = err.get("message") or ""
        inner = err.get("innererror")
        if isinstance(inner, dict) and inner.get("message") and inner["message"] not in message:
            message = f"{message} ({inner['message']})" if message else inner["message"]
        return (err.get("code") or None), (message or None)
    return None, (response.text[:1000] or response.reason or None)


def _service_error(response: httpx.Response) -> tuple[str, str | None]:
    try:
        error = orjson.loads(response.content).get("error") or {}
    except (orjson.JSONDecodeError, AttributeError):
        error = {}
    message = str(error.get("message") or response.text[:200] or response.reason_phrase)
    code = error.get("code") or None
    return f"HTTP {response.status_code} {message[:300]}" + (f" (code {code})" if code else ""), code


def get_page(
    client: httpx.Client,
    url: str,
    *,
    entity: str,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    parse: Parse | None = None,
) -> dict[str, Any]:
    """GET one page and parse it; ``PageError`` if the service (or the network) fails it."""
    try:
        response = client.get(url, headers=headers, params=params)
    except httpx.HTTPError as exc:
        shown = str(client.build_request("GET", url, params=params).url)
        raise PageError(entity, shown, f"{type(exc).__name__}: {exc}") from None
    if response.status_code >= 400:
        detail, code = _service_error(response)
        raise PageError(entity, str(response.request.url), detail, response.status_code, code)
    if parse is not None and (body := parse(response.content)) is not None:
        return body
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        try:  # JSON orjson refuses but the standard allows: an unpaired surrogate escape (\ud800)
            body = json.loads(response.content)
        except ValueError:
            raise PageError(entity, str(response.request.url), f"the response is not JSON ({exc})", response.status_code) from None
    if not isinstance(body, dict) or not isinstance(body.get("value"), list):
        raise PageError(entity, str(response.request.url), "the response has no 'value' array", response.status_code)
    return body


def iter_pages(
    client: httpx.Client,
    url: str,
    *,
    entity: str,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    parse: Parse | None = None,
) -> Iterator[dict[str, Any]]:
    """Every page from ``url`` on, following ``@odata.nextLink`` until a page has none."""
    first = get_page(client, url, entity=entity, headers=headers, params=params, parse=parse)
    crashpoint("extract.page_fetched")
    yield from pages_from(client, first, entity=entity, headers=headers, parse=parse)


def pages_from(
    client: httpx.Client,
    first: dict[str, Any],
    *,
    entity: str,
    headers: Mapping[str, str] | None = None,
    parse: Parse | None = None,
) -> Iterator[dict[str, Any]]:
    """``first`` (a page already fetched), then the pages after it."""
    body = first
    yield body
    while next_link := body.get(NEXT_LINK):
        body = get_page(client, next_link, entity=entity, headers=headers, parse=parse)
        crashpoint("extract.page_fetched")
        yield body
