"""Applying the plan: dependency order, batches per entity set, outcomes into ``p2c_sync``.

For each dependency rank (parents first) and each target system and entity set in it: records
whose parent did not make it are logged ``waiting`` (naming the parent) and not attempted; the
rest are sent in ``$batch`` requests; each batch's outcomes are committed with the base they move
(see :mod:`reverse_etl.store`). A target system is a role (``crm``, ``erp``); what a request looks
like and what an answer means is the writer's of the system playing it (``systems.system_for(role)
.writer``): this module never asks which system it is. The HTTP clients come from
``p2c_core.http.make_client`` (auth, token renewal); this module never builds one.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterator, Mapping, Protocol

import httpx

from p2c_core import settings, sync_schema, warehouse
from p2c_core.crashpoints import crashpoint
from p2c_core.keys import KeyValueError
from p2c_core.odata import RequestFailed, error_of
from p2c_core.runs import StageOutcome, book_stage, new_run_id
from reverse_etl import store
from reverse_etl.clients import make_clients
from reverse_etl.config import WritebackConfig, load_config
from reverse_etl.executor import BatchExecutor, Operation, Result, get_json
from reverse_etl.plan import Plan, WriteRow, blocking_parent, build_plan, merge_outcome
from reverse_etl.store import LogEntry
from systems import ROLES, Unresolved, Writer, system_for

# writeback rows read from the warehouse at a time (a multiple of the $batch sizes); base updates
# are read and committed as many records at a time (store.apply_base_updates)
PLAN_CHUNK = 5000


class Progress(Protocol):
    """Told each target set's total in plan order (dependency rank: currencies, units, customers, …,
    documents), then each record as it is done. A display that also wants the outcomes (written,
    failed, waiting and why) defines ``outcome(entry: LogEntry)``, called once per record."""

    def start(self, system: str, entity_set: str, total: int) -> None: ...
    def advance(self, system: str, entity_set: str, n: int) -> None: ...


@dataclass
class WritebackResult:
    run_id: str
    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # "system:set" → status counts
    # canonical entity → the run summary's vocabulary (created, updated, failed, waiting, …)
    by_entity: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    http_requests: int = 0
    requests_by_role: dict[str, int] = field(default_factory=dict)  # role → its $batch POSTs and look-ups
    records_attempted: int = 0
    base_updates: int = 0

    @property
    def totals(self) -> Counter:
        total: Counter = Counter()
        for c in self.counts.values():
            total.update(c)
        return total

    @property
    def clean(self) -> bool:
        t = self.totals
        return not (t["failed"] or t["waiting"] or t["changed_since_extract"])


def classify(result: Result, writer: Writer) -> str:
    """written | changed_since_extract | skipped | failed | exists (a create of an existing key,
    where the target's creates are not upserts); ``writer`` reads the answers that are its system's."""
    op, status = result.op, result.status
    if status is not None and 200 <= status < 300:
        return "written"
    if status is None:
        return "failed"
    if op.kind in ("update", "deactivate"):
        if status == 412 or (status == 404 and op.headers.get("If-Match", "*") != "*"):
            return "changed_since_extract"  # If-Match failed or the record is gone: next run decides
    if op.kind == "create":
        return writer.refused_create(op.request, status, result.response) or "failed"
    return "failed"


class Writeback:
    def __init__(
        self,
        conn,
        clients: Mapping[str, httpx.Client],
        config: WritebackConfig,
        *,
        run_id: str | None = None,
        progress: Progress | None = None,
        book_run: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.conn = warehouse.wrap(conn)  # a p2c_core.warehouse connection, or a DuckDB/psycopg2 one
        self.config = config
        self.run_id = run_id or new_run_id()
        self.progress = progress
        self.book_run = book_run  # False when `p2c run` books the stage in p2c_sync.runs itself
        self.executors = {role: BatchExecutor(c, role, config, sleep=sleep, rand=rand) for role, c in clients.items()}
        self.writers: dict[str, Writer] = {
            role: system_for(role).writer(
                _fetch(clients.get(role), config, sleep, rand), self.conn, dataset=settings.DATASET_NAMES[role],
                ref_chunk=config.ref_chunk, lookup_binding=config.lookup_binding)
            for role in ROLES
        }
        self.outcomes: dict[tuple[str, str], str] = {}
        self.result = WritebackResult(self.run_id)

    # -- bookkeeping ---------------------------------------------------------------------------
    def _record(self, entries: list[LogEntry]) -> None:
        store.record_outcomes(self.conn, self.run_id, entries)
        for e in entries:
            r = e.row
            self.result.counts[f"{r.target_system}:{r.target_set}"][e.status] += 1
            self.result.by_entity[r.entity or r.target_set][_summary_word(e)] += 1
            for child in r.carries:  # deep-inserted with it: the same outcome
                self.result.counts[f"{r.target_system}:{child['target_set']}"][e.status] += 1
                self.result.by_entity[child["entity"]][_summary_word(e)] += 1
            # a skipped create leaves no record for children; a skipped update leaves one in place
            blocks = e.status != "skipped" or e.operation == "create"
            self.outcomes[r.ident] = merge_outcome(self.outcomes.get(r.ident), e.status if blocks else "unchanged")
            if self.progress:
                if hasattr(self.progress, "outcome"):
                    self.progress.outcome(e)
                self.progress.advance(r.target_system, r.target_set, 1)

    # -- the run -------------------------------------------------------------------------------
    def run(self, rows: list[WriteRow] | None = None, base_updates: list[dict] | None = None) -> WritebackResult:
        """Apply ``rows`` and ``base_updates``; without them, the warehouse's writeback models,
        streamed a chunk at a time (memory stays flat however large the plan)."""
        sync_schema.ensure(self.conn)
        quarantined = store.read_quarantine(self.conn)
        started = store.now()
        if self.book_run:
            book_stage(self.conn, self.run_id, "writeback", "running", started)
        try:
            crashpoint("writeback.before_base_updates")
            self.result.base_updates = store.apply_base_updates(
                self.conn, self.run_id,
                store.stream_base_updates(self.conn, PLAN_CHUNK) if base_updates is None else [base_updates])
            crashpoint("writeback.after_base_updates")
            for system, group in self._groups(rows):
                self._write_group(system, group, quarantined)
            crashpoint("writeback.stage_done")
        except BaseException as exc:
            if self.book_run:
                self._book(started, "failed", f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self.result.requests_by_role = {
                role: (self.executors[role].requests_sent if role in self.executors else 0) + self.writers[role].lookups
                for role in ROLES}
            self.result.http_requests = sum(self.result.requests_by_role.values())
        if self.book_run:
            self._book(started, "ok" if self.result.clean else "partial")
        return self.result

    def _book(self, started: datetime, status: str, message: str | None = None) -> None:
        """Book this writeback, run on its own, in ``p2c_sync.runs``: its total and one row per entity set."""
        counts = self.result.counts
        statuses = {entity_set: _entity_set_status(c) for entity_set, c in counts.items()}
        book_stage(self.conn, self.run_id, "writeback", status, started, store.now(), counts, message, statuses)

    def _groups(self, rows: list[WriteRow] | None) -> Iterator[tuple[str, list[WriteRow]]]:
        """(role, rows of one target set) in plan order: dependency rank, then role and set,
        each by record key; rows an entity's mode leaves out are logged as skipped on the way."""
        if rows is not None:
            plan = build_plan(rows, self.config)
            if self.progress:  # in plan order: the dependency rank, then system and set
                totals = Counter((r.sequence, r.target_system, r.target_set) for r in plan.rows)
                for (_rank, system, target_set), n in sorted(totals.items()):
                    self.progress.start(system, target_set, n)
            self._log_skipped(plan)
            for _rank, rank_rows in plan.ranks:
                groups: dict[tuple[str, str], list[WriteRow]] = defaultdict(list)
                for row in rank_rows:
                    groups[(row.target_system, row.target_set)].append(row)
                for (system, _target_set), group in sorted(groups.items()):
                    yield system, group
            return
        groups = store.writeback_groups(self.conn)
        if self.progress:
            for _sequence, system, target_set, _model, n in groups:
                self.progress.start(system, target_set, n)
        for group in groups:
            for chunk in store.stream_writeback_rows(self.conn, group, PLAN_CHUNK):
                plan = build_plan(chunk, self.config)
                self._log_skipped(plan)
                if plan.rows:
                    yield group[1], plan.rows

    def _log_skipped(self, plan: Plan) -> None:
        entries = [
            LogEntry(row, row.operation, "skipped", error_code=store.TARGET_REFUSED if row.skip_reason else store.MODE_SKIPPED,
                     error_message=reason)
            for row, reason in plan.skipped
        ]
        if entries:
            self._record(entries)

    def _write_group(self, role: str, rows: list[WriteRow], quarantined: Mapping[tuple[str, str], str]) -> None:
        ready: list[WriteRow] = []
        waiting: list[LogEntry] = []
        for row in rows:
            reason = blocking_parent(row, self.outcomes, quarantined)
            if reason:
                waiting.append(LogEntry(row, row.operation, "waiting", error_code="p2c_parent", error_message=reason))
            else:
                ready.append(row)
        if waiting:
            self._record(waiting)
        if not ready:
            return
        executor = self.executors.get(role)
        if executor is None:
            raise RuntimeError(f"no connection configured for {role}")
        writer = self.writers[role]
        ops, early = self._operations(writer, ready)
        crashpoint("writeback.refs_resolved")
        if early:
            self._record(early)
        self.result.records_attempted += len(ops)
        followups: list[Operation] = []
        for results in executor.run(ops):
            entries = []
            for res in results:
                status = classify(res, writer)
                if status == "exists":
                    if res.op.extra.get("uncertain"):
                        # our own earlier attempt went through before the connection failed
                        followups.append(Operation(res.op.row, writer.resend_existing(res.op.row), tries=res.op.tries))
                        continue
                    status = "changed_since_extract"  # someone else created it since extraction
                entries.append(self._entry(res, status, writer))
            crashpoint("writeback.after_batch_sent")
            self._record(entries)
            crashpoint("writeback.after_batch_recorded")
        if followups:
            for results in executor.run(followups):
                self._record([self._entry(res, classify(res, writer), writer) for res in results])

    def _operations(self, writer: Writer, rows: list[WriteRow]) -> tuple[list[Operation], list[LogEntry]]:
        ops: list[Operation] = []
        early: list[LogEntry] = []
        writer.prepare(rows)
        for row in rows:
            try:
                ops.append(Operation(row, writer.request(row, self.config.mode(row.target_set))))
            except Unresolved as exc:
                early.append(LogEntry(row, row.operation, "waiting", error_code="p2c_parent", error_message=str(exc)))
            except KeyValueError as exc:
                early.append(LogEntry(row, row.operation, "failed", error_code="p2c_key", error_message=str(exc)))
            except RequestFailed as exc:  # the target did not answer the lookup of a key this record needs
                code, message = error_of(exc.response)
                early.append(LogEntry(row, row.operation, "failed", exc.response.status if exc.response else None,
                                      code, f"looking up a referenced record: {message or exc}"))
        return ops, early

    def _entry(self, res: Result, status: str, writer: Writer) -> LogEntry:
        op = res.op
        code, message = (None, None) if status == "written" else error_of(res.response)
        if status != "written" and res.error and not message:
            message = res.error
        learned = writer.learned_id(op.row, res.response) if status == "written" else None
        return LogEntry(op.row, op.kind if op.kind != "create_as_update" else "create", status,
                        res.status, code, message, learned)


def _summary_word(e: LogEntry) -> str:
    if e.status == "written":
        return "created" if e.operation == "create" else ("deactivated" if e.operation == "deactivate" else "updated")
    return e.status


def _entity_set_status(counts: Mapping[str, int]) -> str:
    """``partial`` when some records of an entity set failed or wait, else ``ok``."""
    return "partial" if counts.get("failed") or counts.get("waiting") or counts.get("changed_since_extract") else "ok"


def _fetch(client: httpx.Client | None, config: WritebackConfig, sleep, rand):
    """A retrying GET against ``client`` for a writer's look-ups (None without a client)."""
    if client is None:
        return None
    return lambda path, params: get_json(client, path, params, config, sleep, rand)


def run_writeback(conn, clients: Mapping[str, httpx.Client], config: WritebackConfig, **kw) -> WritebackResult:
    """Apply every ``writeback.*`` model and ``writeback.base_updates``; see :class:`Writeback`."""
    return Writeback(conn, clients, config, **kw).run()


def run_stage(run_id: str, *, transport: httpx.BaseTransport | None = None, progress: Progress | None = None) -> StageOutcome:
    """The writeback as a stage of ``p2c run`` (``p2c.run.Pipeline.writeback``).

    Opens the warehouse, writes, closes it; returns a :class:`~p2c_core.runs.StageOutcome` with counts per
    canonical entity (created, updated, deactivated, failed, changed_since_extract, waiting,
    skipped) and ``partial`` when some records did not go through. ``p2c.run`` books the stage in
    ``p2c_sync.runs``, so this does not."""
    config = load_config()
    clients = make_clients(transport=transport, max_connections=max(8, config.concurrency))
    try:
        with warehouse.current().connect() as conn:
            result = Writeback(conn, clients, config, run_id=run_id, book_run=False, progress=progress).run()
    finally:
        for client in clients.values():
            client.close()
    counts = {entity: dict(c) for entity, c in sorted(result.by_entity.items())}
    totals = result.totals
    by_role = ", ".join(f"{role} {n}" for role, n in sorted(result.requests_by_role.items()))
    message = (f"{result.records_attempted} records in {result.http_requests} HTTP requests ({by_role}), "
               f"{result.base_updates} base updates; failed {totals['failed']}, "
               f"changed since extract {totals['changed_since_extract']}, waiting {totals['waiting']}")
    return StageOutcome(counts=counts, partial=not result.clean, message=message,
                        detail={"http_requests": result.http_requests, "base_updates": result.base_updates})
