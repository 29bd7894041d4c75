"""F&O ``$batch``: each part runs through the same handler as a single request.

The multipart format, change-set atomicity, ``$n`` references and continue-on-error are
:mod:`sandbox.batch`'s; this module only turns parts into :class:`sandbox.finops.Req` and
replies back into parts, with F&O's limit of 5,000 operations per batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from sandbox import batch
from sandbox.finops_protocol import MAX_BATCH_OPERATIONS, ODataError, bad_request

if TYPE_CHECKING:
    from sandbox.finops import FinOps, Reply, Req


def run_batch(service: FinOps, req: Req) -> Reply:
    from sandbox.finops import Reply

    try:
        parts = batch.parse(req.body, req.headers.get("content-type", ""), max_requests=MAX_BATCH_OPERATIONS)
    except batch.BatchError as exc:
        raise bad_request(str(exc)) from None

    def dispatch(sub: batch.SubRequest) -> batch.SubResponse:
        try:
            inner = _sub_request(req, sub)
        except ODataError as err:
            reply = Reply.error(err)
        else:
            reply = service.handle(inner)
        headers = {k.lower(): v for k, v in reply.headers.items()}
        if reply.media_type:
            headers["content-type"] = reply.media_type
        return batch.SubResponse(reply.status, headers, reply.body)

    def reference_error(ref: str) -> batch.SubResponse:
        reply = Reply.error(bad_request(f"The Content-ID reference '{ref}' does not name an earlier request of this change set."))
        return batch.SubResponse(reply.status, {"content-type": reply.media_type or ""}, reply.body)

    continue_on_error = "odata.continue-on-error" in req.prefer()
    result = batch.execute(
        parts,
        dispatch,
        service.store_transaction,
        continue_on_error=continue_on_error,
        reference_error=reference_error,
    )
    body, content_type = batch.build(result.parts)
    return Reply(200, body, {}, content_type)


def _sub_request(outer: Req, sub: batch.SubRequest) -> Req:
    """A part's URL (absolute, server-relative or relative to ``/data/``) as a request to the service."""
    from sandbox.finops import Req

    url = urlsplit(sub.url)
    path = url.path
    root = urlsplit(outer.base_url).path  # /data/
    if url.scheme and url.netloc and not sub.url.startswith(outer.base_url.split("/data/")[0]):
        raise bad_request(f"The batch part URL '{sub.url}' does not belong to this service.")
    if path.startswith(root):
        path = path[len(root) :]
    elif path.startswith("/"):
        raise bad_request(f"The batch part URL '{sub.url}' does not belong to this service.")
    headers = dict(sub.headers)
    return Req(
        method=sub.method,
        path=path,
        query=parse_qsl(url.query, keep_blank_values=True),
        headers=headers,
        body=sub.body,
        base_url=outer.base_url,
    )
