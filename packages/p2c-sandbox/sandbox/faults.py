"""Service protection and injected faults: ``--rate-limit N/S``, ``--error-rate F``, ``--latency-ms N``,
``--throttle-rate F``, ``--drop-rate F``, ``--spike-rate F`` / ``--spike-ms N`` and the ``--storm`` preset.

One ASGI middleware per server, off by default. The rate limit is a sliding window over all API
requests to that server (the real limits are per user per web server; the sandbox has one user):
the request that would exceed N in S seconds gets 429, ``Retry-After`` (whole seconds until the
window has room) and the system's documented body.

The random faults are drawn per API request from one seeded ``random.Random`` (``--seed``), so a
storm is reproducible: ``throttle_rate`` of the requests get 429 with ``Retry-After:
retry_after`` (the request is not processed), ``error_rate`` get 503 (not processed),
``drop_rate`` are processed and then the connection is closed halfway through the response body
(the client cannot know whether its write happened), and independently ``spike_rate`` of them
wait ``spike_ms`` first. ``--storm`` is the reliability suite's mix: 429 on a fifth, 503 on a
twentieth, 2 % dropped mid-body, 2 % delayed by 2 s. ``counts`` tallies what was injected; the
server writes it to ``faults.json`` in the data directory on shutdown and on every 50th fault.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.auth import send_json, token_path_tenant


@dataclass(frozen=True)
class FaultOptions:
    rate_limit: tuple[int, float] | None = None  # (requests, seconds)
    error_rate: float = 0.0
    latency_ms: int = 0
    seed: int | None = None
    throttle_rate: float = 0.0  # fraction answered 429 + Retry-After
    drop_rate: float = 0.0  # fraction processed, then the connection dropped mid-body
    spike_rate: float = 0.0  # fraction delayed by spike_ms
    spike_ms: int = 2000
    retry_after: int = 1  # seconds, in the Retry-After of a random 429

    def __post_init__(self) -> None:
        for name in ("error_rate", "throttle_rate", "drop_rate", "spike_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"--{name.replace('_', '-')} must be between 0 and 1")
        if self.error_rate + self.throttle_rate + self.drop_rate > 1.0:
            raise ValueError("--error-rate, --throttle-rate and --drop-rate add up to more than 1")
        if self.retry_after < 0 or self.spike_ms < 0:
            raise ValueError("--retry-after and --spike-ms must not be negative")


STORM = {"throttle_rate": 0.2, "error_rate": 0.05, "drop_rate": 0.02, "spike_rate": 0.02, "spike_ms": 2000}
FAULT_KINDS = ("throttled", "unavailable", "dropped", "delayed", "rate_limited")


class DroppedConnection(Exception):
    """Raised inside the server after half a response body: the server closes the connection."""


def parse_rate_limit(text: str | None) -> tuple[int, float] | None:
    """``"100/60"`` → (100, 60.0); empty → None."""
    if not text:
        return None
    n, sep, s = text.partition("/")
    try:
        out = (int(n), float(s) if sep else 1.0)
    except ValueError:
        raise ValueError(f"--rate-limit wants N/S (requests per seconds), got {text!r}") from None
    if out[0] < 1 or out[1] <= 0:
        raise ValueError(f"--rate-limit wants positive N and S, got {text!r}")
    return out


def dataverse_throttled(n: int, s: float) -> dict[str, Any]:
    secs = int(s) if float(s).is_integer() else s
    return {"error": {"code": "0x80072322",
                      "message": f"Number of requests exceeded the limit of {n} over time window of {secs} seconds."}}


def finops_throttled(n: int, s: float) -> dict[str, Any]:
    secs = int(s) if float(s).is_integer() else s
    msg = f"Number of requests exceeded the limit of {n} over the time window of {secs} seconds."
    return {"error": {"code": "", "message": msg, "innererror": {"message": msg, "type": "", "stacktrace": ""}}}


def dataverse_unavailable() -> dict[str, Any]:
    return {"error": {"code": "0x80040216", "message": "The service is temporarily unavailable. Please try again later."}}


def finops_unavailable() -> dict[str, Any]:
    return {"error": {"code": "", "message": "An error has occurred.",
                      "innererror": {"message": "The service is temporarily unavailable.", "type": "", "stacktrace": ""}}}


class FaultMiddleware:
    """Latency, throttling and random 503s for requests under ``api_prefix`` (not the token endpoint)."""

    def __init__(
        self,
        app: ASGIApp,
        options: FaultOptions,
        *,
        api_prefix: str = "/",
        throttled_body: Callable[[int, float], Any] = dataverse_throttled,
        unavailable_body: Callable[[], Any] = dataverse_unavailable,
        clock: Callable[[], float] = time.monotonic,
        client_key: Callable[[Scope], Any] | None = None,
    ):
        self.app = app
        self.options = options
        self.api_prefix = api_prefix
        self.throttled_body = throttled_body
        self.unavailable_body = unavailable_body
        self.clock = clock
        self._random = random.Random(options.seed)
        self.client_key = client_key  # None: one window for the server; else one per caller (BC: per client)
        self._windows: dict[Any, deque[float]] = {}
        self._lock = threading.Lock()
        self.counts: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)
        self.requests = 0
        self.on_fault: Callable[[], None] | None = None

    def _count(self, kind: str) -> None:
        with self._lock:
            self.counts[kind] += 1
            total = sum(self.counts.values())
        if self.on_fault is not None and total % 50 == 0:
            self.on_fault()

    def _draw(self) -> tuple[str | None, bool]:
        """This request's random fault (throttled / unavailable / dropped / None) and whether it is delayed."""
        o = self.options
        with self._lock:
            self.requests += 1
            r = self._random.random() if (o.throttle_rate or o.error_rate or o.drop_rate) else 1.0
            spike = bool(o.spike_rate) and self._random.random() < o.spike_rate
        if r < o.throttle_rate:
            return "throttled", spike
        if r < o.throttle_rate + o.error_rate:
            return "unavailable", spike
        if r < o.throttle_rate + o.error_rate + o.drop_rate:
            return "dropped", spike
        return None, spike

    def _throttle(self, scope: Scope) -> int | None:
        """Seconds to wait when this request exceeds the limit, else None (and count it)."""
        if self.options.rate_limit is None:
            return None
        n, s = self.options.rate_limit
        now = self.clock()
        key = None if self.client_key is None else self.client_key(scope)
        with self._lock:
            window = self._windows.setdefault(key, deque())
            while window and window[0] <= now - s:
                window.popleft()
            if len(window) >= n:
                return max(1, math.ceil(window[0] + s - now))
            window.append(now)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.api_prefix) or token_path_tenant(scope["path"]):
            await self.app(scope, receive, send)
            return
        o = self.options
        fault, spike = self._draw()
        if o.latency_ms:
            await asyncio.sleep(o.latency_ms / 1000)
        if spike:
            self._count("delayed")
            await asyncio.sleep(o.spike_ms / 1000)
        wait = self._throttle(scope)
        if wait is not None:
            self._count("rate_limited")
            n, s = o.rate_limit  # type: ignore[misc]
            await send_json(send, 429, self.throttled_body(n, s), [(b"retry-after", str(wait).encode())])
            return
        if fault == "throttled":
            self._count(fault)
            limit = o.rate_limit or (6000, 300.0)  # the documented Dataverse default: 6000 requests / 300 s
            await send_json(send, 429, self.throttled_body(*limit), [(b"retry-after", str(o.retry_after).encode())])
            return
        if fault == "unavailable":
            self._count(fault)
            await send_json(send, 503, self.unavailable_body())
            return
        if fault == "dropped":
            self._count(fault)
            await self._drop_mid_body(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _drop_mid_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Let the app process the request, send the status, headers and half the body, then hang up."""
        start: dict[str, Any] = {}
        body = bytearray()

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, capture)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(max(len(body), 2)).encode()))
        await send({"type": "http.response.start", "status": start.get("status", 200), "headers": headers})
        await send({"type": "http.response.body", "body": bytes(body[: len(body) // 2]), "more_body": True})
        raise DroppedConnection("the sandbox dropped this connection mid-body (--drop-rate)")
