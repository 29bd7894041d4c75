"""Lookup binding: ``<nav>@odata.bind`` by GUID (the default) or by alternate key.

The writeback models spell a lookup by its natural key, as an alternate-key URL
(``/accounts(accountnumber='A-1')``). Dataverse documents binding by GUID (``/accounts(<guid>)``);
binding to an alternate-key URL is not documented, and it needs the alternate key to exist and be
active on the tenant. So by default (``[writeback] lookup_binding = "guid"``) every such bind is
rewritten to the GUID before it is sent:

1. from the warehouse: ``crm_raw.<set>`` holds every record's GUID and natural key (one query per
   set and key column; a natural key held by two live records is left unresolved);
2. from the records this run has just created (their GUID came back in the write's response);
3. else one ``$filter`` query per chunk of keys against the CRM (:class:`RefResolver`).

A bind that resolves nowhere makes the record wait (``waiting``, naming the parent) for a later
run, rather than fail. ``lookup_binding = "alternate_key"`` sends the URLs as the models wrote them.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from p2c_core.warehouse import Connection, MissingTable
from reverse_etl.keys import GUID
from reverse_etl.operations import crm_primary_key
from reverse_etl.resolve import RefResolver

BINDINGS = ("guid", "alternate_key")
BIND_SUFFIX = "@odata.bind"
_BIND = re.compile(r"^/?(?P<set>[A-Za-z_]\w*)\((?P<key>.+)\)$")
_PART = re.compile(r"\s*(?P<name>[A-Za-z_]\w*)\s*=\s*'(?P<value>(?:[^']|'')*)'\s*(?:,|$)")


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

    def __init__(self, conn: Connection | None, resolver: RefResolver) -> None:
        self.conn = conn
        self.resolver = resolver

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
        pk = crm_primary_key(entity_set)
        try:
            rows = self.conn.execute(
                f'select "{column}", min("{pk}") from crm_raw."{entity_set}"'
                f' where not coalesce(_p2c_deleted, false) and "{column}" in (select unnest(?))'
                f' group by "{column}" having count(*) = 1',
                [sorted(values)],
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
