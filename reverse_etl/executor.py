"""Sending operations as ``$batch`` requests: retries, splitting, a concurrency cap.

A bulk write costs about one HTTP request per batch (up to 1000 records for Dataverse, 100 for
Business Central). The body's format is the target system's (``limits.codec``: OData multipart for
Dataverse and F&O, JSON for Business Central, see :mod:`p2c_core.multipart` and :mod:`p2c_core.jsonbatch`). A batch
answered with 429 or a 5xx, or lost to a timeout or dropped connection, is resent after
``Retry-After`` (or exponential backoff with jitter); both services' writes here are safe to resend
(Dataverse upserts by key, F&O creates tolerate "already exists" on a resend). A batch that fails
as a whole for any other reason is split in two and each half sent again, down to single records,
so one bad record cannot sink its neighbours; records the service did not answer (it stopped early)
are resent the same way. The sleep and random functions are injectable so tests can check the
waits without waiting.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence
from urllib.parse import urlsplit

import httpx

# the one parser of Retry-After, and the same retryable statuses and OData headers as every client
from p2c_core.http import ODATA_HEADERS, RETRY_STATUSES, retry_after_seconds

from p2c_core.crashpoints import crashpoint
from p2c_core.multipart import BatchCodec, PartRequest, PartResponse
from p2c_core.odata import RequestFailed
from reverse_etl.config import WritebackConfig
from reverse_etl.plan import WriteRow
from systems import Request, system_for


@dataclass
class Operation:
    """One planned record's request (built by its system's writer), plus bookkeeping for the executor."""

    row: WriteRow
    request: Request
    tries: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def path(self) -> str:
        return self.request.path

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.request.headers)

    @property
    def body(self) -> dict[str, Any] | None:
        return self.request.body

    @property
    def kind(self) -> str:
        return self.request.kind


@dataclass
class Result:
    """What the service answered for one operation (``response`` None: the batch itself failed)."""

    op: Operation
    status: int | None
    response: PartResponse | None
    error: str | None = None  # transport error or the whole batch's error text


def backoff_seconds(attempt: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Exponential backoff with jitter: attempt 1 → ~base, doubling, capped."""
    return min(cap, base * 2 ** (attempt - 1)) * (0.5 + rand() / 2)


class BatchExecutor:
    """Sends operations for the system of one role over ``client`` (its ``base_url`` is the service root),
    in the ``$batch`` format that system declares (``codec``: its ``limits.codec`` unless given)."""

    def __init__(
        self,
        client: httpx.Client,
        role: str,
        config: WritebackConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        codec: BatchCodec | None = None,
    ) -> None:
        self.client = client
        self.role = role
        self.codec = codec or system_for(role).limits.codec
        self.config = config
        self.sleep = sleep
        self.rand = rand
        self.root_path = urlsplit(str(client.base_url)).path.rstrip("/") + "/"
        self.requests_sent = 0  # $batch POSTs, for the benchmark and the run summary
        self.waits: list[float] = []
        self._lock = threading.Lock()

    # -- one HTTP request -------------------------------------------------------------------
    def _post(self, ops: Sequence[Operation], changeset_size: int) -> tuple[httpx.Response | None, str | None, list]:
        parts = [PartRequest(op.method, self.codec.url(self.root_path, op.path), {**ODATA_HEADERS, **op.headers}, op.body)
                 for op in ops]
        ctype, body, groups = self.codec.build(parts, changeset_size)
        headers = {**ODATA_HEADERS, "Content-Type": ctype, **self.codec.headers}
        last_error: str | None = None
        for attempt in range(1, self.config.max_attempts + 1):
            for op in ops:
                op.tries += 1
            with self._lock:
                self.requests_sent += 1
            crashpoint("writeback.before_batch_sent")
            try:
                resp = self.client.post("$batch", content=body, headers=headers)
            except httpx.TransportError as exc:  # timeouts, refused or dropped connections
                last_error = f"{type(exc).__name__}: {exc}"
                _mark_uncertain(ops)
                wait = backoff_seconds(attempt, self.config.backoff_base, self.config.backoff_cap, self.rand)
            else:
                if resp.status_code not in RETRY_STATUSES:
                    return resp, None, groups
                last_error = f"HTTP {resp.status_code}: {resp.text[:500]}"
                if resp.status_code != 429:  # a 5xx may come after the writes were applied
                    _mark_uncertain(ops)
                wait = retry_after_seconds(resp.headers.get("Retry-After"))
                if wait is None:
                    wait = backoff_seconds(attempt, self.config.backoff_base, self.config.backoff_cap, self.rand)
                if attempt == self.config.max_attempts:
                    return resp, None, groups
            if attempt < self.config.max_attempts:
                with self._lock:
                    self.waits.append(wait)
                self.sleep(wait)
        return None, last_error, groups

    # -- a chunk, split until every operation has an answer ------------------------------------
    def _send(self, ops: list[Operation], changeset_size: int) -> list[Result]:
        resp, error, groups = self._post(ops, changeset_size)
        if resp is None or resp.status_code in RETRY_STATUSES:
            # retries exhausted: splitting would only multiply requests against a struggling service
            status = resp.status_code if resp is not None else None
            if error is None and resp is not None:
                error = f"HTTP {resp.status_code}: {resp.text[:500]}"
            return [Result(op, status, _as_part(resp), error) for op in ops]
        parsed: list[PartResponse | None] | None = None
        if self.codec.answered(resp.status_code, resp.headers.get("content-type", "")):
            try:
                parsed = self.codec.parse(resp.headers.get("content-type", ""), resp.content, groups, len(ops))
            except ValueError as exc:
                error = f"unreadable $batch response: {exc}"
        if parsed is None:
            if error is None:
                error = f"HTTP {resp.status_code}: {resp.text[:500]}"
            if len(ops) == 1:
                return [Result(ops[0], resp.status_code, _as_part(resp), error)]
            mid = len(ops) // 2
            return self._send(ops[:mid], changeset_size) + self._send(ops[mid:], changeset_size)

        results: list[Result] = []
        resend: list[Operation] = []
        for group in groups:
            answers = [parsed[i] for i in group]
            # a change set that failed as a whole: all but one were rolled back, resend singly
            shared = len(group) > 1 and answers[0] is not None and all(a is answers[0] for a in answers)
            for i, answer in zip(group, answers):
                if answer is None or (shared and answer.status >= 400):
                    resend.append(ops[i])
                else:
                    results.append(Result(ops[i], answer.status, answer))
        if resend:
            if len(resend) == len(ops) and len(ops) == 1:
                results.append(Result(ops[0], None, None, "the service sent no response for this request"))
            elif len(resend) == len(ops):
                mid = len(ops) // 2
                results += self._send(resend[:mid], min(changeset_size, 1)) + self._send(resend[mid:], min(changeset_size, 1))
            else:
                results += self._send(resend, min(changeset_size, 1))
        return results

    def run(self, ops: Sequence[Operation], changeset_size: int | None = None) -> Iterator[list[Result]]:
        """Send ``ops`` in batches, at most ``concurrency`` in flight; yield each batch's results."""
        size = self.config.batch_size(self.role)
        cs = self.config.changeset_size(self.role) if changeset_size is None else changeset_size
        chunks = [list(ops[i : i + size]) for i in range(0, len(ops), size)]
        if not chunks:
            return
        if len(chunks) == 1 or self.config.concurrency == 1:
            for chunk in chunks:
                yield self._send(chunk, cs)
            return
        with ThreadPoolExecutor(max_workers=self.config.concurrency, thread_name_prefix=f"p2c-{self.role}") as pool:
            futures = [pool.submit(self._send, chunk, cs) for chunk in chunks]
            for fut in as_completed(futures):
                yield fut.result()


def _mark_uncertain(ops: Sequence[Operation]) -> None:
    for op in ops:
        op.extra["uncertain"] = True


def _as_part(resp: httpx.Response | None) -> PartResponse | None:
    if resp is None:
        return None
    return PartResponse(resp.status_code, resp.reason_phrase, dict(resp.headers), resp.text)


def get_json(client: httpx.Client, path: str, params: dict, config: WritebackConfig,
             sleep: Callable[[float], None] = time.sleep, rand: Callable[[], float] = random.random) -> dict:
    """A GET with the same retry rules as a batch (used for key lookups); :class:`RequestFailed`
    when the retries are exhausted."""
    for attempt in range(1, config.max_attempts + 1):
        try:
            resp = client.get(path, params=params, headers=ODATA_HEADERS)
        except httpx.TransportError as exc:
            if attempt == config.max_attempts:
                raise RequestFailed(f"the connection failed: {type(exc).__name__}") from exc
            sleep(backoff_seconds(attempt, config.backoff_base, config.backoff_cap, rand))
            continue
        if resp.status_code in RETRY_STATUSES and attempt < config.max_attempts:
            wait = retry_after_seconds(resp.headers.get("Retry-After"))
            sleep(wait if wait is not None else backoff_seconds(attempt, config.backoff_base, config.backoff_cap, rand))
            continue
        if resp.status_code >= 400:
            raise RequestFailed(f"HTTP {resp.status_code}: {resp.text[:500]}", _as_part(resp))
        return resp.json()
    raise RuntimeError("unreachable")
