"""Chaos mode (``p2c sandbox up --chaos [--seed N]``): pages of rows a robust reader must survive.

Real services send, now and then, rows no schema promised: a key that is null or missing, a value
of the wrong JSON type, a 10,000-character text, control characters, an unpaired UTF-16 surrogate,
an option-set or enum value nobody declared, a date out of any range, a column nobody asked for.
In chaos mode both servers corrupt a seeded, stable share of the rows of a few entity sets as they
serve them in pages (requests with ``Prefer: odata.maxpagesize``: bulk reads; single-record reads
and ``$filter`` lookups of a writeback stay clean); the stores are untouched, so writes and
If-Match behave as always. The same row is corrupted the same way on every read (the choice
hangs on seed, entity set and key), and every corrupted row is listed in ``chaos.json`` in the
data directory: system, entity set, key, natural key, kind and column.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import threading
from pathlib import Path
from typing import Any

CHAOS_FILE = "chaos.json"
RATE = 9  # one row in RATE of each chosen entity set
# kinds of damage; every kind but ``extra_column`` makes the row one p2c must quarantine
KINDS = ("null_key", "missing_key", "wrong_type", "long_text", "control_chars", "lone_surrogate",
         "unknown_value", "date_out_of_range", "extra_column")
BAD_KINDS = frozenset(KINDS) - {"extra_column"}
LONG_TEXT = "x" * 10_000

# per system and entity set: the key column, its natural key column, and the column each kind hits
# (with the wrong or unknown value it gets); a kind without a column falls back to ``wrong_type``.
# Keys are damaged where the key is a surrogate (Dataverse GUIDs): a row whose natural key is
# gone cannot be told from a record that is not there, by anyone (F&O keys are natural keys).
TARGETS: dict[str, dict[str, dict[str, Any]]] = {
    "crm": {
        "accounts": {"key": "accountid", "natural": "accountnumber", "text": "name",
                     "wrong_type": ("creditlimit", "twelve thousand"), "unknown_value": ("statecode", 7),
                     "date": "modifiedon"},
        "contacts": {"key": "contactid", "natural": "p2c_contactnumber", "text": "lastname",
                     "wrong_type": ("firstname", {"first": "Ann"}), "unknown_value": ("statecode", 5),
                     "date": "modifiedon"},
        "products": {"key": "productid", "natural": "productnumber", "text": "name",
                     "wrong_type": ("standardcost", [1, 2]), "unknown_value": ("statecode", 9),
                     "date": "modifiedon"},
    },
    "erp": {
        "CustomersV3": {"key": "CustomerAccount", "natural": "CustomerAccount", "text": "OrganizationName",
                        "wrong_type": ("CreditLimit", "lots"), "unknown_value": ("OnHoldStatus", "Sometimes"),
                        "date": None},
        "ReleasedProductsV2": {"key": "ItemNumber", "natural": "ItemNumber", "text": "ProductName",
                               "wrong_type": ("ProductName", 12345), "unknown_value": None, "date": None},
    },
}


class Chaos:
    """Corrupts rows of paged reads, deterministically, and keeps the list of what it did."""

    def __init__(self, system: str, seed: int | None, data_dir: Path) -> None:
        self.system = system
        self.seed = seed or 0
        self.path = Path(data_dir) / CHAOS_FILE
        self.lock = threading.Lock()

    def _draw(self, entity_set: str, key: Any) -> int:
        text = f"{self.seed}|{self.system}|{entity_set}|{key}".encode()
        return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")

    def page(self, entity_set: str, rows: list[dict[str, Any]], prefer: dict[str, str]) -> list[dict[str, Any]]:
        """``rows`` as served in chaos: a paged read of a chosen set gets a share of them damaged."""
        target = TARGETS[self.system].get(entity_set)
        if target is None or "odata.maxpagesize" not in prefer:
            return rows
        out, done = [], []
        for row in rows:
            key = row.get(target["key"])
            draw = self._draw(entity_set, key)
            if key is None or "reason" in row or draw % RATE:
                out.append(row)
                continue
            kind = KINDS[(draw // RATE) % len(KINDS)]
            damaged, kind, column = self._damage(dict(row), target, kind)
            out.append(damaged)
            done.append({"system": self.system, "entity_set": entity_set, "key": key,
                         "natural_key": row.get(target["natural"]), "kind": kind, "column": column,
                         "bad": kind in BAD_KINDS})
        if done:
            self._record(done)
        return out

    @staticmethod
    def _damage(row: dict[str, Any], target: dict[str, Any], kind: str) -> tuple[dict[str, Any], str, str]:
        if (kind == "unknown_value" and target["unknown_value"] is None or kind == "date_out_of_range" and not target["date"]
                or kind in ("null_key", "missing_key") and target["key"] == target["natural"]):
            kind = "wrong_type"
        if kind == "null_key":
            row[target["key"]] = None
            return row, kind, target["key"]
        if kind == "missing_key":
            row.pop(target["key"], None)
            return row, kind, target["key"]
        if kind in ("wrong_type", "unknown_value"):
            column, value = target[kind]
            row[column] = value
            return row, kind, column
        if kind == "date_out_of_range":
            row[target["date"]] = "0001-01-01T00:00:00Z"
            return row, kind, target["date"]
        if kind == "extra_column":
            row["p2c_chaos_unexpected"] = "a column nobody asked for"
            return row, kind, "p2c_chaos_unexpected"
        column = target["text"]
        text = str(row.get(column) or "name")
        row[column] = {"long_text": LONG_TEXT, "control_chars": text[:3] + "\x00\x07" + text[3:],
                       "lone_surrogate": text[:3] + "\ud800" + text[3:]}[kind]
        return row, kind, column

    def _record(self, done: list[dict[str, Any]]) -> None:
        """Add to ``chaos.json`` (one entry per damaged row and kind, whichever server wrote it)."""
        # both servers add to the one file, from their own threads (and processes): one at a time
        with self.lock, open(self.path.with_suffix(".lock"), "a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            try:
                known = json.loads(self.path.read_text())
            except (OSError, ValueError):
                known = []
            seen = {(d["system"], d["entity_set"], json.dumps(d["key"]), d["kind"]) for d in known}
            known += [d for d in done if (d["system"], d["entity_set"], json.dumps(d["key"]), d["kind"]) not in seen]
            tmp = self.path.with_suffix(f".{self.system}.tmp")
            tmp.write_text(json.dumps(known, indent=1))
            tmp.replace(self.path)


def chaos_for(system: str, options: Any) -> Chaos | None:
    """The server's chaos (``None`` unless ``options.chaos``)."""
    if not getattr(options, "chaos", False):
        return None
    return Chaos(system, getattr(options, "seed", None), Path(options.data_dir))
