"""The Dataverse Web API (the CRM) at ``/api/data/v9.2/``.

``create_app(store, options)`` returns the ASGI app the sandbox server mounts (auth and faults are
wrapped around it by :mod:`sandbox.server`). Requests are handled by :class:`Dataverse`, a plain
request → reply function run in a worker thread, so ``$batch`` parts go through exactly the same
code as single requests, and a change set is one store transaction.

What it serves (see ``shared/api/dataverse.md``): GUID keys and alternate keys in URLs, lookups read
as ``_<name>_value`` and written as ``<nav>@odata.bind``; ``$select/$filter/$orderby/$top/$count``;
server-driven paging (``Prefer: odata.maxpagesize``, default and maximum 5000) with a paging cookie
in ``$skiptoken``; ``$skip`` refused; change tracking with delta links and ``$deletedEntity``;
create/update/upsert/delete with ``If-Match``/``If-None-Match``; ``$batch``; the service document,
``$metadata`` and ``EntityDefinitions``.
"""

from __future__ import annotations

import re
import sqlite3
import traceback
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, quote, unquote
from xml.etree import ElementTree as ET
from xml.sax.saxutils import quoteattr

import orjson

from sandbox import batch as batchmod
from sandbox import dataverse_metadata as md
from sandbox import dataverse_rules as rules
from sandbox import odata_http
from sandbox.chaos import chaos_for
from sandbox.dataverse_rules import NAMESPACE, DataverseError, bad
from sandbox.odata_query import QueryError, key_parts, parse_filter, parse_orderby, parse_select, parse_top
from sandbox.odata_http import Req
from sandbox.schema import CRM, Col, Entity
from sandbox.store import VERSION, DuplicateKey, NotFound, Store, VersionMismatch, q

PREFIX = "/api/data/v9.2/"
MAX_PAGE = 5000
CHANGE_TRACKING_DAYS = 7  # Organization.ExpireChangeTrackingInDays default
JSON_TYPE = "application/json; odata.metadata=minimal"
ODATA_HEADERS = {"OData-Version": "4.0"}
DELTA_MIN_META = "crm_delta_min_version"  # tokens below this version are expired (`expire-tokens`)

_QUERY_OPTIONS = {"$select", "$filter", "$orderby", "$top", "$count", "$skiptoken", "$deltatoken", "$expand",
                  "$apply", "$skip", "$search", "$format"}
_TRACKING_REFUSED = ("$filter", "$orderby", "$expand", "$top")
_DT_FORMAT = "%m/%d/%Y %H:%M:%S"


class Reply(odata_http.Reply):
    json_type = JSON_TYPE


def etag(version: int) -> str:
    return f'W/"{version}"'


def _etag_version(tag: str) -> int | None:
    m = re.fullmatch(r'\s*(?:W/)?"(\d+)"\s*', tag)
    return int(m.group(1)) if m else None


def _tag_matches(header: str, version: int) -> bool:
    """Whether one of an ``If-Match``/``If-None-Match`` header's ETags is the row's ``version``."""
    return any(_etag_version(t) == version for t in header.split(","))


# --- key predicates ---------------------------------------------------------------------------

_SEGMENT = re.compile(r"^(?P<name>[A-Za-z_$][\w$]*)(?:\((?P<key>.*)\))?$", re.S)


def _invalid_key(e: Entity) -> DataverseError:
    t = f"{NAMESPACE}.{e.type_name}"
    return bad(
        f"The key in the request URI is not valid for resource '{t}'. Ensure that the names and number of key "
        f"properties match the declared or alternate key properties for the resource '{t}'."
    )


def _key_value(col: Col, lit: str, quoted: bool) -> Any:
    if col.type == "guid":
        try:
            return str(uuid.UUID(lit))
        except ValueError:
            raise bad(f"'{lit}' is not a valid Guid for key property '{col.name}'.") from None
    if col.type in ("int", "bigint"):
        if quoted or not re.fullmatch(r"-?\d+", lit):
            raise bad(f"'{lit}' is not a valid Edm.Int32 for key property '{col.name}'.")
        return int(lit)
    if col.type == "decimal":
        try:
            return float(lit)
        except ValueError:
            raise bad(f"'{lit}' is not a valid Edm.Decimal for key property '{col.name}'.") from None
    if not quoted:
        raise bad(f"A string literal is expected for key property '{col.name}'.")
    return lit


@dataclass
class KeyRef:
    """A parsed URL key: by primary key (``values`` = {pk: guid}) or by an alternate key."""

    entity: Entity
    values: dict[str, Any]
    primary: bool

    def describe(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.values.items())


def parse_key(e: Entity, raw: str) -> KeyRef:
    parts = key_parts(unquote(raw))
    pk = e.key[0]
    if len(parts) == 1 and parts[0][0] is None:
        return KeyRef(e, {pk: _key_value(e.col(pk), parts[0][1], parts[0][2])}, True)
    names: dict[str, Any] = {}
    for name, lit, quoted in parts:
        if name is None:
            raise _invalid_key(e)
        col_name = name if name in e.names else f"_{name}_value"
        if col_name not in e.names or col_name in names:
            raise _invalid_key(e)
        names[col_name] = _key_value(e.col(col_name), lit, quoted)
    if set(names) == {pk}:
        return KeyRef(e, names, True)
    for ak in e.alternate_keys:
        if set(ak) == set(names):
            return KeyRef(e, {k: names[k] for k in ak}, False)
    raise _invalid_key(e)


# --- paging cookie ----------------------------------------------------------------------------


def _cookie_value(col_type: str, v: Any) -> str:
    if col_type == "guid":
        return "{" + str(v).upper() + "}"
    return str(v)


def _cookie_parse(col_type: str, text: str) -> Any:
    if col_type == "guid":
        return text.strip("{}").lower()
    if col_type in ("int", "bigint", "bool"):
        return int(text)
    if col_type == "decimal":
        return float(text)
    return text


def make_skiptoken(e: Entity, order: list[tuple[str, bool]], after: tuple, page: int,
                   tracking: dict[str, int] | None = None) -> str:
    """The ``$skiptoken`` cookie Dataverse documents: an outer cookie whose ``pagingcookie``
    holds (double URL-encoded) the last values of the sort columns."""
    attrs = "".join(f" {k}={quoteattr(str(v))}" for k, v in (tracking or {}).items())
    inner = [f'<cookie page="{page}"{attrs}>']
    for (col, _desc), v in zip(order, after):
        ctype = "bigint" if col == VERSION else e.col(col).type
        if v is None:
            inner.append(f'<{col} lastnull="1" />')
        else:
            inner.append(f"<{col} last={quoteattr(_cookie_value(ctype, v))} />")
    inner.append("</cookie>")
    paging = quote(quote("".join(inner), safe=""), safe="")
    return (f'<cookie pagenumber="{page + 1}" pagingcookie="{paging}" '
            f'istracking="{"True" if tracking else "False"}" />')


def read_skiptoken(e: Entity, order: list[tuple[str, bool]], token: str) -> tuple[tuple, int, dict[str, int]]:
    """(keyset after, page number of the next page, tracking attributes) from a ``$skiptoken``."""
    try:
        outer = ET.fromstring(token)
        inner = ET.fromstring(unquote(unquote(outer.attrib["pagingcookie"])))
        page = int(outer.attrib.get("pagenumber", "2"))
        tracking = {k: int(v) for k, v in inner.attrib.items() if k != "page"}
        children = list(inner)
        if [c.tag for c in children] != [c for c, _ in order]:
            raise ValueError("the paging cookie does not match the query's order")
        after = []
        for (col, _), el in zip(order, children):
            ctype = "bigint" if col == VERSION else e.col(col).type
            after.append(None if el.attrib.get("lastnull") else _cookie_parse(ctype, el.attrib["last"]))
        return tuple(after), page, tracking
    except (ET.ParseError, KeyError, ValueError):
        raise bad("The $skiptoken value is not valid. Use the @odata.nextLink the service returned, unchanged.") from None


def _link(req: Req, e: Entity, drop: tuple[str, ...], add: list[tuple[str, str]]) -> str:
    keep = [(k, v) for k, v in req.query if k not in drop] + add
    qs = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in keep)
    return f"{req.base_url}{e.set_name}" + (f"?{qs}" if qs else "")


# --- the service ------------------------------------------------------------------------------


class Dataverse:
    """One emulated Dataverse organisation over a store."""

    def __init__(self, store: Store, options: Any = None):
        self.store = store
        self.options = options
        self.chaos = chaos_for("crm", options)
        self.tracking_days = int(getattr(options, "extra", {}).get("change_tracking_days", CHANGE_TRACKING_DAYS)
                                 if options is not None else CHANGE_TRACKING_DAYS)
        self.catalog = md.customize(CRM, getattr(options, "without_columns", ""),
                                    getattr(options, "without_keys", ""), getattr(options, "untracked", ""))
        self._navs = {e.set_name: {nav: (col, target) for nav, col, target in md.navigations(e)}
                      for e in self.catalog.values()}

    # --- dispatch ---------------------------------------------------------------------------

    def handle(self, req: Req) -> Reply:
        try:
            reply = self._route(req)
        except DataverseError as err:
            reply = Reply.error(err)
        except QueryError as err:
            reply = Reply.error(bad(err.message))
        except sqlite3.OperationalError as err:  # a busy database beyond the timeout
            reply = Reply.error(DataverseError(503, "0x80040216", f"The database is busy: {err}"))
        except Exception as err:  # a sandbox bug: answer like the service does, and log it
            traceback.print_exc()
            reply = Reply.error(DataverseError(500, "0x80040216", f"An unexpected error occurred: {err!r}"))
        reply.headers.update(ODATA_HEADERS)
        return reply

    def _route(self, req: Req) -> Reply:
        path = req.path.strip("/")
        if path == "":
            self._method(req, "GET")
            return Reply.json(200, md.service_document(req.base_url))
        if path == "$metadata":
            self._method(req, "GET")
            return Reply(200, md.metadata_xml(tuple(self.catalog.values())), {}, "application/xml")
        if path == "$batch":
            self._method(req, "POST")
            return self._batch(req)
        segments = path.split("/")
        m = _SEGMENT.match(unquote(segments[0]) if "(" not in segments[0] else segments[0])
        if not m:
            raise self._no_segment(unquote(segments[0]))
        name, key_text = m.group("name"), m.group("key")
        if name == "EntityDefinitions":
            self._method(req, "GET")
            return self._entity_definitions(req, key_text, segments[1:])
        e = self.catalog.get(name)
        if e is None:
            raise self._no_segment(name)
        tail = [unquote(s) for s in segments[1:]]
        if key_text is None:
            if tail == ["$count"]:
                self._method(req, "GET")
                return self._count(req, e)
            if tail:
                raise self._no_segment(tail[0])
            if req.method == "GET":
                return self._collection(req, e)
            if req.method == "POST":
                return self._create(req, e)
            raise self._not_allowed(req)
        key = parse_key(e, key_text)
        if tail:
            if len(tail) != 1 or tail[0] not in e.names:
                raise self._no_segment(tail[0])
            return self._property(req, e, key, e.col(tail[0]))
        if req.method == "GET":
            return self._read(req, e, key)
        if req.method == "PATCH":
            return self._upsert(req, e, key)
        if req.method == "DELETE":
            return self._delete(req, e, key)
        raise self._not_allowed(req)

    @staticmethod
    def _no_segment(name: str) -> DataverseError:
        return DataverseError(404, rules.ODATA, f"Resource not found for the segment '{name}'.")

    @staticmethod
    def _not_allowed(req: Req) -> DataverseError:
        return DataverseError(405, rules.ODATA, f"The requested resource does not support http method '{req.method}'.")

    def _method(self, req: Req, *allowed: str) -> None:
        if req.method not in allowed:
            raise self._not_allowed(req)

    # --- rendering --------------------------------------------------------------------------

    def _context(self, req: Req, e: Entity, select: list[str] | None, suffix: str = "") -> str:
        cols = f"({','.join(select)})" if select else ""
        return f"{req.base_url}$metadata#{e.set_name}{cols}{suffix}"

    def _render(self, e: Entity, rows: list[dict[str, Any]], select: list[str] | None) -> list[dict[str, Any]]:
        names = self._out_names(e, select)
        return [{"@odata.etag": f'W/"{r[VERSION]}"', **{n: r[n] for n in names}} for r in rows]

    @staticmethod
    def _out_names(e: Entity, select: list[str] | None) -> list[str]:
        if select is None:
            return list(e.names)
        pk = e.key[0]
        return select + ([pk] if pk not in select else [])

    @staticmethod
    def _wanted_annotations(req: Req) -> list[str]:
        """The ``Prefer: odata.include-annotations`` list (``*`` = all, ``ns.*`` = a namespace)."""
        wanted = req.prefer().get("odata.include-annotations", "").strip().strip('"')
        return [w.strip() for w in wanted.split(",") if w.strip()]

    @staticmethod
    def _wants(patterns: list[str], term: str) -> bool:
        return any(p == "*" or p == term or (p.endswith(".*") and term.startswith(p[:-1])) for p in patterns)

    def _annotate(self, req: Req, e: Entity, out: list[dict[str, Any]]) -> str | None:
        """``Prefer: odata.include-annotations``: lookup target tables (what a client needs to tell
        an account from a contact behind ``_customerid_value``), navigation properties and
        formatted values, as asked. Returns the ``Preference-Applied`` value, or None."""
        patterns = self._wanted_annotations(req)
        if not patterns:
            return None
        logical = self._wants(patterns, rules.LOOKUP_LOGICAL)
        navigation = self._wants(patterns, rules.ASSOCIATED_NAV)
        formatted = self._wants(patterns, rules.FORMATTED)
        for c in e.columns:
            if c.lookup:
                ids = {r[c.name] for r in out if r.get(c.name)}
                names: dict[str, tuple[str, str]] = {}  # id -> (target set, primary name)
                for target in (c.targets or (c.lookup,)):
                    t = CRM[target]
                    if not ids:
                        break
                    shown = t.primary_name or t.key[0]
                    for row in self.store.fetch(
                            f"SELECT {q(t.key[0])} AS id, {q(shown)} AS name FROM {q(target)} "
                            f"WHERE {q(t.key[0])} IN ({','.join('?' * len(ids))})", list(ids)):
                        names[row["id"]] = (target, row["name"])
                for r in out:
                    v = r.get(c.name)
                    if v is None:
                        continue
                    target, name = names.get(v, (c.targets[0] if c.targets else c.lookup or "", None))
                    if formatted and name is not None:
                        r[f"{c.name}@{rules.FORMATTED}"] = str(name)
                    if navigation:
                        r[f"{c.name}@{rules.ASSOCIATED_NAV}"] = f"{c.nav}_{CRM[target].type_name}" if c.targets else c.nav
                    if logical:
                        r[f"{c.name}@{rules.LOOKUP_LOGICAL}"] = CRM[target].type_name
            elif formatted:
                for r in out:
                    v = r.get(c.name)
                    if v is not None and (text := _formatted(c, v)) is not None:
                        r[f"{c.name}@{rules.FORMATTED}"] = text
        return f'odata.include-annotations="{",".join(patterns)}"'

    # --- reads ------------------------------------------------------------------------------

    def _check_options(self, req: Req) -> None:
        for k, _ in req.query:
            if k.startswith("$") and k not in _QUERY_OPTIONS:
                raise bad(f"The query parameter {k} is not supported")
            if k in ("$skip", "$search", "$format", "$apply"):
                raise bad(f"The query parameter {k} is not supported")

    def _collection(self, req: Req, e: Entity) -> Reply:
        prefer = req.prefer()
        tracking = "odata.track-changes" in prefer
        if req.opt("$deltatoken") is not None or tracking:
            for opt in _TRACKING_REFUSED:
                if req.opt(opt) is not None:
                    raise bad(f'The "{opt}" query parameter isn\'t supported when Change Tracking is enabled.')
            if not e.change_tracking:
                raise bad(f"The entity '{e.type_name}' is not enabled for change tracking.")
        self._check_options(req)
        if req.opt("$deltatoken") is not None:
            return self._delta(req, e)
        select = parse_select(req.opt("$select"), e)
        filter_text = req.opt("$filter")
        where, params = parse_filter(filter_text, e, aliases=self._aliases(req)) if filter_text else (None, [])
        order = self.store.sort_columns(e, parse_orderby(req.opt("$orderby"), e))
        top = parse_top(req.opt("$top"))
        applied = []
        if "odata.maxpagesize" in prefer:
            try:
                size = max(1, min(int(prefer["odata.maxpagesize"]), MAX_PAGE))
            except ValueError:
                raise bad("The value of odata.maxpagesize must be a positive integer.") from None
            applied.append(f"odata.maxpagesize={size}")
            top = None  # $top is ignored when the page size is set
        else:
            size = MAX_PAGE
        if top is not None:
            size = min(top, MAX_PAGE)
        after, page_no, cookie = None, 1, {}
        token = req.opt("$skiptoken")
        if token is not None:
            after, page_no, cookie = read_skiptoken(e, order, token)
        snapshot = cookie.get("trackingversion") if tracking else None
        if tracking:
            applied.append("odata.track-changes")
            if snapshot is None:
                snapshot = self.store.current_version()
        columns = self._out_names(e, select)
        expanded = [self._navs[e.set_name][n][0].name for n in _expand_options(req.opt("$expand"))
                    if n in self._navs[e.set_name]]
        columns = columns + [c for c in expanded if c not in columns]
        page = self.store.query(e.set_name, where, params, order, size, after, columns) if size else None
        rows = page.rows if page else []
        out: dict[str, Any] = {"@odata.context": self._context(req, e, select)}
        if req.opt("$count") == "true":
            n = self.store.count(e.set_name, where, params)
            out["@odata.count"] = min(n, MAX_PAGE)
            if n > MAX_PAGE:
                out["@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"] = True
        out["value"] = self._render(e, rows, select)
        self._expand(req, e, rows, out["value"])
        if (annotated := self._annotate(req, e, out["value"])) is not None:
            applied.append(annotated)
        if self.chaos is not None:
            out["value"] = self.chaos.page(e.set_name, out["value"], prefer)
        if page is not None and page.after is not None and top is None:
            skip = make_skiptoken(e, order, page.after, page_no,
                                  {"trackingversion": snapshot} if tracking else None)
            out["@odata.nextLink"] = _link(req, e, ("$skiptoken",), [("$skiptoken", skip)])
        elif tracking:
            out["@odata.deltaLink"] = self._delta_link(req, e, snapshot)
        headers = {"Preference-Applied": ",".join(applied)} if applied else {}
        return Reply.json(200, out, headers)

    def _aliases(self, req: Req) -> dict[str, str]:
        return {k: v for k, v in req.query if k.startswith("@")}

    def _delta_link(self, req: Req, e: Entity, version: int) -> str:
        stamp = datetime.now(timezone.utc).strftime(_DT_FORMAT)
        keep = tuple(k for k, _ in req.query if k != "$select")
        return _link(req, e, keep, [("$deltatoken", f"{version}!{stamp}")])

    def _delta(self, req: Req, e: Entity) -> Reply:
        token = req.opt("$deltatoken") or ""
        m = re.fullmatch(r"(\d+)!(.+)", token)
        if not m:
            raise bad("The delta token is not valid. Use the @odata.deltaLink the service returned, unchanged.")
        since = int(m.group(1))
        try:
            issued = datetime.strptime(m.group(2), _DT_FORMAT).replace(tzinfo=timezone.utc)
        except ValueError:
            raise bad("The delta token is not valid. Use the @odata.deltaLink the service returned, unchanged.") from None
        expired = since < int(self.store.get_meta(DELTA_MIN_META, 0) or 0)
        expired |= issued < datetime.now(timezone.utc) - timedelta(days=self.tracking_days)
        if expired or since > self.store.current_version():
            raise bad("Version stamp associated with the client has expired. Please perform a full sync.",
                      rules.EXPIRED_VERSION)
        prefer = req.prefer()
        select = parse_select(req.opt("$select"), e)
        try:
            size = max(1, min(int(prefer.get("odata.maxpagesize", MAX_PAGE)), MAX_PAGE))
        except ValueError:
            raise bad("The value of odata.maxpagesize must be a positive integer.") from None
        order = self.store.sort_columns(e, [(VERSION, False)])
        after, page_no, cookie = None, 1, {}
        token_text = req.opt("$skiptoken")
        if token_text is not None:
            after, page_no, cookie = read_skiptoken(e, order, token_text)
        until = cookie.get("until") or self.store.current_version()
        where = f"{VERSION} > ? AND {VERSION} <= ?"
        page = self.store.query(e.set_name, where, [since, until], order, size, after, self._out_names(e, select))
        out: dict[str, Any] = {"@odata.context": self._context(req, e, select, "/$delta")}
        value = self._render(e, page.rows, select)
        if page.after is not None:
            out["value"] = value
            skip = make_skiptoken(e, order, page.after, page_no, {"until": until})
            out["@odata.nextLink"] = _link(req, e, ("$skiptoken",), [("$skiptoken", skip)])
        else:
            gone = self.store.changes_since(e.set_name, since, until).deleted
            ctx = f"{req.base_url}$metadata#{e.set_name}/$deletedEntity"
            value += [{"@odata.context": ctx, "id": d["key"][e.key[0]], "reason": "deleted"} for d in gone]
            out["value"] = value
            keep = tuple(k for k, _ in req.query if k != "$select")
            stamp = datetime.now(timezone.utc).strftime(_DT_FORMAT)
            out["@odata.deltaLink"] = _link(req, e, keep, [("$deltatoken", f"{until}!{stamp}")])
        applied = [f"odata.maxpagesize={size}"] if "odata.maxpagesize" in prefer else []
        if (annotated := self._annotate(req, e, [r for r in out["value"] if "reason" not in r])) is not None:
            applied.append(annotated)
        if self.chaos is not None:
            out["value"] = self.chaos.page(e.set_name, out["value"], prefer)
        return Reply.json(200, out, {"Preference-Applied": ",".join(applied)} if applied else {})

    def _count(self, req: Req, e: Entity) -> Reply:
        filter_text = req.opt("$filter")
        where, params = parse_filter(filter_text, e) if filter_text else (None, [])
        n = min(self.store.count(e.set_name, where, params), MAX_PAGE)
        return Reply(200, str(n).encode(), {}, "text/plain")

    def _find(self, key: KeyRef) -> dict[str, Any] | None:
        if key.primary:
            return self.store.get(key.entity.set_name, key.values)
        if any(v is None for v in key.values.values()):
            return None
        rows = self.store.find(key.entity.set_name, key.values)
        if len(rows) > 1:
            raise DataverseError(412, rules.DUPLICATE_KEY,
                                 f"More than one {key.entity.type_name} record matches the key {key.describe()}.")
        return rows[0] if rows else None

    def _missing(self, e: Entity, key: KeyRef) -> DataverseError:
        if key.primary:
            return DataverseError(404, "", f"{e.type_name} With Id = {key.values[e.key[0]]} Does Not Exist")
        return DataverseError(404, "", f"A record with the specified key values does not exist in {e.type_name} entity")

    def _read(self, req: Req, e: Entity, key: KeyRef) -> Reply:
        self._check_options(req)
        select = parse_select(req.opt("$select"), e)
        row = self._find(key)
        if row is None:
            raise self._missing(e, key)
        tag = etag(row[VERSION])
        inm = req.headers.get("if-none-match")
        if inm and inm != "null" and _tag_matches(inm, row[VERSION]):
            return Reply(304, b"", {"ETag": tag})
        out = {"@odata.context": self._context(req, e, select, "/$entity"), **self._render(e, [row], select)[0]}
        self._expand(req, e, [row], [out])
        headers = {"ETag": tag}
        if (annotated := self._annotate(req, e, [out])) is not None:
            headers["Preference-Applied"] = annotated
        return Reply.json(200, out, headers)

    def _expand(self, req: Req, e: Entity, rows: list[dict[str, Any]], out: list[dict[str, Any]]) -> None:
        """``$expand`` of single-valued navigation properties (lookups): the related row, as an object."""
        for nav, options in _expand_options(req.opt("$expand")).items():
            found = self._navs[e.set_name].get(nav)
            if found is None:
                if nav in self._navs_collection(e):
                    raise bad(f"Expanding the collection-valued navigation property '{nav}' is not supported here.")
                raise bad(f"Could not find a property named '{nav}' on type '{NAMESPACE}.{e.type_name}'.")
            col, target = found
            t = self.catalog[target]
            select = parse_select(options.get("$select"), t)
            ids = sorted({r[col.name] for r in rows if r.get(col.name)})
            related: dict[str, dict[str, Any]] = {}
            if ids:
                fetched = self.store.fetch(f"SELECT * FROM {q(target)} WHERE {q(t.key[0])} IN ({','.join('?' * len(ids))})", ids)
                related = {r[t.key[0]]: rendered for r, rendered in zip(fetched, self._render(t, fetched, select))}
            for r, o in zip(rows, out):
                o[nav] = related.get(r.get(col.name))

    def _navs_collection(self, e: Entity) -> set[str]:
        """Collection-valued navigation properties of ``e`` (the lookups other sets hold to it)."""
        return {f"{other.type_name}_{nav}" for other in self.catalog.values()
                for nav, (_col, target) in self._navs[other.set_name].items() if target == e.set_name}

    def _property(self, req: Req, e: Entity, key: KeyRef, col: Col) -> Reply:
        row = self._find(key)
        if row is None:
            raise self._missing(e, key)
        if req.method == "GET":
            return Reply.json(200, {"@odata.context": f"{req.base_url}$metadata#{e.set_name}({row[e.key[0]]})/{col.name}",
                                    "value": row[col.name]})
        if req.method in ("PUT", "DELETE"):
            if col.lookup or col.readonly or col.name in e.key:
                raise bad(f"The property '{col.name}' cannot be set this way.")
            value = None
            if req.method == "PUT":
                body = self._json(req)
                if not isinstance(body, dict) or "value" not in body:
                    raise bad("The request body must be {\"value\": …}.")
                value = body["value"]
            self._write(e, row, {col.name: rules.coerce(e, col, value)}, None)
            return Reply(204)
        raise self._not_allowed(req)

    # --- writes -----------------------------------------------------------------------------

    @staticmethod
    def _json(req: Req) -> Any:
        try:
            return orjson.loads(req.body or b"{}")
        except orjson.JSONDecodeError as exc:
            raise bad(f"Invalid JSON. {exc}") from None

    def _payload(self, req: Req, e: Entity) -> dict[str, Any]:
        """The request body as column values (binds resolved to GUIDs)."""
        body = self._json(req)
        if not isinstance(body, dict):
            raise bad("The request body must be a JSON object.")
        navs = self._navs[e.set_name]
        out: dict[str, Any] = {}
        names = set(e.names)
        for name, value in body.items():
            if name.endswith("@odata.bind"):
                nav = name[: -len("@odata.bind")]
                if nav not in navs:
                    raise bad(f"An undeclared property '{nav}' which only has property annotations in the payload "
                              "but no property value was found in the payload. In OData, only declared navigation "
                              "properties and declared named streams can be represented as properties without values.")
                col, target = navs[nav]
                out[col.name] = None if value is None else self._bind(req, target, value)
                continue
            if "@" in name:
                continue  # instance annotations (@odata.etag, @odata.type …)
            if name not in names:
                if name in navs:
                    raise bad(f"Deep insert through '{name}' is not supported by the sandbox; use {name}@odata.bind.")
                raise bad(f"The property '{name}' does not exist on type '{NAMESPACE}.{e.type_name}'. Make sure to "
                          "only use property names that are defined by the type or mark the type as open type.")
            col = e.col(name)
            if col.lookup:
                raise bad(f"Invalid property '{name}' was found in entity '{NAMESPACE}.{e.type_name}'. "
                          f"Set the lookup with {col.nav}@odata.bind.")
            if col.readonly:
                continue  # computed columns are ignored on write
            out[name] = rules.coerce(e, col, value)
        return out

    def _bind(self, req: Req, target: str, ref: Any) -> str:
        if not isinstance(ref, str):
            raise bad("The value of an @odata.bind annotation must be a URL string.")
        text = ref
        i = text.find(PREFIX)
        if i >= 0:
            text = text[i + len(PREFIX):]
        text = text.lstrip("/")
        m = _SEGMENT.match(text)
        if not m or m.group("key") is None:
            raise bad(f"The @odata.bind value '{ref}' is not an entity URL.")
        if m.group("name") != target:
            raise bad(f"The @odata.bind value '{ref}' does not refer to the entity set '{target}'.")
        t = self.catalog[target]
        key = parse_key(t, m.group("key"))
        row = self._find(key)
        if row is None:
            if key.primary:
                raise DataverseError(404, rules.NOT_EXIST, f"{t.type_name} With Id = {key.values[t.key[0]]} Does Not Exist")
            raise DataverseError(404, rules.NOT_EXIST,
                                 f"A record with the specified key values does not exist in {t.type_name} entity")
        return row[t.key[0]]

    def _check_alternate_keys(self, e: Entity, row_id: str | None, merged: dict[str, Any]) -> None:
        for ak in e.alternate_keys:
            vals = {k: merged.get(k) for k in ak}
            if any(v is None for v in vals.values()):
                continue
            clash = [r for r in self.store.find(e.set_name, vals) if r[e.key[0]] != row_id]
            if clash:
                cols = ", ".join(md.lookup_name(e.col(k)) for k in ak)
                raise DataverseError(
                    412, rules.DUPLICATE_KEY,
                    f"A record that has the attribute values {cols} already exists. The entity key "
                    f"{md.key_name(e, ak)} requires that this set of attributes contains unique values. Select "
                    "unique values and try again.",
                )

    def _defaults(self, e: Entity, data: dict[str, Any]) -> None:
        names = set(e.names)
        if "statecode" in names and rules.STATES.get(e.set_name) and data.get("statecode") is None:
            data.setdefault("statecode", 0)
        if "_ownerid_value" in names and data.get("_ownerid_value") is None:
            data["_ownerid_value"] = self.store.get_meta(rules.DEFAULT_OWNER_META)  # the calling user
        self._owning_business_unit(e, data)
        if e.set_name in rules.LINES:
            header_set = rules.LINES[e.set_name]
            header = self.store.get(header_set, data[rules.HEADER_LOOKUP[e.set_name]]) if data.get(
                rules.HEADER_LOOKUP[e.set_name]) else None
            if header is not None:
                if data.get("_transactioncurrencyid_value") is None:
                    data["_transactioncurrencyid_value"] = header["_transactioncurrencyid_value"]
                if data.get("priceperunit") is None and not data.get("ispriceoverridden") and data.get("_productid_value"):
                    price = self.store.fetch(
                        "SELECT amount FROM productpricelevels WHERE _pricelevelid_value IS ? AND _productid_value = ?",
                        [header["_pricelevelid_value"], data["_productid_value"]])
                    if price:
                        data["priceperunit"] = price[0]["amount"]
            if data.get("sequencenumber") is None and data.get(rules.HEADER_LOOKUP[e.set_name]):
                hl = rules.HEADER_LOOKUP[e.set_name]
                top = self.store.fetch(f"SELECT max(sequencenumber) AS n FROM {q(e.set_name)} WHERE {q(hl)} = ?",
                                       [data[hl]])
                data["sequencenumber"] = (top[0]["n"] or 0) + 1
                data.setdefault("lineitemnumber", data["sequencenumber"])

    def _owning_business_unit(self, e: Entity, data: dict[str, Any]) -> None:
        """A new or reassigned owner brings its business unit, unless the request sets
        ``owningbusinessunit`` too (modern business units: a record may live in another one)."""
        if "_owningbusinessunit_value" not in e.names or data.get("_owningbusinessunit_value") is not None:
            return
        if data.get("_ownerid_value"):
            owner = self.store.get("systemusers", data["_ownerid_value"])
            if owner is not None:
                data["_owningbusinessunit_value"] = owner["_businessunitid_value"]

    def _write(self, e: Entity, current: dict[str, Any] | None, changes: dict[str, Any],
               if_version: int | None) -> dict[str, Any]:
        """Create (``current`` None) or update one row with the service's rules, atomically."""
        with self.store.transaction():
            if current is None:
                self._defaults(e, changes)
            elif changes.get("_ownerid_value") and changes["_ownerid_value"] != current.get("_ownerid_value"):
                self._owning_business_unit(e, changes)  # an assign
            rules.check_state(e, current or {}, changes)
            rules.computed(e, current or {}, changes)
            merged = {**(current or {}), **changes}
            if current is None:
                rules.check_required(e, merged)
            elif any(k in changes and changes[k] in (None, "") for k in rules.REQUIRED.get(e.set_name, ())):
                rules.check_required(e, merged)
            row_id = current[e.key[0]] if current else merged.get(e.key[0])
            if e.alternate_keys and (current is None or any(k in changes for ak in e.alternate_keys for k in ak)):
                self._check_alternate_keys(e, row_id, merged)
            try:
                if current is None:
                    row = self.store.insert(e.set_name, changes)
                else:
                    row = self.store.update(e.set_name, current[e.key[0]], changes, if_version=if_version)
            except DuplicateKey:
                raise DataverseError(412, rules.DUPLICATE_ID, "A record with matching key values already exists.") from None
            except VersionMismatch:
                raise self._stale() from None
            self._after_line_change(e, current, row)
            return row

    def _after_line_change(self, e: Entity, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        """Recalculate the header totals of the quote/order/invoice whose lines changed (unless the
        header is maintained externally, i.e. by the ERP through the integration)."""
        if e.set_name not in rules.LINES:
            return
        hl = rules.HEADER_LOOKUP[e.set_name]
        header_set = rules.LINES[e.set_name]
        for hid in {r[hl] for r in (before, after) if r and r.get(hl)}:
            header = self.store.get(header_set, hid)
            if header is None or header.get("p2c_isexternallymaintained"):
                continue
            lines = self.store.fetch(
                f"SELECT baseamount, manualdiscountamount, tax FROM {q(e.set_name)} WHERE {q(hl)} = ?", [hid])
            totals = rules.header_totals(lines, header)
            if any(header.get(k) != v for k, v in totals.items()):
                self.store.update(header_set, hid, totals)

    @staticmethod
    def _stale() -> DataverseError:
        return DataverseError(412, "", "The version of the existing record doesn't match the RowVersion property provided.")

    def _representation(self, req: Req) -> bool:
        return req.prefer().get("return") == "representation"

    def _entity_reply(self, req: Req, e: Entity, row: dict[str, Any], status: int) -> Reply:
        select = parse_select(req.opt("$select"), e)
        out = {"@odata.context": self._context(req, e, select, "/$entity"), **self._render(e, [row], select)[0]}
        return Reply.json(status, out, {"ETag": etag(row[VERSION]), "Preference-Applied": "return=representation"})

    def _entity_id(self, req: Req, e: Entity, row: dict[str, Any]) -> str:
        return f"{req.base_url}{e.set_name}({row[e.key[0]]})"

    def _create(self, req: Req, e: Entity) -> Reply:
        data = self._payload(req, e)
        row = self._write(e, None, data, None)
        if self._representation(req):
            return self._entity_reply(req, e, row, 201)
        return Reply(204, b"", {"OData-EntityId": self._entity_id(req, e, row)})

    def _upsert(self, req: Req, e: Entity, key: KeyRef) -> Reply:
        data = self._payload(req, e)
        if_match = req.headers.get("if-match")
        if_none = req.headers.get("if-none-match")
        with self.store.transaction():
            current = self._find(key)
            if current is None:
                if if_match is not None:  # If-Match (even *) prevents create
                    raise self._missing(e, key)
                for k, v in key.values.items():  # body values win, else the URL's key values are copied
                    data.setdefault(k, v)
                row = self._write(e, None, data, None)
                created = True
            else:
                if if_none is not None and if_none.strip() == "*":
                    raise DataverseError(412, "", "A record with matching key values already exists.")
                version = None
                if if_match is not None and if_match.strip() != "*":
                    if not _tag_matches(if_match, current[VERSION]):
                        raise self._stale()
                    version = current[VERSION]
                if not key.primary:  # alternate-key columns are not changed by an upsert's update
                    for k in key.values:
                        data.pop(k, None)
                data.pop(e.key[0], None)
                row = self._write(e, current, data, version)
                created = False
        if self._representation(req):
            return self._entity_reply(req, e, row, 201 if created else 200)
        return Reply(204, b"", {"OData-EntityId": self._entity_id(req, e, row)})

    def _delete(self, req: Req, e: Entity, key: KeyRef) -> Reply:
        if_match = req.headers.get("if-match")
        with self.store.transaction():
            current = self._find(key)
            if current is None:
                raise self._missing(e, key)
            if if_match is not None and if_match.strip() != "*":
                if not _tag_matches(if_match, current[VERSION]):
                    raise self._stale()
            pk = current[e.key[0]]
            for line_set, header_set in rules.LINES.items():  # deleting a header deletes its lines
                if header_set == e.set_name:
                    hl = rules.HEADER_LOOKUP[line_set]
                    for ln in self.store.fetch(f"SELECT {q(CRM[line_set].key[0])} AS id FROM {q(line_set)} WHERE {q(hl)} = ?", [pk]):
                        self.store.delete(line_set, ln["id"])
            try:
                self.store.delete(e.set_name, pk)
            except NotFound:
                raise self._missing(e, key) from None
            self._after_line_change(e, current, None)
        return Reply(204)

    # --- $batch -----------------------------------------------------------------------------

    def _batch(self, req: Req) -> Reply:
        try:
            parts = batchmod.parse(req.body, req.headers.get("content-type", ""))
        except batchmod.BatchError as exc:
            raise bad(str(exc)) from None
        root = req.base_url
        origin = root[: -len(PREFIX) + 1] if root.endswith(PREFIX) else root

        def dispatch(sub: batchmod.SubRequest) -> batchmod.SubResponse:
            url = sub.url
            if url.startswith(root):
                url = url[len(root):]
            elif url.startswith(PREFIX):
                url = url[len(PREFIX):]
            elif url.startswith(origin):
                url = url[len(origin):].lstrip("/")
                url = url[len(PREFIX) - 1:] if url.startswith(PREFIX.lstrip("/")) else url
            path, _, qs = url.partition("?")
            headers = dict(req.headers)
            headers.pop("content-type", None)
            headers.pop("prefer", None)
            headers.update(sub.headers)
            inner = Req(sub.method, path, parse_qsl(qs, keep_blank_values=True), headers, sub.body, root)
            r = self.handle(inner)
            hdrs = {k.lower(): v for k, v in r.headers.items()}
            if r.media_type:
                hdrs["content-type"] = r.media_type + "; odata.streaming=true"
            if r.status == 204 and "odata-entityid" in hdrs:
                hdrs["location"] = hdrs["odata-entityid"]
            return batchmod.SubResponse(r.status, hdrs, r.body)

        def reference_error(ref: str) -> batchmod.SubResponse:
            err = bad(f"Content-ID Reference: '{ref}' does not exist in the batch context.")
            return batchmod.SubResponse(400, {"content-type": JSON_TYPE}, orjson.dumps(err.body()))

        continue_on_error = "odata.continue-on-error" in req.prefer()
        result = batchmod.execute(parts, dispatch, self.store.transaction,
                                  continue_on_error=continue_on_error,
                                  reference_error=reference_error)
        body, ctype = batchmod.build(result.parts)
        status = result.failed.status if result.failed is not None else 200
        headers = {"Preference-Applied": "odata.continue-on-error"} if continue_on_error else {}
        return Reply(status, body, headers, ctype)

    # --- EntityDefinitions ------------------------------------------------------------------

    def _entity_definitions(self, req: Req, key_text: str | None, tail: list[str]) -> Reply:
        ctx = f"{req.base_url}$metadata#EntityDefinitions"
        expand = _expand_options(req.opt("$expand"))
        if key_text is None:
            if tail:
                raise self._no_segment(tail[0])
            rows = [md.entity_definition(e) for e in self.catalog.values()]
            rows = _filter_dicts(rows, req.opt("$filter"), "EntityMetadata")
            select = _select_dicts(req.opt("$select"))
            return Reply.json(200, {"@odata.context": ctx + (f"({','.join(select)})" if select else ""),
                                    "value": [self._definition(r, select, expand) for r in rows]})
        parts = key_parts(unquote(key_text))
        e = None
        if len(parts) == 1 and parts[0][0] in ("LogicalName", None):
            name, lit, _ = parts[0]
            for cand in self.catalog.values():
                if (name == "LogicalName" and cand.type_name == lit) or (
                        name is None and md.entity_definition(cand)["MetadataId"] == lit.strip("{}").lower()):
                    e = cand
        if e is None:
            raise DataverseError(404, "0x80040217", f"Could not find entity with key {unquote(key_text)}.")
        if not tail:
            select = _select_dicts(req.opt("$select"))
            d = self._definition(md.entity_definition(e), select, expand)
            return Reply.json(200, {"@odata.context": f"{ctx}/$entity", **d})
        if tail[0] == "Attributes":
            rows = md.attribute_definitions(e)
            if len(tail) > 1:
                m = _SEGMENT.match(unquote(tail[1]))
                want = m and m.group("key") and key_parts(m.group("key"))
                rows = [r for r in rows if want and r["LogicalName"] == want[0][1]]
                if not rows:
                    raise DataverseError(404, "0x80040217", f"Could not find attribute {unquote(tail[1])}.")
                return Reply.json(200, {"@odata.context": f"{ctx}('{e.type_name}')/Attributes/$entity", **rows[0]})
            rows = _filter_dicts(rows, req.opt("$filter"), "AttributeMetadata")
            select = _select_dicts(req.opt("$select"))
            return Reply.json(200, {"@odata.context": f"{ctx}('{e.type_name}')/Attributes",
                                    "value": [_project(r, select) for r in rows]})
        if tail[0] == "Keys":
            rows = _filter_dicts(md.key_definitions(e), req.opt("$filter"), "EntityKeyMetadata")
            return Reply.json(200, {"@odata.context": f"{ctx}('{e.type_name}')/Keys",
                                    "value": [_project(r, _select_dicts(req.opt("$select"))) for r in rows]})
        raise self._no_segment(tail[0])

    def _definition(self, row: dict[str, Any], select: list[str] | None,
                    expand: dict[str, dict[str, str]]) -> dict[str, Any]:
        """An EntityMetadata row, projected, with its ``Attributes``/``Keys`` expanded as asked."""
        out = _project(row, select)
        e = self.catalog[row["EntitySetName"]]
        for nav, options in expand.items():
            if nav == "Attributes":
                rows, type_name = md.attribute_definitions(e), "AttributeMetadata"
            elif nav == "Keys":
                rows, type_name = md.key_definitions(e), "EntityKeyMetadata"
            else:
                raise bad(f"Could not find a property named '{nav}' on type 'Microsoft.Dynamics.CRM.EntityMetadata'.")
            rows = _filter_dicts(rows, options.get("$filter"), type_name)
            out[nav] = [_project(r, _select_dicts(options.get("$select"))) for r in rows]
        return out


def _split_top(text: str, sep: str) -> list[str]:
    """``text`` split on ``sep`` outside parentheses and quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and ch == sep:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _expand_options(text: str | None) -> dict[str, dict[str, str]]:
    """``$expand=A($select=x,y;$filter=…),B`` → {"A": {"$select": "x,y", "$filter": "…"}, "B": {}}."""
    out: dict[str, dict[str, str]] = {}
    for item in _split_top(text or "", ","):
        m = re.fullmatch(r"([A-Za-z_]\w*)\s*(?:\((.*)\))?", item, re.S)
        if not m:
            raise bad(f"Syntax error in $expand at '{item}'.")
        options: dict[str, str] = {}
        for opt in _split_top(m.group(2) or "", ";"):
            name, eq, value = opt.partition("=")
            if not eq or name.strip() not in ("$select", "$filter", "$orderby", "$top", "$expand"):
                raise bad(f"The query option '{name.strip()}' is not supported inside $expand.")
            options[name.strip()] = value.strip()
        out[m.group(1)] = options
    return out


def _formatted(col: Col, value: Any) -> str | None:
    """The ``FormattedValue`` of a non-lookup column (en-US, as the service formats for a user)."""
    if isinstance(value, bool) or col.type == "bool":
        return "Yes" if value else "No"
    if col.name == "statecode":
        return {0: "Active", 1: "Inactive"}.get(value, str(value))
    if col.name == "statuscode":
        return {1: "Active", 2: "Inactive"}.get(value, str(value))
    if col.type == "decimal":
        return f"{value:,.2f}"
    if col.type in ("int", "bigint"):
        return f"{value:,}" if not col.name.endswith("code") else str(value)
    if col.type == "datetime" and isinstance(value, str):
        try:
            t = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return f"{t.month}/{t.day}/{t.year} {t.hour % 12 or 12}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"
    if col.type == "date" and isinstance(value, str):
        return "/".join(str(int(p)) for p in (value[5:7], value[8:10])) + "/" + value[:4]
    return None


def _select_dicts(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [s.strip() for s in text.split(",") if s.strip()]


def _project(row: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    if select is None:
        return row
    return {"MetadataId": row["MetadataId"], **{k: row.get(k) for k in select}}


def _filter_dicts(rows: list[dict[str, Any]], text: str | None, type_name: str) -> list[dict[str, Any]]:
    """``$filter`` on metadata rows, through the same parser, on an in-memory SQLite table."""
    if not text:
        return rows
    scalar = {k: v for k, v in rows[0].items() if isinstance(v, (str, bool, int)) or v is None} if rows else {}
    cols = tuple(Col(k, "bool" if isinstance(v, bool) else "int" if isinstance(v, int) else "string")
                 for k, v in scalar.items())
    ent = Entity(type_name, type_name, ("MetadataId",), cols)
    where, params = parse_filter(text, ent)
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE t ({', '.join(q(c.name) + (' TEXT COLLATE NOCASE' if c.type == 'string' else '') for c in cols)}, i INTEGER)")
    db.executemany(f"INSERT INTO t VALUES ({', '.join('?' * (len(cols) + 1))})",
                   [[r.get(c.name) if not isinstance(r.get(c.name), (dict, list)) else None for c in cols] + [i]
                    for i, r in enumerate(rows)])
    keep = [i for (i,) in db.execute(f"SELECT i FROM t WHERE {where}", params)]
    db.close()
    return [rows[i] for i in keep]


# --- ASGI -------------------------------------------------------------------------------------


def create_app(store: Store, options: Any = None):
    """The ASGI app of the Dataverse Web API over ``store``."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import Response

    service = Dataverse(store, options)

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await odata_http.lifespan(receive, send)
        request = Request(scope, receive)
        raw = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        if not raw.startswith(PREFIX.rstrip("/")):
            reply = Reply.error(DataverseError(404, "", "Not found"))
        else:
            host = request.headers.get("host", "127.0.0.1")
            req = Req(
                method=request.method,
                path=raw[len(PREFIX):] if raw.startswith(PREFIX) else "",
                query=parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=await request.body(),
                base_url=f"{scope.get('scheme', 'http')}://{host}{PREFIX}",
            )
            reply = await run_in_threadpool(service.handle, req)
        response = Response(reply.body, reply.status, reply.headers, reply.media_type)
        await response(scope, receive, send)

    app.service = service  # type: ignore[attr-defined]
    return app
