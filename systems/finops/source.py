"""dlt source of the ERP role: Dynamics 365 Finance & Operations through its OData service (``/data/``).

The source is named after the role it plays (``erp``: dlt pipeline ``p2c_erp``, dataset ``erp_raw``).
Endpoints (relative to ``sources.erp.base_url``, e.g. ``https://env.operations.dynamics.com/data/``),
one resource per collection of :data:`systems.finops.entities.ENTITIES`, table = dlt's snake_case of
the collection name (``CustomersV3`` → ``customers_v3``):

    GET <Collection>?cross-company=true                     Prefer: odata.maxpagesize=10000
    GET <@odata.nextLink>                                   … to the last page
    GET <Collection>?cross-company=true&$filter=<modified> ge <last seen>   (incremental entities)

Loading: standard entities carry no modification time, so each run reads them whole, every legal
entity, and replaces the previous copy atomically (dlt ``replace`` with the ``insert-from-staging``
strategy: the new copy is swapped in in one transaction). Entities with a modification time
(``EntitySpec.modified_column``, e.g. ``ContactPersons.LastEditDateTime``) merge on their key and
read only rows modified since the last run (kept in dlt state); ``full_reload`` reads them whole
once more. Deletions of those rows are invisible to a timestamp query.
"""

from __future__ import annotations

import logging
from datetime import timezone
from functools import partial
from typing import Iterator, Sequence

import dlt
import httpx
import pyarrow as pa
import pyarrow.compute as pc

from p2c_core.odata import iter_pages
from p2c_core.entity import EntitySpec, snake
from p2c_core.pages import OnPage, entity_source, page_table, parse_page
from systems.finops.entities import ENTITIES, PAGE_SIZE

log = logging.getLogger("p2c.extract.finops")

MODIFIED_STATE = "modified_since"
HEADERS = {"Prefer": f"odata.maxpagesize={PAGE_SIZE}"}


def entity_pages(entity: EntitySpec, client: httpx.Client, on_page: OnPage, full_reload: bool) -> Iterator[pa.Table]:
    """The resource body: every page of the collection (since the last mark, if incremental)."""
    params = {"cross-company": "true"}
    state = dlt.current.resource_state() if entity.modified_column else {}
    since = None if full_reload else state.get(MODIFIED_STATE)
    if since:
        params["$filter"] = f"{entity.modified_column} ge {since}"  # ge: a tie is merged, not lost
    newest = None
    parse = partial(parse_page, entity)
    for body in iter_pages(client, entity.entity_set, entity=entity.entity_set, headers=HEADERS, params=params, parse=parse):
        rows = body["value"]  # a table when parse_page read the page, else the rows
        if len(rows):
            table = rows if isinstance(rows, pa.Table) else page_table(entity, rows)
            if entity.modified_column:
                top = pc.max(table.column(snake(entity.modified_column))).as_py()
                newest = top if newest is None or (top is not None and top > newest) else newest
            yield table
        on_page(entity.entity_set, len(rows))
    if entity.modified_column and newest is not None:
        state[MODIFIED_STATE] = newest.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def finops_source(
    client: httpx.Client,
    entities: Sequence[str] | None = None,
    on_page: OnPage | None = None,
    *,
    name: str,
    full_reload: bool = False,
    parallelized: bool = True,
    loaded_tables: set[str] | None = None,
) -> dlt.sources.DltSource:
    """The source ``name`` (the role F&O plays) over ``client`` (see :func:`p2c_core.http.make_client`);
    ``entities`` selects collections. ``loaded_tables`` is not needed: nothing is looked up in the warehouse."""
    report = on_page or (lambda entity, rows: None)
    return entity_source(
        name, ENTITIES, entities, lambda entity: entity_pages(entity, client, report, full_reload),
        write_disposition=lambda entity: "merge" if entity.modified_column else "replace", parallelized=parallelized,
    )
