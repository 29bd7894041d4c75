"""The Business Central half of the writeback: addressing a record, building its request, reading the answer.

A record lives in a company and is addressed by its GUID: ``companies({companyId})/<set>({id})``;
the writeback models give ``{"companyId": <guid>, "id": <guid>}`` for an existing record and
``{"companyId": <guid>, "number": "<no>"}`` for one p2c creates (BC assigns the ``id``).

- create: ``POST companies({companyId})/<set>`` with the number and the payload; a new document's
  payload may carry its lines (``salesOrderLines: [...]``): BC's deep insert creates both at once.
- update: ``PATCH …(<id>)`` with ``If-Match`` = the ETag extracted with the row. BC refuses a PATCH
  or DELETE without ``If-Match`` (400 ``BadRequest_InvalidToken``), and p2c never sends ``*`` over
  an edit it has not seen: a row without an ETag fails here, unsent (:class:`MissingETag`), unless
  this run created the record (then its create answer's ETag, else ``*``). A stale ETag is 412:
  ``changed_since_extract``, settled by the next run's merge.
- deactivate: a ``PATCH`` of its payload (e.g. ``blocked``), or ``DELETE`` when it has none.
- a create answered "already exists" (409, ``Internal_EntityWithSameKeyExists``, or the words) is
  ``exists``; on a resend after a lost answer the record is found again with
  ``$filter=number eq '…'`` and updated (``If-Match: *``: this run created it).

``$batch``: JSON (:mod:`p2c_core.jsonbatch`), at most 100 operations, each answering on its own.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from p2c_core.jsonbatch import JSON_BATCH
from p2c_core.keys import GUID, KeyValueError
from p2c_core.multipart import PartResponse
from p2c_core.odata import RequestFailed, error_of
from systems.business_central.entities import COMPANY, LINE_SET
from systems.system import BatchLimits, CreateRefusal, Fetch, Record, Request, Unresolved

LIMITS = BatchLimits(max_batch=100, batch=100, changeset=0, codec=JSON_BATCH)  # BC: 100 operations per $batch
_EXISTS_CODES = frozenset({"Internal_EntityWithSameKeyExists"})
_EXISTS_WORDS = ("already exist",)
_JSON = {"Content-Type": "application/json"}


class MissingETag(KeyValueError):
    """An update of a record whose ETag p2c did not extract: never sent (BC would need ``*``)."""


def _guid(key: Mapping[str, Any], name: str, entity_set: str) -> str:
    value = key.get(name)
    if not isinstance(value, str) or not GUID.match(value):
        raise KeyValueError(f"{entity_set}: {name} {value!r} is not a GUID (a Business Central record is addressed "
                            f"by its company's and its own id)")
    return value.lower()


def collection(entity_set: str, key: Mapping[str, Any]) -> str:
    """``companies(<companyId>)/<set>``."""
    return f"companies({_guid(key, COMPANY, entity_set)})/{entity_set}"


def record_path(entity_set: str, key: Mapping[str, Any]) -> str:
    """``companies(<companyId>)/<set>(<id>)``."""
    return f"{collection(entity_set, key)}({_guid(key, 'id', entity_set)})"


def _body(payload: Mapping[str, Any], *, lines: str | None = None) -> dict[str, Any]:
    """The payload without key columns (and without a line collection: BC refuses it on PATCH).
    A line's ``documentId`` rides only when known: a line deep-inserted in its new document has none."""
    return {k: ([_body(x) if isinstance(x, Mapping) else x for x in v] if isinstance(v, list) else v) for k, v in payload.items()
            if k not in (COMPANY, "id") and k != lines and not (k == "documentId" and v is None)}


def refused_create(request: Request, status: int, response: PartResponse | None) -> CreateRefusal | None:
    """409, BC's "same key exists" code, or an error saying so: ``exists``."""
    code, message = error_of(response)
    if status == 409 or code in _EXISTS_CODES or any(w in (message or "").lower() for w in _EXISTS_WORDS):
        return "exists"
    return None


class BusinessCentralWriter:
    """BC writes for one run. ``fetch``: a retrying GET against the service (finds a record by number)."""

    def __init__(self, fetch: Fetch | None = None, conn=None, **_options) -> None:
        self.fetch = fetch
        self.lookups = 0
        # (set, company, number) → (id, etag) of the records this run created
        self.created: dict[tuple[str, str, str], tuple[str, str | None]] = {}

    def prepare(self, rows: Sequence[Record]) -> None:
        return None

    def find(self, entity_set: str, key: Mapping[str, Any]) -> str | None:
        """The id of the record numbered ``key["number"]`` in its company (one GET), else None."""
        if self.fetch is None:
            raise Unresolved(f"{entity_set} {key.get('number')!r}: no connection to find it by number")
        self.lookups += 1
        number = str(key["number"]).replace("'", "''")
        params = {"$filter": f"number eq '{number}'", "$select": "id"}
        found = self.fetch(collection(entity_set, key), params).get("value") or []
        return str(found[0]["id"]).lower() if found else None

    def _address(self, row: Record) -> tuple[str, str | None]:
        """(path, If-Match) of an existing record; MissingETag when there is no ETag to send."""
        key = dict(row.target_key)
        created = self.created.get((row.target_set, str(key.get(COMPANY, "")).lower(), str(key.get("number"))))
        if "id" not in key and created:
            key["id"] = created[0]
        if "id" not in key and key.get("number") is not None:
            found = self.find(row.target_set, key)
            if found is None:
                raise Unresolved(f"{row.target_set} {key['number']!r} is not in Business Central (yet)")
            key["id"] = found
        path = record_path(row.target_set, key)
        if row.etag:
            return path, row.etag
        if created and created[0] == key["id"]:
            return path, created[1] or "*"  # created in this run: nothing newer can be overwritten
        raise MissingETag(f"{row.target_set} {key.get('number') or key['id']}: no ETag was extracted for this record, "
                          "and p2c never updates Business Central with If-Match: * (it would overwrite newer edits)")

    def request(self, row: Record, mode: str) -> Request:
        key = row.target_key
        if row.operation == "create":
            body = {**({"number": key["number"]} if key.get("number") is not None else {}), **_body(row.payload)}
            return Request("POST", collection(row.target_set, key), dict(_JSON), body, "create")
        path, etag = self._address(row)
        if row.operation == "deactivate" and not row.payload:
            return Request("DELETE", path, {"If-Match": etag}, None, "deactivate")
        body = _body(row.payload, lines=LINE_SET.get(row.target_set))
        return Request("PATCH", path, {**_JSON, "If-Match": etag}, body, row.operation)

    refused_create = staticmethod(refused_create)

    def resend_existing(self, row: Record) -> Request:
        """The retry of a create whose first attempt went through: found by number, then updated."""
        key = row.target_key
        try:
            found = self.find(row.target_set, key) if key.get("number") is not None else None
        except (RequestFailed, Unresolved):
            found = None
        if found is None:  # not found after all: the create again
            return self.request(row, "upsert")
        path = record_path(row.target_set, {**key, "id": found})
        body = _body(row.payload, lines=LINE_SET.get(row.target_set))
        return Request("PATCH", path, {**_JSON, "If-Match": "*"}, body, "create_as_update")

    def learned_id(self, row: Record, response: PartResponse | None) -> str | None:
        """None (the CRM's GUIDs only); a create's id and ETag are kept for later writes of this run."""
        if row.operation == "create" and response is not None:
            body = response.json()
            if isinstance(body, dict) and body.get("id"):
                key = row.target_key
                number = body.get("number", key.get("number"))
                etag = body.get("@odata.etag") or response.header("ETag")
                self.created[(row.target_set, str(key.get(COMPANY, "")).lower(), str(number))] = (
                    str(body["id"]).lower(), etag)
        return None
