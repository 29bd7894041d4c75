"""OData ``$batch`` bodies (multipart/mixed) for Dataverse and F&O: building requests, parsing responses.

A batch holds up to N requests, either as plain parts (Dataverse, with
``Prefer: odata.continue-on-error`` every part runs and answers on its own) or grouped in change
sets (atomic; F&O's strict OData 4.0 wants modifying requests inside change sets). Responses come
back in request order; a change set that failed answers with one part for the whole set, and a
service that stops at the first failure answers fewer parts than were sent. :func:`parse_response`
aligns what came back with what was sent and leaves ``None`` where nothing answered, so the
executor can resend exactly those.

:class:`BatchCodec` is what a system declares about its ``$batch`` format: :data:`MULTIPART` here,
:data:`p2c_core.jsonbatch.JSON_BATCH` for Business Central's JSON batches.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

CRLF = "\r\n"
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)
_STATUS = re.compile(r"^HTTP/\d\.\d\s+(\d{3})(?:\s+(.*))?$")


@dataclass(frozen=True)
class PartRequest:
    method: str
    url: str  # as it goes on the request line (absolute path or URL)
    headers: dict[str, str]
    body: Any | None = None


@dataclass
class PartResponse:
    status: int
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    text: str = ""

    def json(self) -> Any:
        try:
            return json.loads(self.text) if self.text.strip() else None
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers.items():
            if k.lower() == low:
                return v
        return None


def _http_part(req: PartRequest, content_id: int | None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"Content-ID: {content_id}")
    lines += ["", f"{req.method} {req.url} HTTP/1.1"]
    lines += [f"{k}: {v}" for k, v in req.headers.items()]
    body = "" if req.body is None else json.dumps(req.body, ensure_ascii=False, separators=(",", ":"))
    lines += ["", body]
    return CRLF.join(lines)


def build_batch(requests: Sequence[PartRequest], changeset_size: int) -> tuple[str, bytes, list[list[int]]]:
    """→ (content type, body, groups): ``groups`` lists the request indexes of each top-level part."""
    boundary = f"batch_{uuid.uuid4()}"
    out: list[str] = []
    groups: list[list[int]] = []
    if changeset_size <= 0:
        for i, req in enumerate(requests):
            out.append(f"--{boundary}{CRLF}{_http_part(req, None)}")
            groups.append([i])
    else:
        for start in range(0, len(requests), changeset_size):
            idx = list(range(start, min(start + changeset_size, len(requests))))
            cs = f"changeset_{uuid.uuid4()}"
            inner = "".join(f"--{cs}{CRLF}{_http_part(requests[i], n + 1)}{CRLF}" for n, i in enumerate(idx))
            out.append(
                f"--{boundary}{CRLF}Content-Type: multipart/mixed; boundary={cs}{CRLF}{CRLF}{inner}--{cs}--"
            )
            groups.append(idx)
    body = CRLF.join(out) + f"{CRLF}--{boundary}--{CRLF}"
    return f"multipart/mixed; boundary={boundary}", body.encode("utf-8"), groups


def _split(body: str, boundary: str) -> list[str]:
    delim = f"--{boundary}"
    pieces = body.split(delim)
    parts = []
    for piece in pieces[1:]:
        if piece.startswith("--"):
            break
        parts.append(piece.removeprefix("\r\n").removeprefix("\n"))
    return parts


def _headers_and_rest(text: str) -> tuple[dict[str, str], str]:
    norm = text.replace("\r\n", "\n")
    if norm.startswith("\n"):  # no headers at all: the blank line comes first
        return {}, norm[1:]
    head, _, rest = norm.partition("\n\n")
    headers: dict[str, str] = {}
    for line in head.split("\n"):
        if ":" in line:
            k, _, v = line.partition(":")
            headers[k.strip()] = v.strip()
    return headers, rest


def _parse_http(text: str) -> PartResponse:
    headers, rest = _headers_and_rest(text)
    status_line, _, after = rest.partition("\n")
    m = _STATUS.match(status_line.strip())
    if not m:
        raise ValueError(f"not an HTTP response part: {status_line[:80]!r}")
    resp_headers, body = _headers_and_rest(after)
    return PartResponse(int(m.group(1)), (m.group(2) or "").strip(), resp_headers, body.strip())


def _parse_element(text: str) -> list[PartResponse] | PartResponse:
    headers, rest = _headers_and_rest(text)
    ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if ctype.lower().startswith("multipart/mixed"):
        m = _BOUNDARY.search(ctype)
        if not m:
            raise ValueError("change set response without a boundary")
        return [_parse_http(p) for p in _split(rest, m.group(1))]
    return _parse_http(text)


def parse_response(content_type: str, body: bytes, groups: list[list[int]], n: int) -> list[PartResponse | None]:
    """One response per request index, ``None`` where the service sent none.

    A change set answered by a single part (it failed as a whole) gives that part to each of its
    requests; the executor then resends them one by one."""
    m = _BOUNDARY.search(content_type or "")
    if not m:
        raise ValueError(f"$batch response is not multipart: {content_type!r}")
    elements = [_parse_element(p) for p in _split(body.decode("utf-8", "replace"), m.group(1))]
    out: list[PartResponse | None] = [None] * n
    for group, element in zip(groups, elements):
        if isinstance(element, list):
            if len(element) == 1 and len(group) > 1:
                for i in group:
                    out[i] = element[0]
            else:  # one answer per request, or fewer when the service stopped early
                for i, resp in zip(group, element):
                    out[i] = resp
        elif len(group) == 1 or element.status >= 400:
            for i in group:
                out[i] = element
    return out


@dataclass(frozen=True)
class BatchCodec:
    """How a system takes ``$batch`` requests: the body's format, as a system declares it
    (``systems.system.BatchLimits.codec``); the executor asks the system of the role for it."""

    name: str
    # (requests, change set size) → (content type, body, groups: request indexes per top-level part)
    build: Callable[[Sequence[PartRequest], int], tuple[str, bytes, list[list[int]]]]
    # (content type, body, groups, n) → one response per request index, None where none came back
    parse: Callable[[str, bytes, list[list[int]], int], list[PartResponse | None]]
    headers: Mapping[str, str]  # of the outer request, besides Content-Type
    relative_urls: bool = False  # operations name their URL relative to the service root
    # a failed (non-2xx) $batch response of this content type still carries per-operation answers
    answers_on_failure: str | None = None

    def url(self, root_path: str, path: str) -> str:
        """An operation's URL: ``path`` is relative to the service root, whose path is ``root_path``."""
        return path if self.relative_urls else root_path + path

    def answered(self, status: int, content_type: str) -> bool:
        """Whether a ``$batch`` response carries per-operation answers (else it failed as a whole)."""
        return status < 300 or (self.answers_on_failure is not None and self.answers_on_failure in content_type)


# OData multipart/mixed (Dataverse, F&O); Prefer: every part runs and answers on its own
MULTIPART = BatchCodec("multipart", build_batch, parse_response, {"Prefer": "odata.continue-on-error"},
                       answers_on_failure="multipart")
