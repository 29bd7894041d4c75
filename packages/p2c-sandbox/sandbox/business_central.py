"""The Business Central API v2.0 (the other ERP) at ``/api/v2.0/``, built to ``shared/api/business_central.md``.

``create_app(store, options)`` returns the ASGI app the sandbox server mounts on its own port
(default 8703, behind the Entra-shaped token endpoint and bearer check of :mod:`sandbox.auth` and
the rate limit of :mod:`sandbox.faults`, see :func:`sandbox.server.wrap`). Requests are handled by
:class:`BusinessCentral`, a plain request → reply function, so that ``$batch`` runs its operations
through exactly the same code as single requests.

What the real API does and this one copies:
- ``GET companies`` lists the companies; everything else is inside one: ``companies({id})/<set>``,
  or ``<set>?company={id or name}`` (or a ``Company`` header, as batch operations may carry); rows
  are addressed by their GUID ``id`` only (a number is found with ``$filter=number eq '…'``); line
  sets are also child collections (``salesOrders({id})/salesOrderLines``) and ``$expand``-able from
  their header;
- ``$filter``/``$select``/``$orderby``/``$top``/``$skip``/``$count`` through the sandbox's OData
  parser; server-driven pages of at most 20,000 rows, fewer with ``Prefer: odata.maxpagesize=N``,
  more than 20,000 asked → 413; ``@odata.nextLink`` continues a page;
- weak ETags per row (``@odata.etag``, ``ETag``); **PATCH and DELETE need ``If-Match``** — without
  it 400 ``BadRequest_InvalidToken`` "Could not validate the client concurrency token required
  by the service." (the fact sheet's presumption of 400), a stale tag 412, ``*`` always matches;
- POST creates (a quote or order with its lines nested: deep insert), PATCH answers 200 with the
  row, ``lastModifiedDateTime`` (UTC, milliseconds) on headers and master data, not on lines;
- the bound action ``POST salesOrders({id})/Microsoft.NAV.shipAndInvoice`` posts the order
  (:mod:`sandbox.business_central_logic`); posted ``salesInvoices`` are read-only;
- JSON ``$batch`` of at most 100 operations; ``Isolation: snapshot`` makes it all-or-nothing;
- at most 5 requests served at once, the rest queued (95 places; a full queue → 429, 8 minutes
  waiting → 503); 6,000 requests per client in a 5-minute sliding window (then 429) is
  :class:`sandbox.faults.FaultMiddleware`'s, keyed by the token's client;
- errors are ``{"error": {"code", "message"}}``. Codes the fact sheet names: ``BadRequest_InvalidToken``
  and ``Unknown`` (a validation failure); the others (``Internal_RecordNotFound``,
  ``Internal_EntityWithSameKeyExists``, ``Request_EntityChanged``, ``BadRequest…``) are presumed.

Not emulated: ``$metadata``, webhooks (``subscriptions``), custom APIs, draft sales invoices,
``salesQuotes`` actions, and BC's deletion of a fully invoiced order (the order stays,
``fullyShipped``).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sandbox import business_central_logic as logic
from sandbox import finops_data, odata_http, odata_query
from sandbox.business_central_logic import Books, BusinessRuleError
from sandbox.business_central_schema import (
    BC,
    COMPANY,
    EMPTY_GUID,
    HEADER_OF,
    LINES,
    NAMESPACE,
    PUBLIC,
    VALUES,
)
from sandbox.finops_protocol import ODataError, check_payload, etag, if_match_ok
from sandbox.odata_http import Req
from sandbox.schema import Entity
from sandbox.store import VERSION, DuplicateKey, Store

ROOT = "/api/v2.0"
MAX_PAGE_SIZE = 20_000
MAX_BATCH_OPERATIONS = 100
MAX_CONCURRENT, QUEUE_SIZE, QUEUE_TIMEOUT = 5, 95, 480.0
RATE_LIMIT = (6_000, 300.0)  # requests per client per sliding window (seconds)
ACTION_PREFIX = "Microsoft.NAV."
JSON_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; charset=utf-8"

_OPTIONS = {"$filter", "$select", "$orderby", "$top", "$skip", "$count", "$skiptoken", "$expand", "$format", "company"}
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_][\w.]*)(?:\((?P<key>[^)]*)\))?$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class Reply(odata_http.Reply):
    json_type = JSON_TYPE


class BCError(odata_http.ServiceError):
    """A BC refusal: ``{"error": {"code", "message"}}``."""


def bad_request(message: str, code: str = "BadRequest") -> BCError:
    return BCError(400, code, message)


def not_found(set_name: str, row_id: str) -> BCError:
    return BCError(404, "Internal_RecordNotFound",
                   f"The {BC[set_name].type_name} does not exist. Identification fields and values: Id='{row_id}'")


def throttled(n: int, s: float) -> dict[str, Any]:
    return BCError(429, "Application_TooManyRequests",
                   f"The request exceeded the limit of {n} requests per {s:g} seconds for this client.").body()


def unavailable() -> dict[str, Any]:
    return BCError(503, "ServiceUnavailable", "The service is temporarily unavailable. Please try again later.").body()


@dataclass
class Target:
    """What a URL names: a set in a company, maybe one row, maybe its lines or an action."""

    set_name: str
    company: dict[str, Any] | None = None
    row_id: str | None = None
    parent: tuple[str, str] | None = None  # (header set, header id) of a child collection
    action: str | None = None


# --- the service ------------------------------------------------------------------------------------


@dataclass
class BusinessCentral:
    store: Store
    max_page: int = MAX_PAGE_SIZE
    companies: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> row, read once

    def handle(self, req: Req) -> Reply:
        try:
            return self._route(req)
        except BCError as err:
            return Reply.error(err)
        except BusinessRuleError as exc:
            return Reply.error(bad_request(str(exc), "Unknown"))
        except ODataError as err:  # the shared payload checks
            return Reply.error(bad_request(err.message))
        except odata_query.QueryError as exc:
            return Reply.error(bad_request(exc.message))
        except DuplicateKey:
            return Reply.error(bad_request("The record already exists.", "Internal_EntityWithSameKeyExists"))

    # --- routing ----------------------------------------------------------------------------------

    def _route(self, req: Req) -> Reply:
        path = req.path.strip("/")
        if path == "":
            _method(req, "GET")
            return Reply.json(200, {"@odata.context": f"{req.base_url}$metadata", "value": [
                {"name": s, "kind": "EntitySet", "url": s} for s in BC]})
        if path == "$batch":
            _method(req, "POST")
            return run_batch(self, req)
        target = self._target(req, path)
        if target.action:
            _method(req, "POST")
            return self._action(req, target)
        if target.row_id is None:
            if req.method == "GET":
                return self._collection(req, target)
            _method(req, "POST")
            return self._create(req, target)
        if req.method == "GET":
            return self._read(req, target)
        if req.method == "PATCH":
            return self._update(req, target)
        _method(req, "DELETE")
        return self._delete(req, target)

    def company(self, ident: str) -> dict[str, Any] | None:
        if not self.companies:
            self.companies = {r["id"]: r for r in self.store.iter_rows("companies")}
        ident = ident.strip("'")
        found = self.companies.get(ident.lower())
        return found or next((c for c in self.companies.values() if c["name"] == ident), None)

    def _target(self, req: Req, path: str) -> Target:
        segments = [unquote(s) for s in path.split("/")]
        parsed = []
        for seg in segments:
            m = _SEGMENT.match(seg)
            if not m:
                raise BCError(404, "BadRequest_NotFound", f"No HTTP resource was found for the segment '{seg}'.")
            parsed.append((m.group("name"), m.group("key")))
        company = None
        if parsed[0][0] == "companies":
            if parsed[0][1] is None or len(parsed) == 1:
                if len(parsed) > 1 or (parsed[0][1] is not None and req.method != "GET"):
                    raise BCError(405, "BadRequest_MethodNotAllowed", "Companies cannot be changed through the API.")
                return Target("companies", row_id=None if parsed[0][1] is None else _guid(parsed[0][1]))
            company = self.company(_guid(parsed[0][1]))
            if company is None:
                raise not_found("companies", parsed[0][1])
            parsed = parsed[1:]
        elif req.opt("company") or req.headers.get("company"):  # the query option, or a Company header
            named = req.opt("company") or req.headers.get("company") or ""
            company = self.company(named)
            if company is None:
                raise bad_request(f"The company '{named}' does not exist.", "BadRequest_CompanyNotFound")
        (name, key), rest = parsed[0], parsed[1:]
        if name not in BC or name == "companies":
            raise BCError(404, "BadRequest_NotFound", f"No HTTP resource was found for the segment '{name}'.")
        if company is None:
            raise bad_request("No company is specified: use companies({id})/" + name + " or ?company=.",
                              "BadRequest_CompanyNotSpecified")
        target = Target(name, company, None if key is None else _guid(key))
        if not rest:
            return target
        (child, child_key) = rest[0]
        if target.row_id is None or len(rest) > 1:
            raise BCError(404, "BadRequest_NotFound", f"No HTTP resource was found for the segment '{child}'.")
        if child.startswith(ACTION_PREFIX) and child_key is None:
            target.action = child[len(ACTION_PREFIX):]
            return target
        if LINES.get(name) != child:
            raise BCError(404, "BadRequest_NotFound", f"No HTTP resource was found for the segment '{child}'.")
        return Target(child, company, None if child_key is None else _guid(child_key), (name, target.row_id))

    # --- reads ------------------------------------------------------------------------------------

    def _query(self, req: Req, target: Target, *, paged: bool) -> finops_data.Query:
        public, stored = PUBLIC[target.set_name], BC[target.set_name]
        clauses, params = [], []
        if stored.company:
            clauses.append(f'"{COMPANY}" = ?')
            params.append(target.company["id"])
        if target.parent:
            self._load(Target(target.parent[0], target.company, target.parent[1]))
            clauses.append('"documentId" = ?')
            params.append(target.parent[1])
        order: list[tuple[str, bool]] = []
        if req.opt("$filter"):
            sql, args = odata_query.parse_filter(req.opt("$filter"), public, namespace=NAMESPACE, datetime_ms=True)
            clauses.append(f"({sql})")
            params += args
        if paged:
            order = odata_query.parse_orderby(req.opt("$orderby"), public, namespace=NAMESPACE)
            if not order and target.set_name in HEADER_OF:  # lines in document order, as BC lists them
                order = [("documentId", False), ("sequence", False)]
        return finops_data.Query(stored, " AND ".join(clauses) or None, tuple(params),
                                 tuple(Store.sort_columns(stored, order)))

    def _collection(self, req: Req, target: Target) -> Reply:
        for name, _ in req.query:
            if name.startswith("$") and name not in _OPTIONS:
                raise bad_request(f"The query parameter '{name}' is not supported.")
        public = PUBLIC[target.set_name]
        select = _select(public, req.opt("$select"))
        expand = self._expand_option(req, target.set_name)
        query = self._query(req, target, paged=True)
        top, skip = odata_query.parse_top(req.opt("$top"), "$top"), odata_query.parse_top(req.opt("$skip"), "$skip") or 0
        size = self._page_size(req)
        token = req.opt("$skiptoken")
        if token is None:
            after, remaining = None, top
        else:
            decoded = odata_http.decode_cursor(token)
            if decoded is None:
                raise bad_request("The $skiptoken is not valid.")
            after, remaining = decoded
        limit = size if remaining is None else min(size, remaining)
        columns = None if select is None else tuple(dict.fromkeys((*select, "id", *(["documentId"] if expand else []))))
        rows = finops_data.page(self.store, query.entity, query, after=after, skip=skip if token is None else 0,
                                limit=limit + 1, columns=columns)
        more, rows = len(rows) > limit, rows[:limit]
        body: dict[str, Any] = {"@odata.context": _context(req, target.set_name)}
        if req.opt("$count") == "true":
            body["@odata.count"] = finops_data.count(self.store, query.entity, query)
        values = [_render(public, r, select) for r in rows]
        if expand:
            self._expand(target, rows, values)
        body["value"] = values
        left = None if remaining is None else remaining - len(rows)
        if more and rows and (left is None or left > 0):
            body["@odata.nextLink"] = _next_link(req, odata_http.encode_cursor(query.cursor(rows[-1]), left))
        headers = {"Preference-Applied": f"odata.maxpagesize={size}"} if "odata.maxpagesize" in req.prefer() else {}
        return Reply.json(200, body, headers)

    def _page_size(self, req: Req) -> int:
        raw = req.prefer().get("odata.maxpagesize")
        if raw is None:
            return self.max_page
        if not raw.isdigit() or int(raw) < 1:
            raise bad_request(f"The value '{raw}' of the preference odata.maxpagesize is not valid.")
        if int(raw) > self.max_page:
            raise BCError(413, "Request_EntityTooLarge",
                          f"The page size {raw} exceeds the maximum of {self.max_page} entities per page.")
        return int(raw)

    def _expand_option(self, req: Req, set_name: str) -> bool:
        text = req.opt("$expand")
        if not text:
            return False
        if text.strip() != LINES.get(set_name):
            raise bad_request(f"Could not find a navigation property named '{text}' on type "
                              f"'{NAMESPACE}.{BC[set_name].type_name}'.")
        return True

    def _expand(self, target: Target, rows: list[dict[str, Any]], values: list[dict[str, Any]]) -> None:
        """Each header's lines, read with one query per 500 headers."""
        line_set = LINES[target.set_name]
        by_doc: dict[str, list[dict[str, Any]]] = {r["id"]: [] for r in rows}
        ids = list(by_doc)
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            where = f'"{COMPANY}" = ? AND "documentId" IN ({",".join("?" * len(chunk))})'
            for ln in self.store.iter_rows(line_set, where, (target.company["id"], *chunk),
                                           order_by=[("documentId", False), ("sequence", False)]):
                by_doc[ln["documentId"]].append(_render(PUBLIC[line_set], ln, None))
        for r, v in zip(rows, values):
            v[line_set] = by_doc[r["id"]]

    def _load(self, target: Target) -> dict[str, Any]:
        stored = BC[target.set_name]
        key = {COMPANY: target.company["id"], "id": target.row_id} if stored.company else {"id": target.row_id}
        row = self.store.get(target.set_name, key)
        if row is None or (target.parent and row.get("documentId") != target.parent[1]):
            raise not_found(target.set_name, target.row_id or "")
        return row

    def _read(self, req: Req, target: Target) -> Reply:
        public = PUBLIC[target.set_name]
        row = self._load(target)
        body = {"@odata.context": _context(req, target.set_name, entity=True)} | _render(public, row,
                                                                                        _select(public, req.opt("$select")))
        if self._expand_option(req, target.set_name):
            self._expand(target, [row], [body])
        return Reply.json(200, body, {"ETag": etag(row[VERSION])})

    # --- writes -----------------------------------------------------------------------------------

    def _values(self, target: Target, body: Any, *, creating: bool) -> tuple[dict[str, Any], list[Any] | None]:
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object describing one entity.")
        lines = None
        line_set = LINES.get(target.set_name)
        if line_set and line_set in body:
            if not creating:
                raise bad_request("PATCH on collection-valued properties is not allowed.")
            lines = body.pop(line_set)
            if not isinstance(lines, list):
                raise bad_request(f"The property '{line_set}' must be a collection of entities.")
        values = check_payload(PUBLIC[target.set_name], body, creating=False, namespace=NAMESPACE)
        for name, value in values.items():
            members = VALUES.get((target.set_name, name))
            if members and value not in members:
                raise bad_request(f"The value '{value}' is not valid for the property '{name}'. Valid values: "
                                  f"{', '.join(repr(m) for m in members)}.")
        if "id" in values and values["id"] is not None and not _GUID.match(values["id"]):
            raise bad_request(f"'{values['id']}' is not a valid Edm.Guid value for the property 'id'.")
        return values, lines

    def _create(self, req: Req, target: Target) -> Reply:
        if BC[target.set_name].company is False or target.set_name in ("salesInvoices", "salesInvoiceLines",
                                                                        "companyInformation", "currencyExchangeRates"):
            raise BCError(405, "BadRequest_MethodNotAllowed", f"'{target.set_name}' cannot be created through the API.")
        values, lines = self._values(target, _json(req), creating=True)
        books = Books(self.store, target.company)
        with self.store.transaction():
            if target.parent:
                values["documentId"] = target.parent[1]
            row = self._insert(books, target.set_name, values)
            created = []
            for ln in lines or []:
                line_values, _ = self._values(Target(LINES[target.set_name], target.company), ln, creating=True)
                created.append(self._insert(books, LINES[target.set_name], line_values | {"documentId": row["id"]}))
            row = self.store.get(target.set_name, logic.key(row)) or row
        body = {"@odata.context": _context(req, target.set_name, entity=True)} | _render(PUBLIC[target.set_name], row, None)
        if lines is not None:
            line_set = LINES[target.set_name]
            body[line_set] = [_render(PUBLIC[line_set], self.store.get(line_set, logic.key(ln)) or ln, None)
                              for ln in created]
        location = f"{req.base_url}companies({target.company['id']})/{target.set_name}({row['id']})"
        return Reply.json(201, body, {"ETag": etag(row[VERSION]), "Location": location})

    def _insert(self, books: Books, set_name: str, values: dict[str, Any]) -> dict[str, Any]:
        values[COMPANY] = books.id
        values = books.prepare(set_name, None, values)
        row = logic.insert(self.store, set_name, values)
        books.after(set_name, None, row)
        return row

    def _update(self, req: Req, target: Target) -> Reply:
        self._writable(target)
        if_match = _if_match(req)
        values, _ = self._values(target, _json(req), creating=False)
        if values.pop("id", target.row_id) != target.row_id:
            raise bad_request("The property 'id' cannot be changed.")
        books = Books(self.store, target.company)
        with self.store.transaction():
            before = self._load(target)
            _check_version(if_match, before)
            values = books.prepare(target.set_name, before, values)
            row = logic.update(self.store, target.set_name, before, values)
            books.after(target.set_name, before, row)
            row = self._load(target)
        body = {"@odata.context": _context(req, target.set_name, entity=True)} | _render(PUBLIC[target.set_name], row, None)
        return Reply.json(200, body, {"ETag": etag(row[VERSION])})

    def _delete(self, req: Req, target: Target) -> Reply:
        self._writable(target)
        if target.set_name == "companyInformation":
            raise BCError(405, "BadRequest_MethodNotAllowed", "'companyInformation' cannot be deleted through the API.")
        if_match = _if_match(req)
        books = Books(self.store, target.company)
        with self.store.transaction():
            before = self._load(target)
            _check_version(if_match, before)
            books.check_delete(target.set_name, before)
            books.deleting(target.set_name, before)
            self.store.delete(target.set_name, logic.key(before))
            books.after(target.set_name, before, None)
        return Reply(204)

    @staticmethod
    def _writable(target: Target) -> None:
        if target.set_name == "currencyExchangeRates":  # GET only in API v2.0
            raise BCError(405, "BadRequest_MethodNotAllowed", "'currencyExchangeRates' cannot be changed through the API.")
        if target.set_name == "companies":
            raise BCError(405, "BadRequest_MethodNotAllowed", "Companies cannot be changed through the API.")

    def _action(self, req: Req, target: Target) -> Reply:
        if (target.set_name, target.action) != ("salesOrders", "shipAndInvoice"):
            raise BCError(404, "BadRequest_NotFound",
                          f"No HTTP resource was found for the action '{ACTION_PREFIX}{target.action}'.")
        self._load(target)
        with self.store.transaction():
            Books(self.store, target.company).ship_and_invoice(target.row_id or "")
        return Reply(204)


# --- helpers ------------------------------------------------------------------------------------


def _method(req: Req, *allowed: str) -> None:
    if req.method not in allowed:
        raise BCError(405, "BadRequest_MethodNotAllowed",
                      f"The requested resource does not support http method '{req.method}'.")


def _guid(text: str) -> str:
    t = text.strip()
    if not _GUID.match(t):
        raise bad_request(f"The key '{t}' is not a valid Edm.Guid: entities are addressed by their id (find a "
                          "number with $filter=number eq '…').", "BadRequest_InvalidKey")
    return t.lower()


def _json(req: Req) -> Any:
    try:
        return orjson.loads(req.body or b"null")
    except orjson.JSONDecodeError:
        raise bad_request("The request body is not valid JSON.") from None


def _select(entity: Entity, text: str | None) -> tuple[str, ...] | None:
    names = odata_query.parse_select(text, entity, namespace=NAMESPACE)  # a QueryError is answered 400
    return None if names is None else tuple(names)


def _if_match(req: Req) -> str:
    header = req.headers.get("if-match")
    if not header:
        raise bad_request("Could not validate the client concurrency token required by the service.",
                          "BadRequest_InvalidToken")
    return header


def _check_version(if_match: str, row: dict[str, Any]) -> None:
    if not if_match_ok(if_match, row[VERSION]):
        raise BCError(412, "Request_EntityChanged",
                      "Could not save the changes because the record was changed since it was read (the If-Match "
                      "ETag does not match).")


_EMPTY = {"guid": EMPTY_GUID, "string": "", "int": 0, "bigint": 0, "decimal": 0, "bool": False,
          "date": "0001-01-01", "datetime": "0001-01-01T00:00:00Z"}


def _render(entity: Entity, row: dict[str, Any], select: tuple[str, ...] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"@odata.etag": etag(row[VERSION])}
    for c in entity.columns:
        if select is None or c.name in select:
            value = row.get(c.name)
            out[c.name] = _EMPTY[c.type] if value is None else value
    return out


def _context(req: Req, set_name: str, *, entity: bool = False) -> str:
    return f"{req.base_url}$metadata#{set_name}{'/$entity' if entity else ''}"


def _next_link(req: Req, token: str) -> str:
    keep = [(k, v) for k, v in req.query if k not in ("$skip", "$skiptoken", "$top", "$count")]
    keep.append(("$skiptoken", token))
    qs = "&".join(f"{quote(k, safe='$-')}={quote(v, safe='')}" for k, v in keep)
    return f"{req.base_url}{req.path}?{qs}"


# --- JSON $batch ----------------------------------------------------------------------------------


class _Rollback(Exception):
    pass


def run_batch(service: BusinessCentral, req: Req) -> Reply:
    """``{"requests": [{"method", "id", "url", "headers", "body"}]}`` → ``{"responses": [{"id", "status",
    "headers", "body"}]}``; each operation runs through :meth:`BusinessCentral.handle`.

    Without ``Isolation: snapshot`` every operation stands alone and reports its own status. With
    it the batch is one transaction: at the first failure everything is rolled back, the failed
    operation reports its error and every other one 424 (presumed; the fact sheet says only that
    all changes roll back)."""
    body = _json(req)
    requests = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(requests, list) or not all(isinstance(r, dict) for r in requests):
        raise bad_request("The batch body must be a JSON object with a 'requests' array.")
    if len(requests) > MAX_BATCH_OPERATIONS:
        raise bad_request(f"The batch contains {len(requests)} operations; at most {MAX_BATCH_OPERATIONS} "
                          "operations are allowed in one batch request.", "BadRequest_BatchTooLarge")
    responses: list[dict[str, Any]] = []
    if req.headers.get("isolation", "").strip().lower() != "snapshot":
        responses = [_operation(service, req, r) for r in requests]
    else:
        try:
            with service.store.transaction():
                for r in requests:
                    responses.append(_operation(service, req, r))
                    if responses[-1]["status"] >= 400:
                        raise _Rollback
        except _Rollback:
            failed = responses[-1]["id"]
            rolled = BCError(424, "BatchRolledBack",
                             f"The batch ran with Isolation: snapshot and was rolled back: operation '{failed}' failed.")
            responses = [resp if resp["id"] == failed else
                         {"id": str(r.get("id", "")), "status": 424, "headers": {}, "body": rolled.body()}
                         for r, resp in zip(requests, responses + [{}] * (len(requests) - len(responses)))]
    return Reply.json(200, {"responses": responses})


def _operation(service: BusinessCentral, outer: Req, op: dict[str, Any]) -> dict[str, Any]:
    try:
        reply = service.handle(_inner_request(outer, op))  # handle() answers every refusal itself
    except BCError as err:  # an operation that names no request of this service
        reply = Reply.error(err)
    headers = {k: v for k, v in reply.headers.items()}
    if reply.media_type:
        headers["content-type"] = reply.media_type
    return {"id": str(op.get("id", "")), "status": reply.status, "headers": headers,
            "body": orjson.loads(reply.body) if reply.body else None}


def _inner_request(outer: Req, op: dict[str, Any]) -> Req:
    method, url = str(op.get("method", "")).upper(), op.get("url")
    if method not in ("GET", "POST", "PATCH", "DELETE") or not isinstance(url, str):
        raise bad_request(f"Operation '{op.get('id')}' needs a method (GET, POST, PATCH, DELETE) and a url.")
    parts = urlsplit(url)
    path = parts.path
    if ROOT + "/" in path:
        path = path.split(ROOT + "/", 1)[1]
    elif parts.scheme or path.startswith("/"):
        raise bad_request(f"The operation URL '{url}' does not belong to this service.")
    headers = {str(k).lower(): str(v) for k, v in (op.get("headers") or {}).items()}
    body = op.get("body")
    return Req(method=method, path=path, query=parse_qsl(parts.query, keep_blank_values=True), headers=headers,
               body=b"" if body is None else orjson.dumps(body), base_url=outer.base_url)


# --- concurrency and ASGI ---------------------------------------------------------------------------


class Gate:
    """At most ``limit`` requests served at once; up to ``queue`` more wait (longer than ``timeout``
    seconds → 503), further ones are refused (429). Bound to the running event loop lazily."""

    def __init__(self, limit: int = MAX_CONCURRENT, queue: int = QUEUE_SIZE, timeout: float = QUEUE_TIMEOUT):
        self.limit, self.queue, self.timeout = limit, queue, timeout
        self.active = self.admitted = self.peak = 0
        self._loop: Any = None
        self._sem: asyncio.Semaphore | None = None

    async def run(self, fn, *args):
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._sem, self.active, self.admitted = loop, asyncio.Semaphore(self.limit), 0, 0
        sem = self._sem
        assert sem is not None
        if self.admitted >= self.limit + self.queue:
            return Reply.error(BCError(429, "Application_TooManyRequests",
                                       f"Too many requests are waiting ({self.queue}); try again later."))
        self.admitted += 1  # served or waiting
        try:
            try:
                await asyncio.wait_for(sem.acquire(), self.timeout)
            except asyncio.TimeoutError:
                return Reply.error(BCError(503, "ServiceUnavailable",
                                           f"The request waited more than {self.timeout:g} seconds in the queue."))
            self.active += 1
            self.peak = max(self.peak, self.active)
            try:
                return await fn(*args)
            finally:
                self.active -= 1
                sem.release()
        finally:
            self.admitted -= 1


def create_app(store: Store, options: Any = None):
    """The ASGI app of the BC API; ``options`` may set ``bc_max_page`` and ``bc_max_concurrent``."""
    from starlette.concurrency import run_in_threadpool

    service = BusinessCentral(store, max_page=getattr(options, "bc_max_page", None) or MAX_PAGE_SIZE)
    gate = Gate(getattr(options, "bc_max_concurrent", None) or MAX_CONCURRENT)

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await odata_http.lifespan(receive, send)
        request = Request(scope, receive)
        raw = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        if not (raw == ROOT or raw.startswith(ROOT + "/")):
            reply = Reply.error(BCError(404, "BadRequest_NotFound", "No HTTP resource was found that matches the URI."))
        else:
            req = Req(method=request.method, path=raw[len(ROOT):].lstrip("/"),
                      query=parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True),
                      headers={k.lower(): v for k, v in request.headers.items()}, body=await request.body(),
                      base_url=f"{str(request.base_url).rstrip('/')}{ROOT}/")
            reply = await gate.run(run_in_threadpool, service.handle, req)
        response = Response(reply.body, reply.status, reply.headers | {"OData-Version": "4.0"}, reply.media_type)
        await response(scope, receive, send)

    app.service = service  # type: ignore[attr-defined]
    app.gate = gate  # type: ignore[attr-defined]
    return app
