"""Planning the writeback: pure functions over the rows of the ``writeback.*`` models.

The plan orders the writes by dependency rank (``sequence``: currencies 0 … invoice lines 11),
parents before children, and knows which records must wait because a parent they depend on was
quarantined, failed, changed since extraction, or is itself waiting. Nothing here does I/O: the
same functions serve ``p2c plan`` (a dry run) and ``p2c writeback``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from reverse_etl.config import WritebackConfig

OPERATIONS = ("create", "update", "deactivate")
# outcomes after which a child may go ahead
PARENT_OK = frozenset({"written", "unchanged"})


def _json(value: Any) -> Any:
    if value is None or not isinstance(value, str):
        return value
    return json.loads(value)


@dataclass(frozen=True)
class WriteRow:
    """One row of a ``writeback.*`` model (the architecture's exact columns)."""

    entity: str
    record_key: str
    target_system: str
    target_set: str
    operation: str
    target_key: dict
    payload: dict
    changes: dict
    etag: str | None
    depends_on: tuple[tuple[str, str], ...]
    base_after: dict
    crm_id: str | None
    erp_key: str | None
    sequence: int
    # why the target will not take this write (optional column, e.g. a document the ERP has posted):
    # the row is logged as skipped with this reason, never sent
    skip_reason: str | None = None
    # records created inside this row's request (deep insert), each {entity, record_key, target_set,
    # crm_id, base_after}: they share its outcome, their bases and couplings are recorded with it
    carries: tuple[dict, ...] = ()

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> "WriteRow":
        deps = _json(row.get("depends_on")) or []
        return cls(
            entity=row["entity"],
            record_key=row["record_key"],
            target_system=row["target_system"],
            target_set=row["target_set"],
            operation=row["operation"],
            target_key=_json(row.get("target_key")) or {},
            payload=_json(row.get("payload")) or {},
            changes=_json(row.get("changes")) or {},
            etag=row.get("etag"),
            depends_on=tuple((d["entity"], d["record_key"]) for d in deps),
            base_after=_json(row.get("base_after")) or {},
            crm_id=row.get("crm_id"),
            erp_key=row.get("erp_key") if not isinstance(row.get("erp_key"), dict) else json.dumps(row["erp_key"]),
            sequence=int(row.get("sequence") or 0),
            skip_reason=row.get("skip_reason"),
            carries=tuple({**child, "base_after": _json(child.get("base_after")) or {}}
                          for child in _json(row.get("carries")) or ()),
        )

    @property
    def ident(self) -> tuple[str, str]:
        return (self.entity, self.record_key)


@dataclass
class Plan:
    """Writes in dependency order, plus the records that cannot be attempted and why."""

    ranks: list[tuple[int, list[WriteRow]]]
    # left out by the entity's mode, or by the row's own skip_reason (what the target will not take)
    skipped: list[tuple[WriteRow, str]] = field(default_factory=list)

    @property
    def rows(self) -> list[WriteRow]:
        return [r for _, rows in self.ranks for r in rows]


def skip_reason(row: WriteRow, config: WritebackConfig) -> str | None:
    """Why the row is left out (None: it is written): its own skip_reason, else the entity's write mode."""
    if row.skip_reason:
        return row.skip_reason
    mode = config.mode(row.target_set)
    if mode == "update_only" and row.operation == "create":
        return f"{row.target_set} is update-only: records missing in the target are not created"
    if mode == "create_only" and row.operation != "create":
        return f"{row.target_set} is create-only: existing records are not changed"
    return None


def build_plan(rows: Iterable[WriteRow], config: WritebackConfig) -> Plan:
    """Group by dependency rank (ascending), stable within a rank by system, set and key."""
    by_rank: dict[int, list[WriteRow]] = defaultdict(list)
    skipped: list[tuple[WriteRow, str]] = []
    for row in rows:
        if row.operation not in OPERATIONS:
            raise ValueError(f"unknown operation {row.operation!r} for {row.entity} {row.record_key}")
        reason = skip_reason(row, config)
        if reason:
            skipped.append((row, reason))
            continue
        by_rank[row.sequence].append(row)
    ranks = [
        (rank, sorted(by_rank[rank], key=lambda r: (r.target_system, r.target_set, r.record_key)))
        for rank in sorted(by_rank)
    ]
    return Plan(ranks=ranks, skipped=skipped)


def blocking_parent(
    row: WriteRow,
    outcomes: Mapping[tuple[str, str], str],
    quarantined: Mapping[tuple[str, str], str],
) -> str | None:
    """The reason ``row`` must wait, naming its parent; None if it can go ahead.

    ``outcomes`` maps (entity, record_key) of rows already processed this run to their status
    (a record written to both systems counts as done only if no write of it went wrong);
    ``quarantined`` maps quarantined records to their reason code."""
    for parent in row.depends_on:
        if parent in quarantined:
            return f"parent {parent[0]} {parent[1]} is quarantined ({quarantined[parent]})"
        status = outcomes.get(parent)
        if status is not None and status not in PARENT_OK:
            return f"parent {parent[0]} {parent[1]} was not written ({status})"
    return None


def static_waiting(plan: Plan, quarantined: Mapping[tuple[str, str], str]) -> dict[tuple[str, str, str], str]:
    """For a dry run: which planned rows will wait, assuming every attempted write succeeds."""
    outcomes: dict[tuple[str, str], str] = {}
    waiting: dict[tuple[str, str, str], str] = {}
    for _, rows in plan.ranks:
        for row in rows:
            reason = blocking_parent(row, outcomes, quarantined)
            if reason:
                waiting[(row.target_system, row.target_set, row.record_key)] = reason
                outcomes[row.ident] = "waiting"
            else:
                outcomes.setdefault(row.ident, "written")
    return waiting


def merge_outcome(previous: str | None, status: str) -> str:
    """A record written to both systems is done only if both writes went through."""
    if previous is None or previous in PARENT_OK:
        return status
    return previous


def summarize(
    plan: Plan,
    waiting: Mapping[tuple[str, str, str], str],
    held: Mapping[str, int],
) -> list[dict[str, Any]]:
    """Counts per target system and entity set, for ``p2c plan``.

    ``held`` counts records held by open manual conflicts, per canonical entity; they have no
    writeback row, so they are reported against each set the entity is written to."""
    counts: dict[tuple[str, str], dict[str, Any]] = {}

    def slot(system: str, target_set: str, entity: str) -> dict[str, Any]:
        return counts.setdefault(
            (system, target_set),
            {"system": system, "entity_set": target_set, "entity": entity, "create": 0, "update": 0,
             "deactivate": 0, "waiting": 0, "skipped": 0, "held": held.get(entity, 0)},
        )

    for row in plan.rows:
        s = slot(row.target_system, row.target_set, row.entity)
        if (row.target_system, row.target_set, row.record_key) in waiting:
            s["waiting"] += 1
        else:
            s[row.operation] += 1
    for row, _reason in plan.skipped:
        slot(row.target_system, row.target_set, row.entity)["skipped"] += 1
    return [counts[k] for k in sorted(counts)]
