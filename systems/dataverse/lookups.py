"""Finding Dataverse GUIDs: ``{"ref": …}`` key parts and ``@odata.bind`` lookups.

**References.** A writeback row may address a record through a lookup that is not known yet, e.g. a
quote line ``{"_quoteid_value": {"ref": "quotes", "key": {"quotenumber": "Q-1"}}, "sequencenumber":
1}``. Each referenced record's GUID is looked up once (:class:`RefResolver`): one ``$filter`` query
per chunk of alternate keys (``(a eq 'x') or (a eq 'y') …``), cached for the run, and fed directly
by records created in this run (their GUID comes back in the write's response), so a parent
created a moment ago costs no query at all.

**Lookup binding** (:class:`GuidBinder`). The writeback models spell a lookup by its natural key, as
an alternate-key URL (``/accounts(accountnumber='A-1')``). Dataverse documents binding by GUID
(``/accounts(<guid>)``); binding to an alternate-key URL is not documented, and it needs the
alternate key to exist and be active on the tenant. So by default (``[writeback] lookup_binding =
"guid"``) every such bind is rewritten to the GUID before it is sent:

1. from the warehouse: the raw table of the set holds every record's GUID and natural key (one
   query per set and key column; a natural key held by two live records is left unresolved);
2. from the records this run has just created (their GUID came back in the write's response);
3. else one ``$filter`` query per chunk of keys against the CRM (:class:`RefResolver`).

A bind that resolves nowhere makes the record wait (``waiting``, naming the parent) for a later
run, rather than fail. ``lookup_binding = "alternate_key"`` sends the URLs as the models wrote them.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable

from p2c_core.entity import DELETED_COLUMN
from p2c_core.keys import GUID, is_id_column
from p2c_core.odata import RequestFailed
from p2c_core.warehouse import Connection, MissingTable
from systems.system import Unresolved as Waiting

BIND_SUFFIX = "@odata.bind"
_BIND = re.compile(r"^/?(?P<set>[A-Za-z_]\w*)\((?P<key>.+)\)$")
_PART = re.compile(r"\s*(?P<name>[A-Za-z_]\w*)\s*=\s*'(?P<value>(?:[^']|'')*)'\s*(?:,|$)")
_ENTITY_ID = re.compile(r"\(([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)\s*$")


class Unresolved(Waiting):
    """A referenced record does not exist (yet) in the CRM."""

    def __init__(self, ref_set: str, key: dict) -> None:
        self.ref_set = ref_set
        self.key = key
        shown = ",".join(f"{k}={v}" for k, v in key.items())
        super().__init__(f"referenced {ref_set}({shown}) does not exist in the CRM")


def filter_eq(name: str, value: Any) -> str:
    """An ``eq`` clause for ``$filter`` (quotes doubled; encoded later by the URL builder)."""
    if isinstance(value, str) and not (GUID.match(value) and is_id_column(name)):
        return f"{name} eq '{value.replace(chr(39), chr(39) * 2)}'"
    if isinstance(value, bool):
        return f"{name} eq {'true' if value else 'false'}"
    return f"{name} eq {value}"


def guid_from_entity_id(url: str | None) -> str | None:
    """``…/accounts(00000000-…)`` (the ``OData-EntityId`` header) → the GUID."""
    m = _ENTITY_ID.search(url or "")
    return m.group(1).lower() if m else None


def _is_ref(value: Any) -> bool:
    return isinstance(value, dict) and "ref" in value and "key" in value


def _freeze(key: dict) -> tuple:
    return tuple(sorted((k, str(v)) for k, v in key.items()))


class RefResolver:
    def __init__(
        self,
        fetch: Callable[[str, dict], dict],
        primary_key: Callable[[str], str],
        chunk: int = 50,
    ) -> None:
        """``fetch(path, params)`` → JSON of a GET (retries are the caller's; it raises
        :class:`RequestFailed` when they are exhausted)."""
        self.fetch = fetch
        self.primary_key = primary_key
        self.chunk = chunk
        self.cache: dict[tuple[str, tuple], str | None] = {}
        # lookups the CRM did not answer in this run: the records that need them fail, the rest go on
        self.failed: dict[tuple[str, tuple], RequestFailed] = {}
        self.queries = 0

    def remember(self, ref_set: str, key: dict, guid: str) -> None:
        self.cache[(ref_set, _freeze(key))] = guid.lower()

    def _innermost(self, keys: Iterable[dict]) -> list[tuple[str, dict]]:
        found: list[tuple[str, dict]] = []

        def walk(key: dict) -> None:
            for v in key.values():
                if _is_ref(v):
                    inner = v["key"]
                    if any(_is_ref(x) for x in inner.values()):
                        walk(inner)
                    else:
                        found.append((v["ref"], inner))

        for k in keys:
            walk(k)
        return found

    def prefetch(self, keys: Iterable[dict]) -> None:
        """Look up every not-yet-cached reference in ``keys`` (nested references inner first)."""
        keys = list(keys)
        for _ in range(4):  # nesting depth of references in practice: 1, at most 2
            pending: dict[str, dict[tuple, dict]] = {}
            for ref_set, key in self._innermost(self.substitute_partial(k) for k in keys):
                known = (ref_set, _freeze(key))
                if known not in self.cache and known not in self.failed:
                    pending.setdefault(ref_set, {})[known[1]] = key
            if not pending:
                return
            for ref_set, by_frozen in pending.items():
                self._query(ref_set, list(by_frozen.values()))

    def _query(self, ref_set: str, keys: list[dict]) -> None:
        pk = self.primary_key(ref_set)
        for i in range(0, len(keys), self.chunk):
            chunk = keys[i : i + self.chunk]
            cols = sorted({c for k in chunk for c in k})
            clauses = [
                "(" + " and ".join(filter_eq(c, v) for c, v in sorted(k.items())) + ")" for k in chunk
            ]
            params = {"$select": ",".join([pk, *[c for c in cols if c != pk]]), "$filter": " or ".join(clauses)}
            self.queries += 1
            try:
                rows = self.fetch(ref_set, params).get("value", [])
            except RequestFailed as exc:
                self.failed.update({(ref_set, _freeze(k)): exc for k in chunk})
                continue
            for k in chunk:
                self.cache.setdefault((ref_set, _freeze(k)), None)
            for row in rows:
                for k in chunk:
                    if all(str(row.get(c)).lower() == str(v).lower() for c, v in k.items()):
                        self.cache[(ref_set, _freeze(k))] = str(row[pk]).lower()

    def substitute_partial(self, key: dict) -> dict:
        out = {}
        for name, value in key.items():
            if _is_ref(value):
                inner = self.substitute_partial(value["key"])
                guid = self.cache.get((value["ref"], _freeze(inner)))
                out[name] = guid if guid else {"ref": value["ref"], "key": inner}
            else:
                out[name] = value
        return out

    def substitute(self, key: dict) -> dict:
        """``key`` with every reference replaced by its GUID; :class:`Unresolved` if one is missing,
        the lookup's :class:`RequestFailed` if the CRM did not answer it."""
        out = self.substitute_partial(key)
        for value in out.values():
            if _is_ref(value):
                for ref_set, inner in self._innermost([{"ref": value}]):
                    if (ref_set, _freeze(inner)) in self.failed:
                        raise self.failed[(ref_set, _freeze(inner))]
                raise Unresolved(value["ref"], value["key"])
        return out


def alternate_key_bind(value: Any) -> tuple[str, dict[str, str]] | None:
    """``/accounts(accountnumber='A''1')`` → ``("accounts", {"accountnumber": "A'1"})``; None for a GUID bind."""
    if not isinstance(value, str):
        return None
    m = _BIND.match(value.strip())
    if not m or GUID.match(m.group("key").strip()):
        return None
    text, key, pos = m.group("key"), {}, 0
    while pos < len(text):
        part = _PART.match(text, pos)
        if not part:
            return None  # not a key of quoted strings: leave it to the service
        key[part.group("name")] = part.group("value").replace("''", "'")
        pos = part.end()
    return (m.group("set"), key) if key else None


def _binds(payload: dict) -> Iterable[tuple[str, str, dict[str, str]]]:
    for name, value in payload.items():
        if name.endswith(BIND_SUFFIX) and (found := alternate_key_bind(value)):
            yield name, *found


class GuidBinder:
    """Rewrites alternate-key binds of CRM payloads to GUID binds (see the module docstring)."""

    def __init__(self, conn: Connection | None, resolver: RefResolver, dataset: str) -> None:
        self.conn = conn
        self.resolver = resolver
        self.dataset = dataset  # the raw dataset the CRM role loads into

    def prefetch(self, payloads: Iterable[dict]) -> None:
        wanted: dict[tuple[str, str], set[str]] = {}
        refs: list[dict] = []
        for payload in payloads:
            for _name, entity_set, key in _binds(payload):
                refs.append({"bind": {"ref": entity_set, "key": key}})
                if len(key) == 1:
                    ((column, value),) = key.items()
                    wanted.setdefault((entity_set, column), set()).add(value)
        for (entity_set, column), values in wanted.items():
            self._from_warehouse(entity_set, column, values)
        self.resolver.prefetch(refs)  # only what neither the warehouse nor this run knows

    def _from_warehouse(self, entity_set: str, column: str, values: set[str]) -> None:
        if self.conn is None or not re.fullmatch(r"[a-z_][a-z0-9_]*", entity_set + column):
            return
        pk = self.resolver.primary_key(entity_set)
        wanted, value = self.conn.texts(sorted(values))
        try:
            rows = self.conn.execute(
                f'select "{column}", min("{pk}") from {self.dataset}."{entity_set}"'
                f' where not coalesce({DELETED_COLUMN}, false) and "{column}" in (select unnest({wanted}))'
                f' group by "{column}" having count(*) = 1',
                [value],
            ).fetchall()
        except MissingTable:  # not extracted, or no such column: the CRM is asked instead
            return
        for value, guid in rows:
            self.resolver.remember(entity_set, {column: value}, str(guid))

    def bind(self, payload: dict) -> dict:
        """``payload`` with each alternate-key bind as ``/<set>(<guid>)``; :class:`Unresolved` if one is unknown."""
        out = dict(payload)
        for name, entity_set, key in _binds(payload):
            guid = self.resolver.substitute({"bind": {"ref": entity_set, "key": key}})["bind"]
            out[name] = f"/{entity_set}({guid})"
        return out
