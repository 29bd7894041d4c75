"""Both systems' full state, read from the sandbox's stores, in a form two sandboxes can be compared in.

Server-assigned values that legitimately differ between two runs are normalised, and only those:

* GUIDs: a record p2c creates in the CRM gets a random GUID (``uuid4``), so every GUID — a primary
  key or a lookup — is replaced by the natural key of the record it names (its entity set and
  alternate key, resolved parents first); GUIDs of records neither side created (the demo data's,
  seeded) resolve the same way or stay as they are.
* Row versions and change stamps (``versionnumber``, ``modifiedon``, ETags, the store's own
  version column, F&O's ``ModifiedDateTime``/``OrderCreationDateTime``/``LastEditDateTime``): they count writes and clock time, not content.

Everything else (every business field of every row of every entity set) must be equal.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

from sandbox.schema import CRM_ENTITIES, ERP_ENTITIES

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
VOLATILE = {"versionnumber", "modifiedon", "createdon", "overriddencreatedon", "ModifiedDateTime",
            "CreatedDateTime", "_version", "_etag", "_deleted_version",
            "OrderCreationDateTime", "LastEditDateTime"}  # F&O stamps these with the server's clock


def _rows(db: Path, entity) -> list[dict[str, Any]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        conn.row_factory = sqlite3.Row
        table = entity.set_name
        try:
            return [dict(r) for r in conn.execute(f'select * from "{table}"')]
        except sqlite3.OperationalError:
            return []


def _natural(entity) -> tuple[str, ...]:
    if entity.alternate_keys:
        return entity.alternate_keys[0]
    return tuple(entity.key)


def snapshot(data_dir: Path) -> dict[str, dict[str, Any]]:
    """``{"crm:<set>": {"keys": Counter(natural key), "rows": sorted normalised rows}, "erp:<set>": …}``."""
    out: dict[str, dict[str, Any]] = {}
    guid_names: dict[str, str] = {}
    loaded = []
    for system, entities, db in (("crm", CRM_ENTITIES, data_dir / "crm.sqlite"), ("erp", ERP_ENTITIES, data_dir / "erp.sqlite")):
        for entity in entities:
            loaded.append((system, entity, _rows(db, entity)))
    # name every GUID by its record's natural key; lines' keys contain their parent's GUID, so
    # resolve in a few passes (parents first)
    for _ in range(3):
        for system, entity, rows in loaded:
            if system != "crm" or len(entity.key) != 1:
                continue
            for row in rows:
                guid = row.get(entity.key[0])
                if isinstance(guid, str) and GUID.match(guid):
                    nk = "|".join(str(guid_names.get(str(row.get(c)), row.get(c))) for c in _natural(entity))
                    guid_names[guid] = f"{entity.set_name}({nk})"

    def norm(value: Any) -> Any:
        if isinstance(value, str) and GUID.match(value):
            return guid_names.get(value, value)
        return value

    for system, entity, rows in loaded:
        keys: Counter = Counter()
        normalised = []
        for row in rows:
            clean = {k: norm(v) for k, v in row.items() if k not in VOLATILE and not k.startswith("@")}
            keys["|".join(str(clean.get(c)) for c in _natural(entity))] += 1
            normalised.append(clean)
        normalised.sort(key=lambda r: sorted((k, str(v)) for k, v in r.items()))
        out[f"{system}:{entity.set_name}"] = {"keys": keys, "rows": normalised}
    return out


def duplicates(snap: dict[str, dict[str, Any]]) -> dict[str, list[str]]:
    """Natural keys held twice, per entity set (rows without a key, planted by the demo, are not keys)."""
    dup = {}
    for name, s in snap.items():
        twice = [k for k, n in s["keys"].items() if n > 1 and "None" not in k.split("|")]
        if twice:
            dup[name] = twice
    return dup


def diff(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]], limit: int = 5) -> dict[str, Any]:
    """Per entity set, rows in one snapshot and not the other (empty: the systems hold the same)."""
    out = {}
    for name in sorted(set(a) | set(b)):
        ra = [repr(sorted(r.items())) for r in a.get(name, {}).get("rows", [])]
        rb = [repr(sorted(r.items())) for r in b.get(name, {}).get("rows", [])]
        ca, cb = Counter(ra), Counter(rb)
        only_a, only_b = list((ca - cb).elements()), list((cb - ca).elements())
        if only_a or only_b:
            out[name] = {"only_first": only_a[:limit], "only_second": only_b[:limit],
                         "counts": (len(only_a), len(only_b))}
    return out
