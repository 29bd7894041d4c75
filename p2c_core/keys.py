"""OData key literals: how a key part is written into a key URL (``set(a='x',b=1)``).

String literals double their quotes (OData ABNF) and are then percent-encoded, so spaces, ``#`` or
non-ASCII text travel safely in a request line (also inside ``$batch``); numbers, booleans, GUIDs
of id columns and date-times are bare. How a system addresses a record with them (a GUID, an
alternate key, a composite key company first) is the system's own: ``systems/<name>/writer.py``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import quote

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# F&O date-time key parts (InvoiceDate) are bare literals, not strings
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
# unreserved characters stay readable; the quote is legal in a path segment
_SAFE = "-_.~'"


class KeyValueError(ValueError):
    """A key value cannot be written into a key URL."""


def string_literal(value: str) -> str:
    """``O'Brien & Co`` → ``'O''Brien%20%26%20Co'`` (quotes doubled, then percent-encoded)."""
    return "'" + quote(value.replace("'", "''"), safe=_SAFE) + "'"


def literal(name: str, value: Any, *, guid_bare: bool = True) -> str:
    """One key part's literal: strings quoted, numbers/booleans/GUIDs/date-times bare."""
    if value is None:
        raise KeyValueError(f"key part {name} is empty")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    if not isinstance(value, str):
        raise KeyValueError(f"key part {name} has an unsupported value {value!r}")
    if guid_bare and GUID.match(value) and is_id_column(name):
        return value.lower()
    if _DATETIME.match(value):
        return value
    return string_literal(value)


def is_id_column(name: str) -> bool:
    # primary keys end in "id", lookup key parts are `_<name>_value`
    return name.endswith("id") or (name.startswith("_") and name.endswith("_value"))
