"""Run the extraction: the ``p2c_crm`` and ``p2c_erp`` dlt pipelines into the warehouse.

API::

    results = run_extract(["crm", "erp"], on_page=callback)   # roles -> list[ExtractResult]

Each role: resolve its connection (``p2c_core.connection``), fetch a token (a wrong secret or
an unreachable token URL raises ``p2c_core.errors.ConfigError`` before anything is read), then run
the dlt source of the system playing it (``systems.system_for(role)``) in the role's pipeline:
pipeline ``p2c_<role>``, dataset ``<role>_raw``, destination the configured
warehouse (``p2c_core.warehouse``: the DuckDB file ``P2C_WAREHOUSE`` or PostgreSQL), working directory ``p2c_core.settings.pipelines_dir()`` — so
``dlt pipeline --pipelines-dir <dir> p2c_crm info|trace|failed-jobs`` shows the last run.
On DuckDB one connection to the warehouse serves the whole run (both pipelines, every load job): dlt
opens and closes the file per load job otherwise, and each close checkpoints the database.
Pages reach dlt as Arrow tables and load as parquet (``p2c_core.pages``); entities of a system are read concurrently
(dlt's parallelised resources, ``extract.workers`` threads, default 5; HTTP connections bounded by
``max_connections``). A page the service fails after retries fails the run with
:class:`ExtractError` naming the entity and the URL.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Sequence

import dlt
import httpx
from dlt.pipeline.exceptions import PipelineStepFailed

from p2c_core import settings, warehouse
from p2c_core.connection import ROLES, Role, resolve_connection
from p2c_core.crashpoints import crashpoint
from p2c_core.errors import ConfigError
from p2c_core.http import RetryPolicy, make_client, preflight
from p2c_core.odata import PageError
from p2c_core.runs import StageOutcome
from systems import candidates, system_for

OnPage = Callable[[str, str, int], None]  # (role, entity set, rows in the page)

# the contract wants _dlt_load_id and _dlt_id on every raw row: dlt adds the load id at
# extraction; pages carry their own _dlt_id (p2c_core.pages), so the normalizer must not add one
_DLT_DEFAULTS = {
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID": "true",
    "RUNTIME__DLTHUB_TELEMETRY": "false",
}
_DLT_FORCED = {"NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID": "false"}


class ExtractError(RuntimeError):
    """Extraction failed: the message names the role, the entity and the URL (never a token)."""


@dataclass
class ExtractResult:
    system: str  # the role
    rows: dict[str, int] = field(default_factory=dict)  # entity set → rows read (deletions included)
    pages: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    load_id: str | None = None

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


@contextmanager
def warehouse_connection() -> Iterator[warehouse.Connection]:
    """One open connection to the warehouse for a run; closed (and checkpointed) at the end."""
    with warehouse.current().connect() as con:
        yield con


def make_pipeline(system: Role, connection: warehouse.Connection | None = None) -> dlt.Pipeline:
    """The dlt pipeline of one role, on the configured warehouse (``p2c_core.warehouse``) and the
    pipelines dir of ``p2c_core.settings``.

    ``connection``: an open connection to the warehouse that dlt borrows (on DuckDB: cursors per
    thread, never closed); without one dlt opens the warehouse itself.
    """
    settings.pipelines_dir().mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=settings.PIPELINE_NAMES[system],
        destination=warehouse.current().dlt_destination(connection),
        dataset_name=settings.DATASET_NAMES[system],
        pipelines_dir=str(settings.pipelines_dir()),
        progress=None,
    )


def _cause(exc: BaseException) -> BaseException:
    """The first PageError / ConfigError in the chain dlt wrapped around it, else ``exc``."""
    seen = exc
    while seen is not None:
        if isinstance(seen, (PageError, ConfigError)):
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc


def extract_system(
    system: Role,
    *,
    entities: Sequence[str] | None = None,
    on_page: OnPage | None = None,
    transport: httpx.BaseTransport | None = None,
    max_connections: int = 8,
    full_reload: bool = False,
    retry: RetryPolicy = RetryPolicy(),
    connection: warehouse.Connection | None = None,
    checked: bool = False,
) -> ExtractResult:
    """Extract the system playing one role into the role's raw dataset; raise ConfigError or ExtractError on failure.

    ``connection``: the run's warehouse connection (:func:`warehouse_connection`); without one the
    system opens its own for the duration of the call. ``checked``: the caller already fetched a
    token (:func:`p2c_core.http.preflight`), so it is not fetched twice.
    """
    if not checked:
        preflight(resolve_connection(system), transport=transport)
    with warehouse_connection() if connection is None else nullcontext(connection) as con:
        return _extract_system(system, entities, on_page, transport, max_connections, full_reload, retry, con)


def _extract_system(
    system: Role,
    entities: Sequence[str] | None,
    on_page: OnPage | None,
    transport: httpx.BaseTransport | None,
    max_connections: int,
    full_reload: bool,
    retry: RetryPolicy,
    connection: warehouse.Connection,
) -> ExtractResult:
    for key, value in _DLT_DEFAULTS.items():
        os.environ.setdefault(key, value)
    os.environ.update(_DLT_FORCED)
    conn = resolve_connection(system)
    result = ExtractResult(system)
    lock = threading.Lock()

    def page_seen(entity: str, rows: int) -> None:
        with lock:
            result.rows[entity] = result.rows.get(entity, 0) + rows
            result.pages[entity] = result.pages.get(entity, 0) + 1
        if on_page:
            on_page(system, entity, rows)

    started = time.monotonic()
    with make_client(conn, transport=transport, max_connections=max_connections, retry=retry) as client:
        pipeline = make_pipeline(system, connection)
        try:
            if pipeline.has_pending_data:
                # a killed run left a load package (its delta links inside): load it first, then read
                # afresh (dlt's run() would load it and skip this run's extraction); before looking at
                # which tables exist, so a table that package creates is merged into, not appended to
                _drop_committed_extracts(pipeline)
                pipeline.normalize()
                pipeline.load()
        except PipelineStepFailed as exc:
            raise ExtractError(f"{system}: loading the package a killed run left failed: {_cause(exc)}") from exc
        loaded = _loaded_tables(system, connection)
        # the role's dataset filled by another system (the ERP switched from F&O to Business Central,
        # or back): its tables and the source's state are dropped, and this system reads afresh
        switched = bool(loaded & _other_systems_tables(system))
        if switched:
            loaded = set()
        source = system_for(system).dlt_source(client, entities, page_seen, loaded_tables=loaded,
                                               full_reload=full_reload or switched)
        for resource in source.resources.selected.values():
            if resource.table_name not in loaded:
                # a first load of a table is a plain insert: no staging copy, no merge/swap
                resource.apply_hints(write_disposition="append")
        pipeline = make_pipeline(system, connection)
        try:
            # dlt's run() = extract → normalize → load; called step by step so a crash can land between them
            pipeline.extract(source, loader_file_format="parquet", refresh="drop_sources" if switched else None)
            crashpoint("extract.after_dlt_extract")
            pipeline.normalize()
            crashpoint("extract.after_dlt_normalize")
            info = pipeline.load()
            crashpoint("extract.after_dlt_load")
        except PipelineStepFailed as exc:
            cause = _cause(exc)
            if isinstance(cause, ConfigError):
                raise cause from None
            if isinstance(cause, PageError):
                raise ExtractError(f"{system}: {cause}") from None
            raise ExtractError(f"{system}: {exc.step} failed: {cause}") from exc
    result.seconds = time.monotonic() - started
    result.load_id = info.loads_ids[-1] if info.loads_ids else None
    return result


def _drop_committed_extracts(pipeline: dlt.Pipeline) -> None:
    """A run killed inside dlt's normalize commit — it had moved the normalized package into place
    (one directory rename), not yet deleted the extracted one — leaves the package twice, and
    normalizing it again fails on the one in place. The normalized package is whole: the extracted
    leftover is dropped, and the load that follows loads the package once."""
    done = {*pipeline.list_normalized_load_packages(), *pipeline.list_completed_load_packages()}
    leftovers = [load_id for load_id in pipeline.list_extracted_load_packages() if load_id in done]
    if leftovers:
        extracted = pipeline._get_normalize_storage().extracted_packages  # dlt has no public call for one package
        for load_id in leftovers:
            extracted.delete_package(load_id)


_tables_lock = threading.Lock()  # the two roles' threads share the run's connection


def _other_systems_tables(role: Role) -> set[str]:
    """The raw tables only another system that can play ``role`` loads (F&O's ``customers_v3`` while
    Business Central plays the ERP, BC's ``items`` while F&O does)."""
    own = {e.table for e in system_for(role).entities}
    return {e.table for s in candidates(role).values() for e in s.entities} - own


def _loaded_tables(system: Role, connection: warehouse.Connection) -> set[str]:
    """The raw tables the warehouse holds for the role ``system``."""
    with _tables_lock:
        return set(connection.tables(settings.DATASET_NAMES[system]))


def run_extract(
    systems: Iterable[Role] = ROLES,
    **options,
) -> list[ExtractResult]:
    """Extract the roles' systems side by side into the warehouse; options as :func:`extract_system`.

    Both connections are checked first, so a configuration error stops the run before anything
    loads. The two pipelines write different datasets, so they can load at the same time, through
    one warehouse connection.
    """
    systems = list(systems)
    for system in systems:
        preflight(resolve_connection(system), transport=options.get("transport"))
    crashpoint("extract.after_preflight")
    with warehouse_connection() as con, ThreadPoolExecutor(
        max_workers=len(systems) or 1, thread_name_prefix="p2c-extract"
    ) as pool:
        futures = [pool.submit(extract_system, system, connection=con, checked=True, **options) for system in systems]
        return [future.result() for future in futures]


def extract_stage(
    run_id: str, systems: Iterable[Role] = ROLES, entities: Sequence[str] | None = None
) -> StageOutcome:
    """``p2c run``'s extract stage: both roles; counts ``{"extracted": rows}`` per canonical entity.

    An orchestrator runs it per role (``systems``) and for the entity sets it selected."""
    counts: dict[str, dict[str, int]] = {}
    results = run_extract(systems, entities=entities)
    for result in results:
        system = system_for(result.system)
        for entity_set, rows in result.rows.items():
            entity = system.canonical(entity_set)
            counts.setdefault(entity, {"extracted": 0})["extracted"] += rows
    total = sum(r.total_rows for r in results)
    return StageOutcome(
        counts=counts,
        message=f"{total} rows read",
        detail={r.system: {"rows": r.rows, "seconds": round(r.seconds, 2), "load_id": r.load_id} for r in results},
    )
