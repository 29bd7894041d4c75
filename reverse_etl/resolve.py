"""Resolving ``{"ref": …}`` key parts to Dataverse GUIDs.

A writeback row may address a record through a lookup that is not known yet, e.g. a quote line
``{"_quoteid_value": {"ref": "quotes", "key": {"quotenumber": "Q-1"}}, "sequencenumber": 1}``.
Each referenced record's GUID is looked up once: one ``$filter`` query per chunk of alternate keys
(``(a eq 'x') or (a eq 'y') …``), cached for the run, and fed directly by records created in this
run (their GUID comes back in the write's response), so a parent created a moment ago costs no
query at all.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterable

from reverse_etl.executor import RequestFailed
from reverse_etl.keys import filter_eq

_ENTITY_ID = re.compile(r"\(([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)\s*$")


class Unresolved(LookupError):
    """A referenced record does not exist (yet) in the CRM."""

    def __init__(self, ref_set: str, key: dict) -> None:
        self.ref_set = ref_set
        self.key = key
        shown = ",".join(f"{k}={v}" for k, v in key.items())
        super().__init__(f"referenced {ref_set}({shown}) does not exist in the CRM")


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

