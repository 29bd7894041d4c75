"""What both OData services handle: a request and a reply as plain data, and the ASGI lifespan.

Each service is a request → reply function run in a worker thread, so ``$batch`` parts go through
exactly the same code as single requests; the ASGI wrapper builds :class:`Req` and sends :class:`Reply`.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson

_PREFER_ITEM = re.compile(r'\s*([\w.-]+)\s*(?:=\s*("[^"]*"|[^,]*))?\s*(?:,|$)')


@dataclass
class Req:
    method: str
    path: str  # after the service root, still percent-encoded
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    base_url: str  # http://host:port/<service root>/

    def opt(self, name: str) -> str | None:
        for k, v in self.query:
            if k == name:
                return v
        return None

    def prefer(self) -> dict[str, str]:
        """``Prefer`` preferences by name; quoted values may contain commas (annotation lists)."""
        out: dict[str, str] = {}
        for m in _PREFER_ITEM.finditer(self.headers.get("prefer", "")):
            out[m.group(1).lower()] = (m.group(2) or "").strip().strip('"')
        return out


@dataclass
class ServiceError(Exception):
    """A refusal whose body is ``{"error": {"code", "message"}}`` (Dataverse, Business Central)."""

    status: int
    code: str
    message: str

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str | None = None

    json_type: ClassVar[str] = "application/json"  # each service's JSON content type

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
        try:
            body = orjson.dumps(payload)
        except orjson.JSONEncodeError:  # text with an unpaired surrogate (chaos mode): escaped, as JSON allows
            body = json.dumps(payload, ensure_ascii=True, separators=(",", ":"), default=str).encode()
        return cls(status, body, dict(headers or {}), cls.json_type)

    @classmethod
    def error(cls, err: Any) -> Reply:
        """The reply for a service error (anything with ``status`` and ``body()``)."""
        return cls.json(err.status, err.body())


def encode_cursor(cursor: list[Any], remaining: int | None) -> str:
    """A ``$skiptoken``: the keyset of a page's last row and what is left of ``$top``."""
    return base64.urlsafe_b64encode(orjson.dumps([cursor, remaining])).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[list[Any], int | None] | None:
    """The inverse of :func:`encode_cursor`; None for a token that is not one (the caller refuses it)."""
    try:
        cursor, remaining = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return cursor, remaining
    except Exception:
        return None


async def lifespan(receive, send) -> None:
    """Answer an ASGI lifespan scope: nothing to start or stop."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
