"""A small warehouse with known rows for the report and inspection tests.

``p2c_sync`` comes from ``p2c_core.sync_schema.ensure`` (the real DDL); the ``audit`` tables
are created with the contract's columns (docs/architecture.md) and filled by hand, so these tests
do not depend on a dbt build.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from p2c_core import sync_schema

RUN_ID = "20250301T020000Z-beef"
PREVIOUS_RUN = "20250228T020000Z-aaaa"
FAILED_RUN = "20250227T020000Z-dead"
T0 = datetime(2025, 3, 1, 2, 0, 0)

# per entity, the counts of the current run (what the page must show)
ENTITY_COUNTS = {
    "customer": {"extracted": 41, "created": 7, "updated": 3, "unchanged": 29, "conflicts": 2, "quarantined": 4, "failed": 1, "waiting": 0},
    "order": {"extracted": 18, "created": 5, "updated": 6, "unchanged": 4, "conflicts": 1, "quarantined": 1, "failed": 0, "waiting": 2},
    "product": {"extracted": 12, "created": 0, "updated": 0, "unchanged": 12, "conflicts": 0, "quarantined": 0, "failed": 0, "waiting": 0},
}

CONFLICTS = [
    # entity, record_key, field, crm, erp, base, owner, policy, outcome, is_open
    ("customer", "usmf|ACC-00007", "phone", "+1 555 0101", "+1 555 0199", "+1 555 0100", "crm", "manual", "held", True),
    ("order", "usmf|SO-00003", "name", "Bikes <spring> & co", "Bikes spring", "Bikes", "crm", "manual", "held", True),
    ("customer", "demf|ACC-00012", "city", "Köln", "Koeln", "Cologne", "crm", "owner_wins", "crm_wins", False),
]

QUARANTINE = [
    # system, entity_set, entity, source_id, natural_key, company, reason, reason_text
    ("crm", "accounts", "customer", "guid-1", None, "usmf", "missing_key", "The accounts row has no natural key, so it cannot be matched to the other system."),
    ("crm", "accounts", "customer", "guid-2", "ACC-00031", "usmf", "unmapped_currency", "The currency Bitcoin is not in the currency map (seeds/currency_map.csv)."),
    ("crm", "accounts", "customer", "guid-3", "ACC-00032", "usmf", "unmapped_country", "The country Atlantis is not in the country map (seeds/country_map.csv)."),
    ("crm", "accounts", "customer", "guid-4", "ACC-00033", None, "unmapped_company", "The business unit Contoso is not in the company map (seeds/company_map.csv)."),
    ("crm", "salesorders", "order", "guid-5", "SO-00077", "usmf", "parent_quarantined", "The parent customer usmf|ACC-00031 is in quarantine."),
]

FAILURES = [
    # system, entity set, record_key, operation, status, http, code, message
    ("erp", "CustomersV3", "usmf|ACC-00009", "create", "failed", 400, "ValidationError",
     "Field 'Customer group' must be filled in. Customer group 99 does not exist."),
    ("erp", "CDSSalesOrderHeaders", "usmf|SO-00021", "create", "waiting", None, None,
     "waits for customer usmf|ACC-00009"),
]

COUPLINGS = [
    ("customer", "usmf|ACC-00001", "usmf", "0f8fad5b-d9cb-469f-a165-70867728950e",
     '{"dataAreaId":"usmf","CustomerAccount":"ACC-00001"}', "natural_key"),
    ("customer", "demf|ACC-00012", "demf", "7c9e6679-7425-40de-944b-e07fc1f90ae7",
     '{"dataAreaId":"demf","CustomerAccount":"ACC-00012"}', "created_by_p2c"),
    ("order", "usmf|SO-00003", "usmf", "16fd2706-8baf-433b-82eb-8c7fada847da",
     '{"dataAreaId":"usmf","SalesOrderNumber":"SO-00003"}', "created_by_p2c"),
]

AUDIT_DDL = """
create schema if not exists audit;
create table audit.conflicts (
    entity varchar, record_key varchar, field varchar, crm_value varchar, erp_value varchar, base_value varchar,
    owner varchar, policy varchar, outcome varchar, is_open boolean,
    crm_modified_at timestamp with time zone, erp_modified_at timestamp with time zone);
create table audit.quarantine (
    system varchar, entity_set varchar, entity varchar, source_id varchar, natural_key varchar, company varchar,
    reason varchar, reason_text varchar);
create table audit.reconciliation (
    entity varchar, system varchar, source_rows bigint, canonical_rows bigint, quarantined_rows bigint,
    unmatched_rows bigint, difference bigint);
"""


def _totals(per_entity: dict[str, dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for counts in per_entity.values():
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
    return total


def _run_rows(run_id: str, status: str, start: datetime, per_entity: dict[str, dict[str, int]], message=None):
    end = start + timedelta(seconds=95)
    rows = [(run_id, "run", "", status, start, end, json.dumps(_totals(per_entity)), message)]
    rows += [(run_id, "run", e, status, start, end, json.dumps(c), None) for e, c in per_entity.items()]
    t = start
    for stage, secs in (("extract", 41.5), ("transform", 30.2), ("writeback", 20.0), ("report", 1.1)):
        rows.append((run_id, stage, "", "partial" if stage == "writeback" and status == "partial" else "ok",
                     t, t + timedelta(seconds=secs), "{}", None))
        t += timedelta(seconds=secs)
    return rows


def build(path: Path, *, history: int = 33) -> Path:
    """Create the warehouse at ``path``: ``history`` older runs plus the current one."""
    conn = duckdb.connect(str(path))
    try:
        sync_schema.ensure(conn)
        conn.execute(AUDIT_DDL)
        rows = _run_rows(RUN_ID, "partial", T0, ENTITY_COUNTS)
        rows += _run_rows(PREVIOUS_RUN, "ok", T0 - timedelta(days=1), {"customer": {"created": 12, "updated": 1, "failed": 0}})
        failed_start = T0 - timedelta(days=2)
        rows.append((FAILED_RUN, "run", "", "failed", failed_start, failed_start + timedelta(seconds=3), "{}",
                     "extract: sources.crm.credentials.client_secret: missing"))
        for i in range(3, history):  # older, quiet runs: a few updates each
            start = T0 - timedelta(days=i)
            rows += _run_rows(f"2025{i:04d}-old{i:02d}", "ok", start, {"customer": {"updated": i % 4, "failed": 0}})
        conn.executemany(
            "insert into p2c_sync.runs (run_id, stage, entity, status, started_at, finished_at, counts, message)"
            " values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany("insert into audit.conflicts values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null, null)", CONFLICTS)
        conn.executemany("insert into audit.quarantine values (?, ?, ?, ?, ?, ?, ?, ?)", QUARANTINE)
        conn.executemany(
            "insert into audit.reconciliation values (?, ?, ?, ?, ?, ?, ?)",
            [("customer", "crm", 45, 41, 4, 0, 0), ("order", "crm", 19, 18, 1, 0, 0)],
        )
        log_at = T0 + timedelta(seconds=80)
        conn.executemany(
            "insert into p2c_sync.writeback_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
            [(RUN_ID, s, e, k, op, st, http, code, msg, log_at) for s, e, k, op, st, http, code, msg in FAILURES]
            + [(RUN_ID, "erp", "CustomersV3", "usmf|ACC-00001", "update", "written", 204, None, None, log_at)],
        )
        conn.executemany(
            "insert into p2c_sync.couplings (entity, record_key, company, crm_id, erp_key, coupled_by, run_id, coupled_at) values (?, ?, ?, ?, ?, ?, ?, ?)",
            [(*c, PREVIOUS_RUN, T0 - timedelta(days=1)) for c in COUPLINGS],
        )
        conn.executemany(
            "insert into p2c_sync.sync_state values ('customer', 'usmf|ACC-00001', ?, ?, ?, ?)",
            [("name", "Contoso Bikes", PREVIOUS_RUN, T0), ("credit_limit", "25000", PREVIOUS_RUN, T0)],
        )
    finally:
        conn.close()
    return path
