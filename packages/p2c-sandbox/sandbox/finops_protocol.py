"""The F&O OData protocol details that need no storage: keys in URLs, ETags, payload checks, errors.

Finance & Operations addresses a row by its full composite key, company first
(``CustomersV3(dataAreaId='usmf',CustomerAccount='US-001')``); string literals are quoted with
``''`` as the escaped quote, numbers and date-times are bare. Rows carry weak ETags whose opaque
value is base64 of ``'1,<row version>'`` (the shape community payloads show). Writes run through
the entity's field checks: unknown properties, read-only (computed) fields and values of the wrong
type are refused with an OData error body before anything is stored.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import unquote

from sandbox.odata_query import EDM, QueryError, key_parts
from sandbox.schema import ERP_ENUMS, Col, Entity

NAMESPACE = "Microsoft.Dynamics.DataEntities"
MAX_PAGE_SIZE = 10_000  # F&O's server-driven page size limit
MAX_BATCH_OPERATIONS = 5_000  # service protection: operations per $batch

# innererror types the real service reports, so clients that log them see familiar names
READ_ERROR = "Microsoft.OData.ODataException"
WRITE_ERROR = "Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException"
NOT_FOUND_ERROR = "Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataObjectNotFoundException"


@dataclass
class ODataError(Exception):
    """A refusal, rendered as the OData v4 error body F&O sends."""

    status: int
    message: str
    code: str = ""
    inner_type: str = READ_ERROR
    inner: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.message}"

    def body(self) -> dict[str, Any]:
        # F&O leaves `code` empty and repeats the detail in innererror
        inner = {"message": self.message, "type": self.inner_type, "stacktrace": ""}
        inner.update(self.inner)
        return {"error": {"code": self.code, "message": self._outer(), "innererror": inner}}

    def _outer(self) -> str:
        if self.status == 404:
            return "No HTTP resource was found that matches the request URI."
        if self.status >= 500:
            return "An error has occurred."
        return self.message


def bad_request(message: str, inner_type: str = READ_ERROR) -> ODataError:
    return ODataError(400, message, inner_type=inner_type)


def not_found(entity: Entity) -> ODataError:
    return ODataError(404, f"Resource not found for the segment '{entity.set_name}'.", inner_type=NOT_FOUND_ERROR)


# --- keys -------------------------------------------------------------------------------------

_KEY_PATH = re.compile(r"^(?P<set>[A-Za-z_][A-Za-z0-9_]*)(?:\((?P<key>.*)\))?$", re.S)


def split_resource(segment: str) -> tuple[str, str | None]:
    """``CustomersV3(dataAreaId='usmf',…)`` → (``CustomersV3``, the raw key text or None).

    ``segment`` is still percent-encoded: a quote or comma inside a key value may arrive encoded,
    so the key is decoded only after it is split into its parts."""
    m = _KEY_PATH.match(segment)
    if not m:
        raise bad_request(f"Resource not found for the segment '{unquote(segment)}'.")
    return m.group("set"), m.group("key")


def parse_key(entity: Entity, raw: str) -> dict[str, Any]:
    """The typed values of a URL key predicate; every key field must be given exactly once."""
    try:
        parts = key_parts(unquote(raw))
    except QueryError as exc:
        raise bad_request(exc.message) from None
    if len(parts) == 1 and parts[0][0] is None and len(entity.key) == 1:
        parts = [(entity.key[0], parts[0][1], parts[0][2])]
    values: dict[str, Any] = {}
    for name, lit, quoted in parts:
        if name is None or name not in entity.key:
            raise bad_request(
                f"The key in the request URI is not valid for resource '{NAMESPACE}.{entity.type_name}'. "
                f"Key fields: {', '.join(entity.key)}."
            )
        if name in values:
            raise bad_request(f"Duplicate key property '{name}' in the request URI.")
        values[name] = _key_literal(entity.col(name), lit, quoted)
    missing = [k for k in entity.key if k not in values]
    if missing:
        raise bad_request(
            f"The number of keys specified in the URI does not match number of key properties for the "
            f"resource '{NAMESPACE}.{entity.type_name}'. Missing: {', '.join(missing)}."
        )
    return values


def _key_literal(col: Col, lit: str, quoted: bool) -> Any:
    if col.type in ("string", "guid") or col.type == "enum":
        if not quoted:
            raise bad_request(f"A string literal is expected for key property '{col.name}'.")
        return lit
    if quoted:
        raise bad_request(f"Key property '{col.name}' of type {edm_type(col)} must not be quoted.")
    try:
        return coerce(col, _number(lit) if col.type in ("int", "bigint", "decimal") else lit)
    except ODataError:
        raise bad_request(f"The key value '{lit}' is not a valid {edm_type(col)} for '{col.name}'.") from None


def _number(lit: str) -> int | Decimal:
    try:
        return int(lit)
    except ValueError:
        try:
            return Decimal(lit.rstrip("mMdD"))
        except InvalidOperation:
            return lit  # type: ignore[return-value]  # coerce() refuses it with the right message


def format_key(entity: Entity, row: dict[str, Any]) -> str:
    """The URL key predicate of a row, the inverse of :func:`parse_key`."""
    parts = []
    for k in entity.key:
        col, v = entity.col(k), row[k]
        if col.type in ("string", "guid", "enum"):
            lit = "'" + str(v).replace("'", "''") + "'"
        elif col.type == "bool":
            lit = "true" if v else "false"
        else:  # numbers and date-times are bare literals
            lit = str(json_scalar(col, v))
        parts.append(f"{k}={lit}")
    return ",".join(parts)


# --- values -----------------------------------------------------------------------------------


def edm_type(col: Col) -> str:
    if col.type == "enum":
        return f"{NAMESPACE}.{col.enum}"
    return EDM[col.type]


def parse_datetime(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        raise ValueError("no offset")
    return dt.astimezone(timezone.utc)


def format_datetime(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def coerce(col: Col, value: Any) -> Any:
    """A JSON value checked against the column's EDM type, in the form the store keeps.

    Strings, enums (member names) and date-times (``YYYY-MM-DDTHH:MM:SSZ``) stay text; numbers
    stay numbers; ``None`` clears the field."""
    if value is None:
        return None
    t = col.type
    ok: Any
    try:
        if t in ("string", "guid"):
            ok = value if isinstance(value, str) else _refuse()
            if col.max_length and len(ok) > col.max_length:
                raise ODataError(
                    400,
                    f"The value of field '{col.name}' is longer than {col.max_length} characters.",
                    inner_type=WRITE_ERROR,
                )
        elif t in ("int", "bigint"):
            ok = value if isinstance(value, int) and not isinstance(value, bool) else _refuse()
        elif t == "decimal":
            if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
                _refuse()
            ok = float(value)
        elif t == "bool":
            ok = value if isinstance(value, bool) else _refuse()
        elif t == "datetime":
            ok = format_datetime(parse_datetime(value)) if isinstance(value, str) else _refuse()
        elif t == "date":
            ok = date.fromisoformat(value).isoformat() if isinstance(value, str) else _refuse()
        elif t == "enum":
            members = ERP_ENUMS[col.enum or ""]
            if not isinstance(value, str) or value not in members:
                raise bad_request(
                    f"The value '{value}' is not a valid member of enum type '{NAMESPACE}.{col.enum}' "
                    f"for property '{col.name}'. Valid members: {', '.join(members)}."
                )
            ok = value
        else:  # pragma: no cover - the catalogue only uses the types above
            raise AssertionError(t)
    except (ValueError, TypeError, _Refused):
        raise bad_request(
            f"Cannot convert the literal '{value}' to the expected type '{edm_type(col)}' of property '{col.name}'."
        ) from None
    return ok


class _Refused(Exception):
    pass


def _refuse() -> Any:
    raise _Refused


def json_scalar(col: Col, value: Any) -> Any:
    """A stored value as it goes into JSON (numbers as numbers, enums as member names).

    Empty fields stay ``null``. (The real service never sends null — X++ fields read as ``''``,
    0, ``1900-01-01T00:00:00Z`` or the enum's first member — but the fact sheet in
    ``shared/api/`` does not say so, and the connectors are written against the fact sheet.)"""
    if value is None:
        return None
    if col.type == "decimal":
        return float(value)
    if col.type == "bool":
        return bool(value)
    return value


def check_payload(entity: Entity, body: Any, *, creating: bool, namespace: str = NAMESPACE) -> dict[str, Any]:
    """The fields of a POST/PATCH body, typed; refuses what F&O refuses.

    Instance annotations (``@odata.etag``, ``@odata.type``) are ignored as OData allows; unknown
    properties and computed (read-only) fields are refused; on update the key cannot change."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object describing one entity.")
    out: dict[str, Any] = {}
    names = set(entity.names)
    for name, value in body.items():
        if name.startswith("@") or "@odata." in name:
            continue
        if name not in names:
            raise bad_request(
                f"The property '{name}' does not exist on type '{namespace}.{entity.type_name}'. Make sure "
                "to only use property names that are defined by the type or mark the type as open type."
            )
        col = entity.col(name)
        if col.readonly:
            raise ODataError(
                400,
                f"Field '{name}' in data entity '{entity.type_name}' is read-only and cannot be set.",
                inner_type=WRITE_ERROR,
            )
        out[name] = coerce(col, value)
    if creating:
        missing = [k for k in entity.key if out.get(k) in (None, "") and k != "dataAreaId"]
        if missing:
            raise ODataError(
                400,
                f"Write failed for table row of type '{entity.type_name}'. Infolog: Field "
                f"'{missing[0]}' must be filled in.",
                inner_type=WRITE_ERROR,
            )
    return out


# --- ETags ------------------------------------------------------------------------------------


def etag(version: int) -> str:
    token = base64.b64encode(f"'1,{int(version)}'".encode()).decode()
    return f'W/"{token}"'


def etag_version(tag: str) -> int | None:
    """The row version inside one of our ETags, or None when the tag is not ours."""
    m = re.fullmatch(r'\s*(?:W/)?"([^"]*)"\s*', tag)
    if not m:
        return None
    try:
        text = base64.b64decode(m.group(1), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    m2 = re.fullmatch(r"'1,(\d+)'", text)
    return int(m2.group(1)) if m2 else None


def if_match_ok(header: str | None, version: int) -> bool:
    """Whether an ``If-Match`` header lets a write to a row at ``version`` go ahead."""
    if header is None:
        return True
    tags = [t.strip() for t in header.split(",") if t.strip()]
    if "*" in tags:
        return True
    return any(etag_version(t) == int(version) for t in tags)


# --- query options ----------------------------------------------------------------------------


def truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() == "true"


def page_size(prefer: dict[str, str]) -> int:
    raw = prefer.get("odata.maxpagesize")
    if raw and raw.isdigit() and int(raw) > 0:
        return min(int(raw), MAX_PAGE_SIZE)
    return MAX_PAGE_SIZE
