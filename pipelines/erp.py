"""dlt source ``erp``: Dynamics 365 Finance & Operations through its OData service (``/data/``).

Endpoints (relative to ``sources.erp.base_url``, e.g. ``https://env.operations.dynamics.com/data/``),
one resource per collection of :data:`pipelines.settings.ERP_ENTITIES`, table = dlt's snake_case of
the collection name (``CustomersV3`` → ``customers_v3``):

    GET <Collection>?cross-company=true                     Prefer: odata.maxpagesize=10000
    GET <@odata.nextLink>                                   … to the last page
    GET <Collection>?cross-company=true&$filter=<modified> ge <last seen>   (incremental entities)

Loading: standard entities carry no modification time, so each run reads them whole, every legal
entity, and replaces the previous copy atomically (dlt ``replace`` with the ``insert-from-staging``
strategy: the new copy is swapped in in one transaction). Entities with a modification time
(``EntitySpec.modified_column``, e.g. ``ContactPersons.LastEditDateTime``) merge on their key and
read only rows modified since the last run (kept in dlt state); ``[sources.erp] full_reload = true``
reads them whole once more. Deletions of those rows are invisible to a timestamp query.
"""

from __future__ import annotations

import logging
from datetime import timezone
from functools import partial
from typing import Callable, Iterator, Sequence

import dlt
import httpx
import pyarrow as pa
import pyarrow.compute as pc

from p2c_core.odata import iter_pages
from pipelines.batches import DLT_ID_HINT, page_table, parse_page
from pipelines.settings import ERP_ENTITIES, ERP_PAGE_SIZE, EntitySpec, snake

log = logging.getLogger("p2c.extract.erp")

OnPage = Callable[[str, int], None]
MODIFIED_STATE = "modified_since"
HEADERS = {"Prefer": f"odata.maxpagesize={ERP_PAGE_SIZE}"}


def entity_pages(entity: EntitySpec, client: httpx.Client, on_page: OnPage, full_reload: bool) -> Iterator[pa.Table]:
    """The resource body: every page of the collection (since the last mark, if incremental)."""
    params = {"cross-company": "true"}
    state = dlt.current.resource_state() if entity.modified_column else {}
    since = None if full_reload else state.get(MODIFIED_STATE)
    if since:
        params["$filter"] = f"{entity.modified_column} ge {since}"  # ge: a tie is merged, not lost
    newest = None
    parse = partial(parse_page, entity, crm=False)
    for body in iter_pages(client, entity.entity_set, entity=entity.entity_set, headers=HEADERS, params=params, parse=parse):
        rows = body["value"]  # a table when parse_page read the page, else the rows
        if len(rows):
            table = rows if isinstance(rows, pa.Table) else page_table(entity, rows, crm=False)
            if entity.modified_column:
                top = pc.max(table.column(snake(entity.modified_column))).as_py()
                newest = top if newest is None or (top is not None and top > newest) else newest
            yield table
        on_page(entity.entity_set, len(rows))
    if entity.modified_column and newest is not None:
        state[MODIFIED_STATE] = newest.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def erp_source(
    client: httpx.Client,
    entities: Sequence[str] | None = None,
    on_page: OnPage | None = None,
    full_reload: bool = False,
    parallelized: bool = True,
) -> dlt.sources.DltSource:
    """The ``erp`` source over ``client`` (see :func:`p2c_core.http.make_client`); ``entities`` selects collections."""
    chosen = [e for e in ERP_ENTITIES if entities is None or e.entity_set in entities]
    report = on_page or (lambda entity, rows: None)

    def resource(entity: EntitySpec):
        def pages() -> Iterator[pa.Table]:
            yield from entity_pages(entity, client, report, full_reload)

        return dlt.resource(
            pages,
            name=entity.table,
            table_name=entity.table,
            primary_key=list(entity.primary_key),
            columns=DLT_ID_HINT,
            write_disposition="merge" if entity.modified_column else "replace",
            parallelized=parallelized,
        )

    @dlt.source(name="erp", max_table_nesting=0)
    def erp():
        return [resource(e) for e in chosen]

    return erp()
