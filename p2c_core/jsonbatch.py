"""OData JSON ``$batch`` bodies (Business Central): building requests, parsing responses.

``POST $batch`` with ``{"requests": [{"method", "id", "url", "headers", "body"}]}`` answers
``{"responses": [{"id", "status", "headers", "body"}]}``; every operation runs and answers on its
own (no change sets; ``Isolation: snapshot`` would make the whole batch one transaction, which p2c
does not need: a new document and its lines are one deep insert). Operation URLs are relative to
the service root. :func:`parse_response` matches answers to requests by ``id`` and leaves ``None``
where nothing answered, so the executor resends exactly those — the same contract as
:mod:`p2c_core.multipart`.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from p2c_core.multipart import BatchCodec, PartRequest, PartResponse

CONTENT_TYPE = "application/json"


def build_batch(requests: Sequence[PartRequest], changeset_size: int = 0) -> tuple[str, bytes, list[list[int]]]:
    """→ (content type, body, groups); each request its own group (JSON batches have no change sets)."""
    ops: list[dict[str, Any]] = []
    for i, req in enumerate(requests):
        op: dict[str, Any] = {"method": req.method, "id": str(i + 1), "url": req.url, "headers": dict(req.headers)}
        if req.body is not None:
            op["body"] = req.body
        ops.append(op)
    body = json.dumps({"requests": ops}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return CONTENT_TYPE, body, [[i] for i in range(len(requests))]


def parse_response(content_type: str, body: bytes, groups: list[list[int]], n: int) -> list[PartResponse | None]:
    """One response per request index, ``None`` where the service sent none; ``ValueError`` if the
    body is not a JSON batch answer."""
    try:
        data = json.loads(body.decode("utf-8", "replace") or "null")
    except ValueError as exc:
        raise ValueError(f"$batch response is not JSON: {exc}") from None
    answers = data.get("responses") if isinstance(data, dict) else None
    if not isinstance(answers, list):
        raise ValueError("$batch response has no 'responses' array")
    out: list[PartResponse | None] = [None] * n
    for answer in answers:
        if not isinstance(answer, dict):
            continue
        try:
            index = int(str(answer.get("id"))) - 1
            status = int(answer.get("status"))
        except (TypeError, ValueError):
            continue
        if 0 <= index < n:
            inner = answer.get("body")
            text = "" if inner is None else (inner if isinstance(inner, str) else json.dumps(inner, ensure_ascii=False))
            headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
            out[index] = PartResponse(status, "", headers, text)
    return out


JSON_BATCH = BatchCodec("json", build_batch, parse_response, {}, relative_urls=True)
