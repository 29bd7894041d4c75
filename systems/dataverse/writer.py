"""The Dataverse half of the writeback: addressing a record, building its request, reading the answer.

Every write is a ``PATCH`` to the record's key URL — its GUID (``accounts(<guid>)``) or an
alternate key (``accounts(accountnumber='A''1')``) — which is an upsert, so a retried or resumed
create never duplicates a record. Creates ask ``Prefer: return=representation`` + ``$select=<pk>``
for the new GUID (children and ``couplings.crm_id`` need no look-up); ``If-Match: <etag>`` (else
``*``) guards updates and deactivations, so an update never creates; ``If-None-Match: *`` makes a
create-only write refuse an existing record (412: ``skipped``). Alternate-key columns are dropped
from bodies. A deactivation without payload sends ``statecode 1 / statuscode 2``.

Dataverse refuses some characters in alternate-key values outright (``/ < > * % & : \\ ? +``); those
are rejected here with a clear error instead of a confusing 400/404 from the service. ``{"ref": …}``
key parts and ``@odata.bind`` lookups are resolved to GUIDs first (:mod:`systems.dataverse.lookups`).

``$batch``: plain parts (no change sets) with ``Prefer: odata.continue-on-error``, at most 1000
requests per batch.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping, Sequence

from p2c_core.keys import GUID, KeyValueError, literal
from p2c_core.multipart import PartResponse
from systems.dataverse.entities import primary_key
from systems.dataverse.lookups import GuidBinder, RefResolver, guid_from_entity_id
from systems.system import BatchLimits, CreateRefusal, Fetch, Record, Request

LIMITS = BatchLimits(max_batch=1000, batch=1000, changeset=0)  # no more than 1000 requests in one $batch
# documented as unsupported in Dataverse alternate-key values
UNSUPPORTED = frozenset("/<>*%&:\\?+")
# the state of a deactivated record when the model gives no explicit payload
INACTIVE = {"statecode": 1, "statuscode": 2}


class UnsupportedKeyValue(KeyValueError):
    def __init__(self, field: str, value: str, chars: set[str]) -> None:
        shown = " ".join(sorted(chars))
        super().__init__(
            f"key value {field}={value!r} contains {shown}: Dataverse does not support these characters "
            "in alternate-key values; give the record a key without them or address it by its GUID"
        )
        self.field = field
        self.value = value


def key_segment(entity_set: str, key: Mapping[str, Any]) -> str:
    """The key segment: ``accounts(<guid>)`` for a single primary key, else ``set(a=…,b=…)``."""
    if not key:
        raise KeyValueError(f"no key to address a record in {entity_set}")
    if len(key) == 1:
        ((name, value),) = key.items()
        if isinstance(value, str) and GUID.match(value) and name.endswith("id"):
            return f"{entity_set}({value.lower()})"
    parts = []
    for name, value in key.items():
        if isinstance(value, str) and not GUID.match(value):
            bad = set(value) & UNSUPPORTED
            if bad:
                raise UnsupportedKeyValue(name, value, bad)
        parts.append(f"{name}={literal(name, value)}")
    return f"{entity_set}({','.join(parts)})"


def _without_keys(payload: Mapping[str, Any], key: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k not in key}


def build(row: Record, key: dict[str, Any], mode: str) -> Request:
    """The request for ``row``; ``key`` is ``row.target_key`` with references already resolved to GUIDs."""
    path = key_segment(row.target_set, key)
    headers: dict[str, str] = {"Content-Type": "application/json"}
    # alternate-key columns come from the URL; repeating them in the body is not allowed on update
    body = _without_keys(row.payload, key)
    if row.operation == "create":
        # ask for the new GUID back so children and couplings need no extra lookup
        headers["Prefer"] = "return=representation"
        path += f"?$select={primary_key(row.target_set)}"
        if mode == "create_only":
            headers["If-None-Match"] = "*"
    else:
        # never let an update or deactivation create a record: If-Match always
        headers["If-Match"] = row.etag or "*"
        if row.operation == "deactivate" and not body:
            body = dict(INACTIVE)
    return Request(method="PATCH", path=path, headers=headers, body=body, kind=row.operation)


def refused_create(request: Request, status: int, response: PartResponse | None) -> CreateRefusal | None:
    """412 on ``If-None-Match: *``: create-only and the record exists (an upsert never meets an existing key)."""
    if status == 412 and request.headers.get("If-None-Match") == "*":
        return "skipped"
    return None


def _no_crm(path: str, params: dict) -> dict:
    raise RuntimeError("no CRM connection to resolve references")


class DataverseWriter:
    """Dataverse writes for one run: references and lookups resolved to GUIDs, then PATCH upserts.

    ``fetch``: a retrying GET against the service (None: no connection, look-ups fail); ``conn``:
    the warehouse, whose raw ``dataset`` binds lookups without a request; ``lookup_binding``:
    ``guid`` (rewrite ``@odata.bind`` alternate keys to GUIDs) or ``alternate_key`` (send as written).
    """

    def __init__(self, fetch: Fetch | None, conn, *, dataset: str, ref_chunk: int = 50, lookup_binding: str = "guid") -> None:
        self.resolver = RefResolver(fetch or _no_crm, primary_key, ref_chunk)
        self.binder = GuidBinder(conn, self.resolver, dataset) if lookup_binding == "guid" else None

    @property
    def lookups(self) -> int:
        return self.resolver.queries

    def prepare(self, rows: Sequence[Record]) -> None:
        self.resolver.prefetch(r.target_key for r in rows)
        if self.binder is not None:
            self.binder.prefetch(r.payload for r in rows)

    def request(self, row: Record, mode: str) -> Request:
        if self.binder is not None:
            row = dataclasses.replace(row, payload=self.binder.bind(row.payload))
        return build(row, self.resolver.substitute(row.target_key), mode)

    refused_create = staticmethod(refused_create)

    def resend_existing(self, row: Record) -> Request:
        """Never needed (a create is an upsert); for the protocol: the same upsert again."""
        return dataclasses.replace(self.request(row, "upsert"), kind="create_as_update")

    def learned_id(self, row: Record, response: PartResponse | None) -> str | None:
        """A written record's GUID (response body or ``OData-EntityId``), cached for its children."""
        guid = None
        if response is not None:
            body = response.json()
            if isinstance(body, dict):
                guid = body.get(primary_key(row.target_set))
            guid = guid or guid_from_entity_id(response.header("OData-EntityId") or response.header("Location"))
        guid = guid or row.crm_id
        if guid:
            self.resolver.remember(row.target_set, self.resolver.substitute_partial(row.target_key), str(guid))
        return str(guid).lower() if guid else None
