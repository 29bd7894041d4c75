"""dlt source of the ERP role when Business Central plays it (API v2.0, ``p2c.erp = "business_central"``).

The source is named after the role (``erp``: dlt pipeline ``p2c_erp``, dataset ``erp_raw``).
Endpoints, relative to ``sources.erp.base_url`` (e.g. ``https://api.businesscentral.dynamics.com/
v2.0/<tenant>/<environment>/api/v2.0/``), one resource per set of
:data:`systems.business_central.entities.ENTITIES`, table = dlt's snake_case of the set name:

    GET companies                                                  the companies (read every run)
    GET companies({id})/<set>?$select=…        Prefer: odata.maxpagesize=20000, then @odata.nextLink
    GET companies({id})/<set>?$select=…&$filter=lastModifiedDateTime gt <cursor − overlap>
    GET companies({id})/<header set>?$select=id,lastModifiedDateTime&$filter=…   (changed headers)
    GET companies({id})/<line set>?$filter=documentId eq <id> or …               (their lines)
    GET companies({id})/<set>?$select=id                                          (deletion check)

Every row gets ``company_id`` (BC rows do not carry their company), ``odata_etag`` and
``_p2c_deleted``. Loading:

- ``companies``, ``currencies``, ``units_of_measure``, ``payment_terms``, ``salespeople_purchasers``:
  read whole, replaced.
- ``items``: read whole every run and merged (:data:`~systems.business_central.entities.EVERY_RUN`):
  ``inventory`` is a FlowField that BC's postings move without touching ``lastModifiedDateTime``.
- master data and document headers: merge on (``company_id``, ``id``), read incrementally by
  ``lastModifiedDateTime`` after the cursor minus :data:`~systems.business_central.entities.OVERLAP`
  (the cursor — the newest timestamp seen — in the resource's dlt state, per company).
- line sets (no timestamp): the first run reads them whole; later runs read the lines of the
  headers changed since the header cursor (``$filter=documentId eq … or …`` in chunks), and a stored
  line of such a header that the service no longer lists is loaded as deleted. A line edit that
  changes nothing on its header (its totals) is not seen until the header changes.
- deletions: a timestamp filter cannot see them, so the whole id set of each merged set
  (``$select=id``) is compared with the stored ids of the company; a stored id the service no
  longer has is loaded again with its last values and ``_p2c_deleted = true``. How often:
  ``[sources.erp] deletion_check = "every_run"`` (default) or ``"daily"`` (the time of the last check
  in dlt state, per company).

``full_reload`` forgets the cursors: every set is read whole once more (and the id check runs).
BC's blank dates (``0001-01-01``) load as null.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from datetime import datetime, timezone
from functools import lru_cache, partial
from typing import Any, Iterator, Sequence

import dlt
import httpx
import pyarrow as pa
import pyarrow.compute as pc

from p2c_core.entity import EntitySpec, snake
from p2c_core.errors import ConfigError
from p2c_core.odata import iter_pages
from p2c_core.pages import OnPage, entity_source, page_table, parse_page
from p2c_core.stored import as_deleted, stored
from systems.business_central.entities import (
    ADDED,
    BLANK_DATE,
    COMPANY,
    DEFAULT_DELETION_CHECK,
    DELETION_CHECKS,
    ENTITIES,
    LINE_FILTER_CHUNK,
    LINES_OF,
    MODIFIED,
    OVERLAP,
    PAGE_SIZE,
    EVERY_RUN,
    REPLACED,
    wire_columns,
)

log = logging.getLogger("p2c.extract.business_central")

HEADERS = {"Prefer": f"odata.maxpagesize={PAGE_SIZE}"}
CURSORS = "modified_since"  # resource state: company id → newest lastModifiedDateTime seen
HEADER_CURSORS = "headers_modified_since"  # line resources: company id → newest header timestamp seen
CHECKED = "deletions_checked_at"  # resource state: company id → when the id sets were last compared
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
COMPANY_COLUMN = snake(COMPANY)


@lru_cache(maxsize=None)
def wire(entity: EntitySpec) -> EntitySpec:
    """The set as the service sends it: without the columns p2c adds, keyed by ``id``."""
    spec = " ".join(f"{name}:{code}" for name, code in entity.columns.items() if name not in ADDED)
    return dataclasses.replace(entity, key=("id",), spec=spec)


def _timestamp(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _guid(value: str) -> str:
    if not _GUID.match(value or ""):
        raise ValueError(f"not a GUID: {value!r}")
    return value.lower()


def _clean(entity: EntitySpec, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """BC's blank dates (``0001-01-01``) as null."""
    dated = [n for n, code in entity.columns.items() if code in ("date", "datetime")]
    out = []
    for row in rows:
        blank = [n for n in dated if isinstance(row.get(n), str) and row[n].startswith(BLANK_DATE)]
        out.append({**row, **dict.fromkeys(blank)} if blank else row)
    return out


def with_company(table: pa.Table, company_id: str) -> pa.Table:
    """``table`` with ``company_id`` first (BC rows do not carry their company)."""
    return table.add_column(0, pa.field(COMPANY_COLUMN, pa.string(), nullable=False),
                            pa.array([company_id] * table.num_rows, pa.string()))


def read_set(client: httpx.Client, entity: EntitySpec, company_id: str | None, on_page: OnPage,
             params: dict[str, str] | None = None, path: str | None = None) -> Iterator[pa.Table]:
    """Every page of ``entity`` in one company (``None``: the companies themselves) as typed tables."""
    spec = wire(entity)
    path = path or (entity.entity_set if company_id is None else f"companies({company_id})/{entity.entity_set}")
    params = {"$select": ",".join(wire_columns(entity)), **(params or {})}
    for body in iter_pages(client, path, entity=entity.entity_set, headers=HEADERS, params=params,
                           parse=partial(parse_page, spec)):
        rows = body["value"]
        table = rows if isinstance(rows, pa.Table) else (page_table(spec, _clean(spec, rows)) if rows else None)
        if table is not None and table.num_rows:
            if company_id is None:  # a company's company is itself
                yield table.add_column(0, pa.field(COMPANY_COLUMN, pa.string(), nullable=False), table.column("id"))
            else:
                yield with_company(table, company_id)
        on_page(entity.entity_set, len(rows))


def _ids(client: httpx.Client, path: str, entity: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Rows of a narrow ``$select`` (ids, timestamps), page by page."""
    for body in iter_pages(client, path, entity=entity, headers=HEADERS, params=params):
        yield from body["value"]


def _newest(table: pa.Table, current: datetime | None) -> datetime | None:
    top = pc.max(table.column(snake(MODIFIED))).as_py() if table.num_rows else None
    return top if current is None or (top is not None and top > current) else current


class BusinessCentralReader:
    """One run's reads: the companies (discovered once), the sets per company, the deletion check."""

    def __init__(self, client: httpx.Client, on_page: OnPage, *, full_reload: bool, check_every, loaded: set[str] | None):
        self.client, self.on_page, self.full_reload = client, on_page, full_reload
        self.check_every, self.loaded = check_every, loaded
        self._companies: list[str] | None = None
        self._lock = threading.Lock()

    def companies(self) -> list[str]:
        with self._lock:
            if self._companies is None:
                rows = _ids(self.client, "companies", "companies", {"$select": "id"})
                self._companies = [_guid(r["id"]) for r in rows]
            return self._companies

    def is_loaded(self, entity: EntitySpec) -> bool:
        return self.loaded is None or entity.table in self.loaded

    def pages(self, entity: EntitySpec) -> Iterator[pa.Table]:
        """The resource body of ``entity``: every company's rows (and deletions) as Arrow tables."""
        if entity.entity_set == "companies":
            yield from read_set(self.client, entity, None, self.on_page)
            return
        state = dlt.current.resource_state()
        if self.full_reload:
            for key in (CURSORS, HEADER_CURSORS):
                state.pop(key, None)
        for company in self.companies():
            if entity.entity_set in REPLACED:
                yield from read_set(self.client, entity, company, self.on_page)
                continue
            if entity.entity_set in EVERY_RUN:
                yield from read_set(self.client, entity, company, self.on_page)
            elif entity.entity_set in LINES_OF:
                yield from self.lines(entity, company, state)
            else:
                yield from self.changed(entity, company, state)
            yield from self.deletions(entity, company, state)

    def changed(self, entity: EntitySpec, company: str, state: dict) -> Iterator[pa.Table]:
        """Rows modified since the company's cursor (minus the overlap), or all of them on a first read."""
        cursors = state.setdefault(CURSORS, {})
        since = cursors.get(company)
        params = {"$filter": f"{MODIFIED} gt {_timestamp(datetime.fromisoformat(since) - OVERLAP)}"} if since else {}
        newest = None
        for table in read_set(self.client, entity, company, self.on_page, params):
            newest = _newest(table, newest)
            yield table
        if newest is not None:
            cursors[company] = newest.isoformat()

    def lines(self, entity: EntitySpec, company: str, state: dict) -> Iterator[pa.Table]:
        """The lines of the headers changed since the header cursor (all lines on a first read)."""
        header = LINES_OF[entity.entity_set]
        cursors = state.setdefault(HEADER_CURSORS, {})
        since = cursors.get(company)
        params = {"$select": f"id,{MODIFIED}"}
        if since:
            params["$filter"] = f"{MODIFIED} gt {_timestamp(datetime.fromisoformat(since) - OVERLAP)}"
        headers, newest = [], None
        for row in _ids(self.client, f"companies({company})/{header}", header, params):
            headers.append(_guid(row["id"]))
            stamp = datetime.fromisoformat(row[MODIFIED].replace("Z", "+00:00")) if row.get(MODIFIED) else None
            newest = stamp if newest is None or (stamp is not None and stamp > newest) else newest
        if not since:
            yield from read_set(self.client, entity, company, self.on_page)
        else:
            for start in range(0, len(headers), LINE_FILTER_CHUNK):
                chunk = headers[start:start + LINE_FILTER_CHUNK]
                params = {"$filter": " or ".join(f"documentId eq {h}" for h in chunk)}
                seen: list[pa.Array] = []
                for table in read_set(self.client, entity, company, self.on_page, params):
                    seen.append(table.column("id").combine_chunks())
                    yield table
                if self.is_loaded(entity):  # lines of these headers the service no longer lists
                    within = f"{COMPANY_COLUMN} = '{company}' and document_id in ({', '.join(repr(h) for h in chunk)})"
                    ids = pa.concat_arrays(seen) if seen else pa.array([], pa.string())
                    gone = as_deleted(entity, stored(entity, ids, anti=True, where=within))
                    if gone is not None:
                        yield gone
        if newest is not None:
            cursors[company] = newest.isoformat()

    def deletions(self, entity: EntitySpec, company: str, state: dict) -> Iterator[pa.Table]:
        """Stored rows of ``company`` whose id the service no longer lists, as deleted rows (when due)."""
        if not self.is_loaded(entity):
            return
        checked = state.setdefault(CHECKED, {})
        now = datetime.now(timezone.utc)
        last = checked.get(company)
        if last and not self.full_reload and now - datetime.fromisoformat(last) < self.check_every:
            return
        path = f"companies({company})/{entity.entity_set}"
        ids = pa.array([str(r["id"]).lower() for r in _ids(self.client, path, entity.entity_set, {"$select": "id"})],
                       pa.string())
        gone = as_deleted(entity, stored(entity, ids, anti=True, where=f"{COMPANY_COLUMN} = '{company}'"))
        if gone is not None:
            log.info("%s: %d rows of company %s no longer in Business Central, marked deleted",
                     entity.entity_set, gone.num_rows, company)
            yield gone
        checked[company] = now.isoformat()


def deletion_check_interval(role: str):
    """``[sources.<role>] deletion_check``: how often the id sets are compared (a ConfigError if unknown)."""
    setting = f"sources.{role}.deletion_check"
    value = dlt.config.get(setting)
    name = str(value).strip().lower() if value is not None and str(value).strip() else DEFAULT_DELETION_CHECK
    if name not in DELETION_CHECKS:
        raise ConfigError(setting, f"{value!r} is not one of {', '.join(DELETION_CHECKS)}")
    return DELETION_CHECKS[name]


def business_central_source(
    client: httpx.Client,
    entities: Sequence[str] | None = None,
    on_page: OnPage | None = None,
    *,
    name: str,
    full_reload: bool = False,
    parallelized: bool = True,
    loaded_tables: set[str] | None = None,
) -> dlt.sources.DltSource:
    """The source ``name`` (the role BC plays) over ``client`` (see :func:`p2c_core.http.make_client`);
    ``entities`` selects sets; ``loaded_tables``: the tables the warehouse already holds (None: all)."""
    reader = BusinessCentralReader(client, on_page or (lambda entity, rows: None), full_reload=full_reload,
                                   check_every=deletion_check_interval(name), loaded=loaded_tables)
    return entity_source(name, ENTITIES, entities, reader.pages,
                         write_disposition=lambda e: "replace" if e.entity_set in REPLACED else "merge",
                         parallelized=parallelized, empty=lambda e: with_company(page_table(wire(e), []), ""))
