"""The Finance & Operations OData service (the ERP) at ``/data/``.

``create_app(store, options)`` returns the ASGI app the sandbox server mounts. Requests are
handled by :class:`FinOps`, a plain request → reply function, so that ``$batch`` runs its parts
through exactly the same code as single requests.

What the real service does and this one copies:
- collections are scoped to the caller's default company unless ``cross-company=true``; a URL key
  names its company (``CustomersV3(dataAreaId='demf',CustomerAccount='X')``) and is honoured;
- server-driven pages of at most 10,000 rows (a smaller ``Prefer: odata.maxpagesize`` is honoured),
  continued by ``@odata.nextLink``; pages are read by key ranges, never a whole table at once;
- weak ETags per row, ``If-Match`` on PATCH/PUT/DELETE (stale → 412);
- writes run the ERP's business logic (``sandbox.erp_logic``): amounts, tax, totals, statuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sandbox import finops_data as data
from sandbox import finops_logic, odata_http
from sandbox.chaos import chaos_for
from sandbox.finops_metadata import metadata_xml, service_document
from sandbox.finops_protocol import (
    NAMESPACE,
    WRITE_ERROR,
    ODataError,
    bad_request,
    check_payload,
    etag,
    format_key,
    if_match_ok,
    json_scalar,
    not_found,
    page_size,
    parse_key,
    split_resource,
    truthy,
)
from sandbox.odata_http import Req
from sandbox.schema import ERP, ERP_ENUMS, Entity

DEFAULT_COMPANY = "usmf"
ODATA_HEADERS = {"OData-Version": "4.0"}
JSON_TYPE = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"

# system query options F&O understands on a collection; others are refused
_COLLECTION_OPTIONS = {"$filter", "$select", "$orderby", "$top", "$skip", "$count", "$skiptoken", "$expand", "$format"}


class Reply(odata_http.Reply):
    json_type = JSON_TYPE


@dataclass
class FinOps:
    """One emulated F&O environment over a store."""

    store: Any
    default_company: str = DEFAULT_COMPANY
    chaos: Any = None  # sandbox.chaos.Chaos in chaos mode

    # --- dispatch -----------------------------------------------------------------------------

    def handle(self, req: Req) -> Reply:
        try:
            return self._route(req)
        except ODataError as err:
            return Reply.error(err)

    def _route(self, req: Req) -> Reply:
        path = req.path.strip("/")
        if path == "":
            self._method(req, "GET")
            return Reply.json(200, service_document(req.base_url))
        if path == "$metadata":
            self._method(req, "GET")
            return Reply(200, metadata_xml(), {}, "application/xml")
        if path == "$batch":
            self._method(req, "POST")
            from sandbox.finops_batch import run_batch

            return run_batch(self, req)
        head, _, tail = path.partition("/")
        set_name, key_text = split_resource(head)
        entity = ERP.get(set_name)
        if entity is None:
            raise ODataError(404, f"Resource not found for the segment '{set_name}'.")
        if key_text is None:
            if tail == "$count":
                self._method(req, "GET")
                return self._count(req, entity)
            if tail:
                raise bad_request(f"Resource not found for the segment '{unquote(tail)}'.")
            if req.method == "GET":
                return self._collection(req, entity)
            self._method(req, "POST")
            return self._create(req, entity)
        key = parse_key(entity, key_text)
        if entity.company:
            key["dataAreaId"] = key["dataAreaId"].lower()
        if tail:
            self._method(req, "GET")
            return self._property(req, entity, key, unquote(tail))
        if req.method == "GET":
            return self._read(req, entity, key)
        if req.method in ("PATCH", "PUT", "MERGE"):
            return self._update(req, entity, key, replace=req.method == "PUT")
        self._method(req, "DELETE")
        return self._delete(req, entity, key)

    @staticmethod
    def _method(req: Req, *allowed: str) -> None:
        if req.method not in allowed:
            raise ODataError(405, f"The requested resource does not support http method '{req.method}'.")

    # --- reads ----------------------------------------------------------------------------------

    def _scope(self, req: Req, entity: Entity) -> str | None:
        """The company a collection read is limited to (None: every company)."""
        if not entity.company or truthy(req.opt("cross-company")):
            return None
        return self.default_company

    def _collection(self, req: Req, entity: Entity) -> Reply:
        for name, _ in req.query:
            if name.startswith("$") and name not in _COLLECTION_OPTIONS:
                raise bad_request(f"The query parameter '{name}' is not supported.")
        if req.opt("$expand"):
            raise bad_request(
                f"Could not find a property named '{req.opt('$expand')}' on type '{NAMESPACE}.{entity.type_name}'."
            )
        select = data.parse_select(entity, req.opt("$select"))
        query = data.Query.build(
            entity,
            filter_text=req.opt("$filter"),
            orderby_text=req.opt("$orderby"),
            company=self._scope(req, entity),
        )
        top = data.parse_int(req.opt("$top"), "$top")
        skip = data.parse_int(req.opt("$skip"), "$skip") or 0
        prefer = req.prefer()
        size = page_size(prefer)
        token = req.opt("$skiptoken")
        # a next link carries the cursor and what is left of $top; $skip applies to the first page only
        after, remaining = (None, top) if token is None else _decode_token(token)
        limit = size if remaining is None else min(size, remaining)
        rows = self.store_page(
            entity, query, after=after, skip=skip if token is None else 0, limit=limit + 1, columns=select
        )
        more = len(rows) > limit
        rows = rows[:limit]
        body: dict[str, Any] = {"@odata.context": _context(req, entity, select)}
        if truthy(req.opt("$count")):
            body["@odata.count"] = self.store_count(entity, query)
        body["value"] = [_render(entity, r, select) for r in rows]
        if self.chaos is not None:
            body["value"] = self.chaos.page(entity.set_name, body["value"], prefer)
        left = None if remaining is None else remaining - len(rows)
        if more and rows and (left is None or left > 0):
            next_token = odata_http.encode_cursor(query.cursor(rows[-1]), left)
            body["@odata.nextLink"] = _next_link(req, entity, next_token)
        headers = {}
        if "odata.maxpagesize" in prefer:
            headers["Preference-Applied"] = f"odata.maxpagesize={size}"
        return Reply.json(200, body, headers)

    def _count(self, req: Req, entity: Entity) -> Reply:
        query = data.Query.build(entity, filter_text=req.opt("$filter"), company=self._scope(req, entity))
        return Reply(200, str(self.store_count(entity, query)).encode(), {}, "text/plain")

    def _load(self, entity: Entity, key: dict[str, Any]) -> dict[str, Any]:
        row = self.store_get(entity, key)
        if row is None:
            raise not_found(entity)
        return row

    def _read(self, req: Req, entity: Entity, key: dict[str, Any]) -> Reply:
        select = data.parse_select(entity, req.opt("$select"))
        row = self._load(entity, key)
        body = {"@odata.context": _context(req, entity, select, entity_only=True)} | _render(entity, row, select)
        return Reply.json(200, body, {"ETag": etag(row[data.VERSION])})

    def _property(self, req: Req, entity: Entity, key: dict[str, Any], prop: str) -> Reply:
        if prop not in entity.names:
            raise bad_request(f"Resource not found for the segment '{prop}'.")
        row = self._load(entity, key)
        ctx = f"{req.base_url}$metadata#{entity.set_name}({format_key(entity, key)})/{prop}"
        return Reply.json(200, {"@odata.context": ctx, "value": json_scalar(entity.col(prop), row.get(prop))})

    # --- writes ---------------------------------------------------------------------------------

    def _body(self, req: Req) -> Any:
        try:
            return orjson.loads(req.body or b"null")
        except orjson.JSONDecodeError:
            raise bad_request("The request body is not valid JSON.") from None

    def _create(self, req: Req, entity: Entity) -> Reply:
        values = check_payload(entity, self._body(req), creating=True)
        if entity.company:
            values["dataAreaId"] = (values.get("dataAreaId") or self.default_company).lower()
            self._check_company(values["dataAreaId"])
        with self.store_transaction():
            key = {k: values[k] for k in entity.key}
            if self.store_get(entity, key) is not None:
                raise ODataError(
                    400,
                    f"Write failed for table row of type '{entity.type_name}'. Infolog: Cannot create a record in "
                    f"{entity.set_name}. {', '.join(f'{k}: {v}' for k, v in key.items())}. The record already exists.",
                    inner_type=WRITE_ERROR,
                )
            values = finops_logic.run("create", self, entity, None, values)
            row = self.store_insert(entity, values)
            finops_logic.run("created", self, entity, None, row)
            row = self.store_get(entity, key) or row
        location = f"{req.base_url}{entity.set_name}({format_key(entity, row)})"
        headers = {"Location": location, "OData-EntityId": location, "ETag": etag(row[data.VERSION])}
        if req.prefer().get("return") == "minimal":
            return Reply(204, b"", headers | {"Preference-Applied": "return=minimal"})
        body = {"@odata.context": _context(req, entity, None, entity_only=True)} | _render(entity, row, None)
        return Reply.json(201, body, headers)

    def _check_company(self, company: str) -> None:
        # keys compare case-insensitively, as on SQL Server
        if self.store_get(ERP["LegalEntities"], {"LegalEntityId": company}) is None:
            raise ODataError(400, f"Company '{company}' does not exist.", inner_type=WRITE_ERROR)

    def _update(self, req: Req, entity: Entity, key: dict[str, Any], *, replace: bool) -> Reply:
        values = check_payload(entity, self._body(req), creating=False)
        for k in entity.key:
            if k in values and values[k] != key[k] and not (k == "dataAreaId" and str(values[k]).lower() == key[k]):
                raise bad_request(f"Key field '{k}' cannot be changed. Delete the record and create a new one.")
            values.pop(k, None)
        if replace:
            values = {c.name: None for c in entity.columns if not c.readonly and c.name not in entity.key} | values
        with self.store_transaction():
            before = self._load(entity, key)
            _check_if_match(req, before)
            values = finops_logic.run("update", self, entity, before, values)
            self.store_update(entity, key, values)
            after = self._load(entity, key)
            finops_logic.run("updated", self, entity, before, after)
            after = self._load(entity, key)
        return Reply(204, b"", {"ETag": etag(after[data.VERSION])})

    def _delete(self, req: Req, entity: Entity, key: dict[str, Any]) -> Reply:
        with self.store_transaction():
            before = self._load(entity, key)
            _check_if_match(req, before)
            finops_logic.run("delete", self, entity, before, None)
            self.store_delete(entity, key)
            finops_logic.run("deleted", self, entity, before, None)
        return Reply(204)

    # --- the store, through one narrow seam ---------------------------------------------------

    def store_page(self, entity: Entity, query: data.Query, *, after, skip: int, limit: int, columns=None) -> list[dict]:
        return data.page(self.store, entity, query, after=after, skip=skip, limit=limit, columns=columns)

    def store_count(self, entity: Entity, query: data.Query) -> int:
        return data.count(self.store, entity, query)

    def store_get(self, entity: Entity, key: dict[str, Any]) -> dict[str, Any] | None:
        return data.get(self.store, entity, key)

    def store_insert(self, entity: Entity, values: dict[str, Any]) -> dict[str, Any]:
        return data.insert(self.store, entity, values)

    def store_update(self, entity: Entity, key: dict[str, Any], values: dict[str, Any]) -> None:
        data.update(self.store, entity, key, values)

    def store_delete(self, entity: Entity, key: dict[str, Any]) -> None:
        data.delete(self.store, entity, key)

    def store_transaction(self):
        return data.transaction(self.store)


# --- helpers ------------------------------------------------------------------------------------


def _check_if_match(req: Req, row: dict[str, Any]) -> None:
    if not if_match_ok(req.headers.get("if-match"), row[data.VERSION]):
        raise ODataError(
            412,
            "The ETag value in the request header does not match the current ETag value of the object.",
            code="",
            inner_type="Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataConcurrencyException",
        )


@lru_cache(maxsize=256)
def _layout(set_name: str, select: tuple[str, ...] | None) -> tuple[str, ...]:
    """The columns a row shows, in the catalogue's order."""
    return tuple(c.name for c in ERP[set_name].columns if select is None or c.name in select)


# X++ has no null: every field holds a value, and one value per type counts as empty ("Null Values
# for Data Types"; the ER function NULLDATE: 1 January 1900). The service sends that value, never
# null: '' for text, 0 for numbers, the enum's first member, 1900-01-01 for dates (as a
# DateTimeOffset at noon UTC, how date fields travel in OData).
EMPTY_DATE = "1900-01-01T12:00:00Z"


@lru_cache(maxsize=None)
def _empties(set_name: str) -> dict[str, Any]:
    """Column → the value F&O sends when the field is empty."""
    out: dict[str, Any] = {}
    for c in ERP[set_name].columns:
        if c.type in ("int", "bigint", "decimal"):
            out[c.name] = 0
        elif c.type in ("date", "datetime"):
            out[c.name] = EMPTY_DATE
        elif c.type == "enum" and c.enum in ERP_ENUMS:
            out[c.name] = ERP_ENUMS[c.enum][0]
        elif c.type == "bool":
            out[c.name] = False
        else:
            out[c.name] = ""
    return out


def _render(entity: Entity, row: dict[str, Any], select: tuple[str, ...] | None) -> dict[str, Any]:
    # hot path (10,000 rows a page): the store already returns JSON-ready values
    out: dict[str, Any] = {"@odata.etag": etag(row[data.VERSION])}
    empties = _empties(entity.set_name)
    for name in _layout(entity.set_name, select):
        value = row.get(name)
        out[name] = empties[name] if value is None else value
    return out


def _context(req: Req, entity: Entity, select, *, entity_only: bool = False) -> str:
    sel = f"({','.join(select)})" if select else ""
    return f"{req.base_url}$metadata#{entity.set_name}{sel}{'/$entity' if entity_only else ''}"


def _decode_token(token: str) -> tuple[list[Any], int | None]:
    decoded = odata_http.decode_cursor(token)
    if decoded is None:
        raise bad_request("The $skiptoken is not valid.")
    return decoded


def _next_link(req: Req, entity: Entity, token: str) -> str:
    keep = [(k, v) for k, v in req.query if k not in ("$skip", "$skiptoken", "$top", "$count")]
    keep.append(("$skiptoken", token))
    qs = "&".join(f"{quote(k, safe='$-')}={quote(v, safe='')}" for k, v in keep)
    return f"{req.base_url}{entity.set_name}?{qs}"


# --- ASGI -----------------------------------------------------------------------------------------


def create_app(store: Any, options: Any = None):
    """The ASGI app of the F&O service; ``options.default_company`` is the caller's company."""
    service = FinOps(store, default_company=getattr(options, "default_company", None) or DEFAULT_COMPANY,
                     chaos=chaos_for("erp", options))

    from starlette.concurrency import run_in_threadpool

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await odata_http.lifespan(receive, send)
        request = Request(scope, receive)
        raw = scope.get("raw_path") or scope["path"].encode()
        raw_path = raw.decode("latin-1").split("?", 1)[0]
        root = scope.get("root_path", "")
        if root and raw_path.startswith(root):
            raw_path = raw_path[len(root) :]
        if not raw_path.startswith("/data"):
            reply = Reply.error(ODataError(404, "Not found"))
        else:
            req = Req(
                method=request.method,
                path=raw_path[len("/data") :].lstrip("/"),
                query=parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=await request.body(),
                base_url=f"{str(request.base_url).rstrip('/')}/data/",
            )
            reply = await run_in_threadpool(service.handle, req)
        response = Response(reply.body, reply.status, reply.headers | ODATA_HEADERS, reply.media_type)
        await response(scope, receive, send)

    app.service = service  # type: ignore[attr-defined]  # tests and $batch reach the service
    return app
