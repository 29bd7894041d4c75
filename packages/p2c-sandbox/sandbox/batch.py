"""OData ``$batch`` (multipart/mixed): parse the request, run it, build the response.

Shared by both apps. A batch body is a list of parts; each part is either one request
(``Content-Type: application/http``) or a change set (a nested ``multipart/mixed``) whose requests
run atomically. Requests in a change set may carry ``Content-ID: n`` and later ones refer to the
created entity as ``$n`` (in the URL, or as an ``@odata.bind`` value in the body).

The apps supply a synchronous ``dispatch(SubRequest) -> SubResponse`` and a ``transaction()``
context manager (the store's); :func:`execute` runs parts in order, applies each change set inside
one transaction and rolls it back when one of its requests fails.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from email.message import Message

MAX_REQUESTS = 1000


class BatchError(Exception):
    """A batch body that cannot be read (HTTP 400)."""


@dataclass
class SubRequest:
    method: str
    url: str  # as written in the part: absolute, server-relative, relative to the service root, or $n
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    content_id: str | None = None
    in_changeset: bool = False


@dataclass
class SubResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    content_id: str | None = None


@dataclass
class ChangeSet:
    requests: list[SubRequest]


Part = SubRequest | ChangeSet


# --- parsing ----------------------------------------------------------------------------------


def boundary_of(content_type: str) -> str:
    msg = Message()
    msg["content-type"] = content_type
    if msg.get_content_type() != "multipart/mixed":
        raise BatchError(f"The content type '{content_type}' is not multipart/mixed.")
    b = msg.get_param("boundary")
    if not b or not isinstance(b, str):
        raise BatchError("The batch request's Content-Type has no boundary.")
    return b


def _split(body: bytes, boundary: str) -> Iterator[bytes]:
    """The parts between ``--boundary`` lines (CRLF or LF line ends), up to ``--boundary--``."""
    delim = b"--" + boundary.encode()
    lines = re.split(rb"\r?\n", body)
    current: list[bytes] | None = None
    closed = False
    for line in lines:
        s = line.rstrip(b" \t")
        if s == delim or s == delim + b"--":
            if current is not None:
                yield b"\r\n".join(current)
            if s.endswith(b"--") and s != delim:
                closed = True
                break
            current = []
        elif current is not None:
            current.append(line)
    if not closed:
        raise BatchError("The batch request body is missing its closing boundary.")


def _headers_and_body(raw: bytes) -> tuple[dict[str, str], bytes]:
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        head, rest = raw, b""
    headers: dict[str, str] = {}
    for line in head.split(b"\r\n"):
        if not line.strip():
            continue
        name, colon, value = line.decode("utf-8").partition(":")
        if not colon:
            raise BatchError(f"Malformed header line in batch part: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return headers, rest


def _request(raw: bytes, part_headers: dict[str, str], in_changeset: bool) -> SubRequest:
    if not part_headers.get("content-type", "").lower().startswith("application/http"):
        raise BatchError("Each batch part must have Content-Type application/http.")
    text = raw.lstrip(b"\r\n")
    line, _, rest = text.partition(b"\r\n")
    m = re.fullmatch(r"([A-Z]+) (\S+)(?: HTTP/1\.[01])?", line.decode("utf-8").strip())
    if not m:
        raise BatchError(f"Malformed request line in batch part: {line[:120]!r}")
    headers, body = _headers_and_body(rest)
    body = body.rstrip(b"\r\n")
    cid = headers.get("content-id") or part_headers.get("content-id")
    return SubRequest(m.group(1), m.group(2), headers, body, cid, in_changeset)


def parse(body: bytes, content_type: str, max_requests: int = MAX_REQUESTS) -> list[Part]:
    """A ``$batch`` body → parts in order. Raises BatchError when unreadable or too large."""
    parts: list[Part] = []
    count = 0
    for raw in _split(body, boundary_of(content_type)):
        headers, content = _headers_and_body(raw)
        ctype = headers.get("content-type", "")
        if ctype.lower().startswith("multipart/mixed"):
            reqs = []
            for inner in _split(content, boundary_of(ctype)):
                ih, ic = _headers_and_body(inner)
                if ih.get("content-type", "").lower().startswith("multipart/"):
                    raise BatchError("Nested change sets are not supported.")
                req = _request(ic, ih, True)
                if req.method == "GET":
                    raise BatchError("GET requests are not allowed inside a change set.")
                reqs.append(req)
            parts.append(ChangeSet(reqs))
            count += len(reqs)
        else:
            parts.append(_request(content, headers, False))
            count += 1
    if count > max_requests:
        raise BatchError(f"The number of requests in a batch cannot exceed {max_requests}.")
    return parts


# --- references -------------------------------------------------------------------------------


def resolve_references(req: SubRequest, created: dict[str, str]) -> SubRequest:
    """Replace ``$n`` (a Content-ID) in the URL and in the body by the created entity's URL.

    Raises KeyError(ref) for an unknown reference."""
    url = req.url
    m = re.match(r"^\$(\w+)(.*)$", url)
    if m:
        if m.group(1) not in created:
            raise KeyError("$" + m.group(1))
        url = created[m.group(1)] + m.group(2)
    body = req.body
    if body and b'"$' in body:
        def sub(mm: re.Match[bytes]) -> bytes:
            ref = mm.group(1).decode()
            if ref not in created:
                raise KeyError("$" + ref)
            return b'"' + created[ref].encode() + b'"'

        body = re.sub(rb'"\$(\w+)"', sub, body)
    return SubRequest(req.method, url, req.headers, body, req.content_id, req.in_changeset)


# --- running ----------------------------------------------------------------------------------


@dataclass
class Result:
    parts: list[SubResponse | list[SubResponse]]
    failed: SubResponse | None  # the first failure when the batch stopped on it


class _Rollback(Exception):
    pass


def execute(
    parts: list[Part],
    dispatch: Callable[[SubRequest], SubResponse],
    transaction: Callable[[], AbstractContextManager[object]],
    *,
    continue_on_error: bool = False,
    reference_error: Callable[[str], SubResponse],
) -> Result:
    """Run the parts in order. A failing request in a change set rolls the change set back and
    stands for the whole change set; without ``continue_on_error`` the batch stops there.

    ``dispatch`` gets each request with ``$n`` references resolved; it reports the created
    entity's URL in the ``odata-entityid`` or ``location`` response header."""
    out: list[SubResponse | list[SubResponse]] = []
    created: dict[str, str] = {}

    def run(req: SubRequest) -> SubResponse:
        try:
            req = resolve_references(req, created)
        except KeyError as exc:
            return reference_error(str(exc.args[0]))
        resp = dispatch(req)
        resp.content_id = req.content_id
        where = resp.headers.get("odata-entityid") or resp.headers.get("location")
        if req.content_id and where and resp.status < 300:
            created[req.content_id] = where
        return resp

    for part in parts:
        if isinstance(part, SubRequest):
            resp = run(part)
            out.append(resp)
            if resp.status >= 400 and not continue_on_error:
                return Result(out, resp)
            continue
        responses: list[SubResponse] = []
        failed: SubResponse | None = None
        try:
            with transaction():
                for req in part.requests:
                    resp = run(req)
                    if resp.status >= 400:
                        failed = resp
                        raise _Rollback
                    responses.append(resp)
        except _Rollback:
            pass
        if failed is not None:
            for cid in [r.content_id for r in responses if r.content_id]:
                created.pop(cid, None)  # rolled back: those entities do not exist
            out.append(failed)  # a failed change set answers with the failure alone
            if not continue_on_error:
                return Result(out, failed)
        else:
            out.append(responses)
    return Result(out, None)


# --- response ---------------------------------------------------------------------------------

_REASONS = {
    200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified", 400: "Bad Request",
    401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    409: "Conflict", 412: "Precondition Failed", 413: "Payload Too Large", 429: "Too Many Requests",
    500: "Internal Server Error", 501: "Not Implemented", 503: "Service Unavailable",
}


def _http_part(resp: SubResponse) -> bytes:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if resp.content_id:
        lines.append(f"Content-ID: {resp.content_id}")
    lines += ["", f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, '')}".rstrip()]
    for k, v in resp.headers.items():
        lines.append(f"{_title(k)}: {v}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return head + resp.body + b"\r\n"


def _title(name: str) -> str:
    special = {"odata-entityid": "OData-EntityId", "odata-version": "OData-Version", "etag": "ETag"}
    return special.get(name.lower(), "-".join(w.capitalize() for w in name.split("-")))


def build(parts: list[SubResponse | list[SubResponse]]) -> tuple[bytes, str]:
    """Responses in order → (multipart/mixed body, its Content-Type)."""
    boundary = f"batchresponse_{uuid.uuid4()}"
    chunks: list[bytes] = []
    for part in parts:
        chunks.append(f"--{boundary}\r\n".encode())
        if isinstance(part, list):
            cs = f"changesetresponse_{uuid.uuid4()}"
            chunks.append(f"Content-Type: multipart/mixed; boundary={cs}\r\n\r\n".encode())
            for resp in part:
                chunks.append(f"--{cs}\r\n".encode())
                chunks.append(_http_part(resp))
            chunks.append(f"--{cs}--\r\n".encode())
        else:
            chunks.append(_http_part(part))
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/mixed; boundary={boundary}"
