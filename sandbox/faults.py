"""Service protection and injected faults: ``--rate-limit N/S``, ``--error-rate F``, ``--latency-ms N``.

One ASGI middleware per server, off by default. The rate limit is a sliding window over all API
requests to that server (the real limits are per user per web server; the sandbox has one user):
the request that would exceed N in S seconds gets 429, ``Retry-After`` (whole seconds until the
window has room) and the system's documented body. A seeded ``random.Random`` decides which
requests fail with 503, so a test run is reproducible.
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
    ):
        self.app = app
        self.options = options
        self.api_prefix = api_prefix
        self.throttled_body = throttled_body
        self.unavailable_body = unavailable_body
        self.clock = clock
        self._random = random.Random(options.seed)
        self._window: deque[float] = deque()
        self._lock = threading.Lock()

    def _throttle(self) -> int | None:
        """Seconds to wait when this request exceeds the limit, else None (and count it)."""
        if self.options.rate_limit is None:
            return None
        n, s = self.options.rate_limit
        now = self.clock()
        with self._lock:
            while self._window and self._window[0] <= now - s:
                self._window.popleft()
            if len(self._window) >= n:
                return max(1, math.ceil(self._window[0] + s - now))
            self._window.append(now)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.api_prefix) or token_path_tenant(scope["path"]):
            await self.app(scope, receive, send)
            return
        o = self.options
        if o.latency_ms:
            await asyncio.sleep(o.latency_ms / 1000)
        wait = self._throttle()
        if wait is not None:
            n, s = o.rate_limit  # type: ignore[misc]
            await send_json(send, 429, self.throttled_body(n, s), [(b"retry-after", str(wait).encode())])
            return
        if o.error_rate and self._random.random() < o.error_rate:
            await send_json(send, 503, self.unavailable_body())
            return
        await self.app(scope, receive, send)
