"""Key literals and key URLs for both services.

A record is addressed by a key segment: Dataverse ``accounts(<guid>)`` or an alternate key
``accounts(accountnumber='A''1')``; F&O the full composite key, company first,
``CustomersV3(dataAreaId='usmf',CustomerAccount='A-1')``. String literals double their quotes
(OData ABNF) and are then percent-encoded, so spaces, ``#`` or non-ASCII text travel safely in a
request line (also inside ``$batch``). Dataverse refuses some characters in alternate-key values
outright (``/ < > * % & : \\ ? +``); those are rejected here with a clear error instead of a
confusing 400/404 from the service.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Mapping
from urllib.parse import quote

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# F&O date-time key parts (InvoiceDate) are bare literals, not strings
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
# documented as unsupported in Dataverse alternate-key values
DATAVERSE_UNSUPPORTED = frozenset("/<>*%&:\\?+")
# unreserved characters stay readable; the quote is legal in a path segment
_SAFE = "-_.~'"


class KeyValueError(ValueError):
    """A key value cannot be written into a key URL."""


class UnsupportedKeyValue(KeyValueError):
    def __init__(self, field: str, value: str, chars: set[str]) -> None:
        shown = " ".join(sorted(chars))
        super().__init__(
            f"key value {field}={value!r} contains {shown}: Dataverse does not support these characters "
            "in alternate-key values; give the record a key without them or address it by its GUID"
        )
        self.field = field
        self.value = value


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
    if guid_bare and GUID.match(value) and _is_id_column(name):
        return value.lower()
    if _DATETIME.match(value):
        return value
    return string_literal(value)


def _is_id_column(name: str) -> bool:
    # primary keys end in "id", lookup key parts are `_<name>_value`
    return name.endswith("id") or (name.startswith("_") and name.endswith("_value"))


def crm_key_segment(entity_set: str, key: Mapping[str, Any]) -> str:
    """Dataverse key segment: ``accounts(<guid>)`` for a single primary key, else ``set(a=…,b=…)``."""
    if not key:
        raise KeyValueError(f"no key to address a record in {entity_set}")
    if len(key) == 1:
        ((name, value),) = key.items()
        if isinstance(value, str) and GUID.match(value) and name.endswith("id"):
            return f"{entity_set}({value.lower()})"
    parts = []
    for name, value in key.items():
        if isinstance(value, str) and not GUID.match(value):
            bad = set(value) & DATAVERSE_UNSUPPORTED
            if bad:
                raise UnsupportedKeyValue(name, value, bad)
        parts.append(f"{name}={literal(name, value)}")
    return f"{entity_set}({','.join(parts)})"


def erp_key_segment(collection: str, key: Mapping[str, Any]) -> str:
    """F&O key segment with every key part, ``dataAreaId`` first when present."""
    if not key:
        raise KeyValueError(f"no key to address a record in {collection}")
    ordered = sorted(key.items(), key=lambda kv: kv[0] != "dataAreaId")
    return f"{collection}({','.join(f'{n}={literal(n, v, guid_bare=False)}' for n, v in ordered)})"


def filter_eq(name: str, value: Any) -> str:
    """An ``eq`` clause for ``$filter`` (quotes doubled; encoded later by the URL builder)."""
    if isinstance(value, str) and not (GUID.match(value) and _is_id_column(name)):
        return f"{name} eq '{value.replace(chr(39), chr(39) * 2)}'"
    if isinstance(value, bool):
        return f"{name} eq {'true' if value else 'false'}"
    return f"{name} eq {value}"
