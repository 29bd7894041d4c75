"""dlt source of the CRM role: Dynamics 365 Sales through the Dataverse Web API, with change tracking.

The source is named after the role it plays (``crm``: dlt pipeline ``p2c_crm``, dataset ``crm_raw``).
Endpoints (relative to ``sources.crm.base_url``, e.g. ``https://org.crm.dynamics.com/api/data/v9.2/``),
one resource per entity set of :data:`systems.dataverse.entities.ENTITIES`, table = the set's name:

    GET <entityset>?$select=<declared columns>
                                           Prefer: odata.maxpagesize=5000, odata.track-changes,
                                             odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"
    GET <@odata.nextLink>                  … to the last page, which carries @odata.deltaLink
    GET <@odata.deltaLink>                 later runs: changed rows + {"id", "reason": "deleted"}

Loading: tables merge on the primary key. The first run (or any run without a stored delta link)
reads the whole set and stores the delta link in the resource's dlt state; later runs follow it and
load only what changed. A deleted row is kept with its last values and ``_p2c_deleted = true``
(a soft-delete marker the models use). A full read also marks rows the warehouse has but the
service no longer returns as deleted, so a full reload after a lost or expired delta token misses
no deletion. A delta link the service refuses (expired: ``0x80044352``) is dropped with a warning
and the entity is read in full, in the same run; so is every stored delta link with ``full_reload``,
and one that does not point under ``sources.crm.base_url`` (stored against another environment).

Columns: only the declared ones are asked for (``$select``, from the entity table in
:mod:`systems.dataverse.entities`, the one place to add a column). Each lookup's target table comes as the
``lookuplogicalname`` annotation and loads as ``<lookup>_table`` (``_customerid_value`` →
``customerid_table``: ``account`` or ``contact``); formatted values are not requested. A row that
does not carry a declared column at all (a delta row may be narrower than the stored one) keeps the
stored value: absent is not null (:func:`fill_absent`).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from functools import partial
from typing import Any, Iterator, Sequence

import dlt
import httpx
import pyarrow as pa

from p2c_core.odata import DELTA_LINK, PageError, Parse, get_page, pages_from
from p2c_core.entity import EntitySpec, snake
from p2c_core.pages import OnPage, absent_columns, entity_source, page_table, parse_page
from p2c_core.stored import as_deleted, stored
from systems.dataverse.entities import ENTITIES, LOOKUP_TABLE_ANNOTATION, PAGE_SIZE

log = logging.getLogger("p2c.extract.dataverse")

DELTA_STATE = "delta_link"
DELETED_CONTEXT = "$deletedEntity"
# a refused delta link: Dataverse answers 400 (expired version stamp) — or 404/410 elsewhere
REFUSED_DELTA = (400, 404, 410)


def _prefer(tracking: bool) -> dict[str, str]:
    prefer = f"odata.maxpagesize={PAGE_SIZE}" + (",odata.track-changes" if tracking else "")
    return {"Prefer": f'{prefer},odata.include-annotations="{LOOKUP_TABLE_ANNOTATION}"'}


def _parser(entity: EntitySpec) -> Parse:
    return partial(parse_page, entity)


def _is_deletion(row: dict) -> bool:
    return str(row.get("@odata.context", "")).endswith(DELETED_CONTEXT) or (row.get("reason") == "deleted" and "id" in row)


def _stored(entity: EntitySpec, ids: pa.Array | None, *, anti: bool, live: bool = True) -> pa.Table | None:
    """Rows the warehouse holds (without dlt's columns): those in ``ids`` or, with ``anti``, those not in it."""
    return stored(entity, ids, anti=anti, live=live)


def _last_values(entity: EntitySpec, ids: pa.Array | None, *, anti: bool) -> pa.Table | None:
    """Rows already in the warehouse, as deleted rows: those in ``ids`` or, with ``anti``, those not in it."""
    return as_deleted(entity, stored(entity, ids, anti=anti))


def _wire_value(value: Any) -> Any:
    """A stored value in the form the service sends it (dates and times as ISO text)."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def fill_absent(entity: EntitySpec, rows: list[dict], loaded: bool) -> list[dict]:
    """Rows with every declared column they do not carry taken from the stored row.

    A column absent from a row (a delta row may carry fewer columns than the row it changes) is
    not a null one: merging the row as it came would erase the stored value. A column the row
    carries as ``null`` stays null. Rows the warehouse does not hold yet are left as they are.
    """
    api_key = entity.key[0]
    # a row without its key cannot be matched to a stored one (check_row quarantines it)
    gaps = {i: missing for i, row in enumerate(rows)
            if isinstance(row.get(api_key), str) and (missing := absent_columns(entity, row))}
    if not gaps or not loaded:
        return rows
    stored = _stored(entity, pa.array([str(rows[i][api_key]) for i in gaps], pa.string()), anti=False, live=False)
    if stored is None:
        return rows
    by_id = {r[entity.primary_key[0]]: r for r in stored.to_pylist()}
    out = list(rows)
    for i, missing in gaps.items():
        old = by_id.get(str(rows[i][api_key]))
        if old is None:
            continue
        row = dict(rows[i])
        for name in missing:
            row[name] = _wire_value(old.get(snake(name)))
            annotation = f"{name}@{LOOKUP_TABLE_ANNOTATION}"
            if annotation in entity.annotations:
                row[annotation] = old.get(entity.annotations[annotation])
        out[i] = row
    log.info("%s: %d rows without some columns, completed from the warehouse", entity.entity_set, len(gaps))
    return out


def _read(
    entity: EntitySpec, client: httpx.Client, on_page: OnPage, first: dict, headers: dict, *, full: bool, loaded: bool
) -> Iterator[pa.Table]:
    """Pages from ``first`` on: changed rows as tables, deletions (and vanished rows) as last values."""
    seen: list[pa.Array] = []
    deleted: list[str] = []
    pk = entity.primary_key[0]
    body = first
    for body in pages_from(client, first, entity=entity.entity_set, headers=headers, parse=_parser(entity)):
        rows = body["value"]
        if isinstance(rows, pa.Table):  # read by parse_page: changed rows only
            table = rows
        else:
            changed = []
            for row in rows:
                if _is_deletion(row):
                    deleted.append(str(row["id"]))
                else:
                    changed.append(row)
            table = page_table(entity, fill_absent(entity, changed, loaded)) if changed else None
        if table is not None and table.num_rows:
            if full and loaded:
                seen.append(table.column(pk).combine_chunks())
            yield table
        on_page(entity.entity_set, len(rows))
    if deleted and loaded:
        gone = _last_values(entity, pa.array(deleted, pa.string()), anti=False)
        if gone is not None:
            yield gone
    if full and loaded:
        ids = pa.concat_arrays(seen) if seen else pa.array([], pa.string())
        vanished = _last_values(entity, ids, anti=True)
        if vanished is not None:
            log.info("%s: %d rows no longer in the service, marked deleted", entity.entity_set, vanished.num_rows)
            yield vanished
    link = body.get(DELTA_LINK)
    state = dlt.current.resource_state()
    if link:
        state[DELTA_STATE] = link
    else:  # the table does not track changes: next run reads it whole again
        state.pop(DELTA_STATE, None)


def _under(link: str, base: httpx.URL) -> bool:
    """``link`` points into the service at ``base`` (same scheme, host and port, below its path)."""
    url = httpx.URL(link)
    return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port) and url.path.startswith(base.path)


def entity_pages(
    entity: EntitySpec, client: httpx.Client, on_page: OnPage, loaded: bool = True, full_reload: bool = False
) -> Iterator[pa.Table]:
    """The resource body: follow the stored delta link, or read the set whole.

    ``loaded`` says whether the warehouse already has this table; when it has not, there are no
    last values to look up for deleted or vanished rows (and a first load skips that query).
    ``full_reload`` drops the stored delta link: the set is read whole.
    """
    state = dlt.current.resource_state()
    if full_reload:
        state.pop(DELTA_STATE, None)
    delta_link = state.get(DELTA_STATE)
    if delta_link and not _under(delta_link, client.base_url):
        # stored by an earlier run against another environment (the base URL changed): following it
        # would read that environment's changes into this one's tables
        log.warning("%s: the stored delta link is not under %s (sources.crm.base_url changed); reading the"
                    " whole set instead", entity.entity_set, client.base_url)
        state.pop(DELTA_STATE, None)
        delta_link = None
    headers = _prefer(tracking=False)
    if delta_link:
        try:
            first = get_page(client, delta_link, entity=entity.entity_set, headers=headers, parse=_parser(entity))
        except PageError as err:
            if err.status not in REFUSED_DELTA:
                raise
            log.warning(
                "%s: the service refused the stored delta link (%s); reading the whole set instead",
                entity.entity_set,
                err,
            )
            state.pop(DELTA_STATE, None)
        else:
            yield from _read(entity, client, on_page, first, headers, full=False, loaded=loaded)
            return
    headers = _prefer(tracking=True)
    first = get_page(
        client, entity.entity_set, entity=entity.entity_set, headers=headers, params={"$select": entity.select}, parse=_parser(entity)
    )
    yield from _read(entity, client, on_page, first, headers, full=True, loaded=loaded)


def dataverse_source(
    client: httpx.Client,
    entities: Sequence[str] | None = None,
    on_page: OnPage | None = None,
    *,
    name: str,
    full_reload: bool = False,
    parallelized: bool = True,
    loaded_tables: set[str] | None = None,
) -> dlt.sources.DltSource:
    """The source ``name`` (the role Dataverse plays) over ``client`` (see :func:`p2c_core.http.make_client`);
    ``entities`` selects sets.

    ``loaded_tables``: the tables the warehouse already holds (``None``: assume all of them).
    """
    report = on_page or (lambda entity, rows: None)

    def pages(entity: EntitySpec) -> Iterator[pa.Table]:
        loaded = loaded_tables is None or entity.table in loaded_tables
        return entity_pages(entity, client, report, loaded, full_reload)

    return entity_source(name, ENTITIES, entities, pages, write_disposition=lambda entity: "merge",
                         parallelized=parallelized)
