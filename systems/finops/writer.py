"""The Finance & Operations half of the writeback: addressing a record, building its request, reading the answer.

A record is addressed by its full composite key, company first:
``CustomersV3(dataAreaId='usmf',CustomerAccount='A-1')``. F&O has no upsert: a create is a
``POST`` to the collection with the key in the body; updates and deactivations are ``PATCH`` with
``If-Match`` (the etag, else ``*``). A create answered "already exists" (409, or an error text
saying so) is ``exists``: on a resend after a lost answer it becomes a guarded ``PATCH``
(:func:`resend_existing`), on a first attempt the record was created by someone else since
extraction. Key columns are dropped from update bodies.

``$batch``: one change set per record (strict OData 4.0 multipart, reading ``cross-company``
keys), at most 5000 operations per batch; 500 by default, so a batch fails smaller.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from p2c_core.keys import KeyValueError, literal
from p2c_core.multipart import PartResponse
from p2c_core.odata import error_of
from systems.finops.entities import COMPANY
from systems.system import BatchLimits, CreateRefusal, Record, Request

LIMITS = BatchLimits(max_batch=5000, batch=500, changeset=1)  # service protection: 5000 operations per $batch
# what F&O says when a create meets an existing key (besides 409)
_EXISTS_WORDS = ("already exist", "duplicate", "matching key values")
_JSON = {"Content-Type": "application/json"}


def key_segment(collection: str, key: Mapping[str, Any]) -> str:
    """The key segment with every key part, ``dataAreaId`` first when present."""
    if not key:
        raise KeyValueError(f"no key to address a record in {collection}")
    ordered = sorted(key.items(), key=lambda kv: kv[0] != COMPANY)
    return f"{collection}({','.join(f'{n}={literal(n, v, guid_bare=False)}' for n, v in ordered)})"


def company_of(key: Mapping[str, Any]) -> str | None:
    """A key's legal entity (``dataAreaId``); None for a global entity."""
    return key.get(COMPANY) or None


def _without_keys(payload: Mapping[str, Any], key: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in key}


def build(row: Record, mode: str) -> Request:
    """The request for ``row``: ``POST`` with the key in the body, or a guarded ``PATCH``."""
    key = row.target_key
    if row.operation == "create":
        body = {**key, **_without_keys(row.payload, key)}
        return Request(method="POST", path=row.target_set, headers=dict(_JSON), body=body, kind="create")
    return Request(method="PATCH", path=key_segment(row.target_set, key), headers={**_JSON, "If-Match": row.etag or "*"},
                   body=_without_keys(row.payload, key), kind=row.operation)


def resend_existing(row: Record) -> Request:
    """The retry of a create whose first attempt already went through: a guarded PATCH."""
    key = row.target_key
    return Request(method="PATCH", path=key_segment(row.target_set, key), headers={**_JSON, "If-Match": "*"},
                   body=_without_keys(row.payload, key), kind="create_as_update")


def refused_create(request: Request, status: int, response: PartResponse | None) -> CreateRefusal | None:
    """409, or an error whose text says the key exists: ``exists``."""
    _, message = error_of(response)
    if status == 409 or any(w in (message or "").lower() for w in _EXISTS_WORDS):
        return "exists"
    return None


class FinOpsWriter:
    """F&O writes for one run: nothing to look up, each request built from the row alone."""

    lookups = 0

    def __init__(self, fetch=None, conn=None, **_options) -> None:
        """The same arguments as every writer's; F&O needs none of them."""

    def prepare(self, rows: Sequence[Record]) -> None:
        return None

    def request(self, row: Record, mode: str) -> Request:
        return build(row, mode)

    refused_create = staticmethod(refused_create)
    resend_existing = staticmethod(resend_existing)

    def learned_id(self, row: Record, response: PartResponse | None) -> str | None:
        return None
