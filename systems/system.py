"""What a system is to p2c: the shape every system home (``systems/<name>/``) fills in.

A :class:`System` names the product, declares the role it plays in the merge (``crm`` or ``erp``),
and holds everything p2c knows about it: its entity table, its page size, its dlt source factory,
its writer factory, its ``$batch`` limits and format (codec), its tenant check, and where its
organisations (the companies the company map names) are read. The registry (:mod:`systems`) lists the systems and
says which one plays each role; the stages ask it and never branch on a name.

A writer (:class:`Writer`) is one system's half of the writeback: how to address a record, how to
build the request for one planned write, how to read the service's answer to a create of a record
that exists, and what identity a write taught it. The executor, the plan and the store stay
system-agnostic: they see :class:`Request` values.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Protocol, Sequence

from p2c_core.connection import Role
from p2c_core.entity import EntitySpec
from p2c_core.multipart import MULTIPART, BatchCodec, PartResponse

Fetch = Callable[[str, dict], dict]  # GET path with params → JSON body (retries are the caller's)
CreateRefusal = Literal["skipped", "exists"]


class Unresolved(LookupError):
    """A record this write refers to does not exist (yet) in the target: the write waits."""


@dataclass(frozen=True)
class BatchLimits:
    """How a system takes ``$batch`` requests."""

    max_batch: int  # the service's limit of requests in one $batch
    batch: int  # default requests per $batch (``[writeback] <role>_batch_size``)
    changeset: int  # default requests per change set: 0 = none (``[writeback] <role>_changeset_size``)
    codec: BatchCodec = MULTIPART  # the $batch body format (p2c_core.multipart, p2c_core.jsonbatch)


@dataclass(frozen=True)
class Request:
    """One write of one record, relative to the service root."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: dict[str, Any] | None
    kind: str  # 'create' | 'update' | 'deactivate' | 'create_as_update' (a create found existing on a resend)


class Record(Protocol):
    """What a writer reads of a planned write (a row of a ``writeback.*`` model)."""

    @property
    def target_set(self) -> str: ...
    @property
    def operation(self) -> str: ...  # create | update | deactivate
    @property
    def target_key(self) -> dict: ...
    @property
    def payload(self) -> dict: ...
    @property
    def etag(self) -> str | None: ...
    @property
    def crm_id(self) -> str | None: ...


class Writer(Protocol):
    """One system's writes during one writeback run."""

    lookups: int  # GET requests made to find records (counted in the run's HTTP requests)

    def prepare(self, rows: Sequence[Record]) -> None:
        """Look up, in as few requests as possible, what :meth:`request` will need for ``rows``."""

    def request(self, row: Record, mode: str) -> Request:
        """The request for one planned write (``mode``: upsert | update_only | create_only).

        Raises :class:`Unresolved` (the record waits), ``p2c_core.keys.KeyValueError`` (the key
        cannot be written into a URL: fails) or ``p2c_core.odata.RequestFailed`` (a look-up failed)."""

    def refused_create(self, request: Request, status: int, response: PartResponse | None) -> CreateRefusal | None:
        """A create answered ``status``: ``skipped`` (create-only and the record exists), ``exists``
        (the key exists: resent after a lost answer, or someone else created it) or None (a failure)."""

    def resend_existing(self, row: Record) -> Request:
        """The write of a create whose first attempt went through before its answer was lost."""

    def learned_id(self, row: Record, response: PartResponse | None) -> str | None:
        """The id a successful write gave the record (a created Dataverse record's GUID), else None."""


def imported(path: str) -> Callable[..., Any]:
    """The function ``module:name``, imported on its first call: a source module imports dlt, which
    is slow, and a look-up in the registry needs none of it."""
    module, _, name = path.partition(":")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__qualname__ = call.__name__ = path
    return call


@dataclass(frozen=True)
class Organisation:
    """One organisation of a system (an F&O legal entity, a BC company), as the company map names it."""

    value: str  # what the company map's ERP column (:attr:`Organisations.map_column`) holds for it
    code: str  # the canonical company code a draft map proposes (canonical keys are ``<code>|<number>``)
    name: str  # its long name (a draft pairs it with the CRM's business units by its words)
    currency: str = ""  # its accounting currency ('' when the service does not say)


@dataclass(frozen=True)
class Organisations:
    """Where a system's organisations are: read from the service (``p2c init`` drafts the company map
    from them), found in the raw tables once extracted (the company map's check before dbt), and
    which column of the company map names them."""

    read: Callable[[Any], list[Organisation]]  # client of the role's connection → its organisations
    table: str  # the raw table (in the role's dataset) that holds them once extracted
    column: str  # its column holding :attr:`Organisation.value`
    noun: str  # what the system calls one ("legal entity", "company")
    map_column: str = "company"  # the company map's column naming them
    case_sensitive: bool = True  # whether the map must spell them in the same case


# (fetch, warehouse connection, *, dataset, ref_chunk, lookup_binding) → a Writer
WriterFactory = Callable[..., Writer]
SourceFactory = Callable[..., Any]  # (client, entities, on_page, *, name, full_reload, loaded_tables, parallelized) → dlt source


@dataclass(frozen=True)
class System:
    """One product p2c talks to, and the role it plays."""

    name: str  # 'dataverse' | 'finops' | 'business_central'
    role: Role  # 'crm' | 'erp'
    title: str  # as the user knows it
    entities: tuple[EntitySpec, ...]  # the entity table: the one place its sets, keys and columns are declared
    page_size: int  # rows per page the source asks for
    source: SourceFactory  # the dlt source (named after the role)
    writer: WriterFactory  # the writeback's half for this system
    limits: BatchLimits
    company_of: Callable[[Mapping[str, Any]], str | None] = field(default=lambda key: None)  # a key's legal entity
    # (client of the role's connection, role) → what the tenant lacks that p2c needs (the preflight's
    # tenant check; a ConfigError naming sources.<role>.base_url when the metadata cannot be read)
    tenant_problems: Callable[[Any, str], list[str]] = field(default=lambda client, role: [])
    organisations: Organisations | None = None  # an ERP's companies (the company map's ERP side)

    def dlt_source(self, client, entities: Sequence[str] | None = None, on_page=None, **options):
        """The system's dlt source, named after its role (so the pipeline's state and dataset stay the role's)."""
        return self.source(client, entities, on_page, name=self.role, **options)

    def canonical(self, entity_set: str) -> str:
        """The canonical entity a set feeds; a reference set counts under its own name."""
        found = [e.canonical for e in self.entities if e.entity_set == entity_set]
        return (found[0] if found else None) or entity_set
