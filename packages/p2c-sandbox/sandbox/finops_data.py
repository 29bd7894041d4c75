"""The F&O service's reads and writes against the sandbox store.

A collection read becomes one :class:`Query` (the ``$filter`` translated by
:mod:`sandbox.odata_query`, the company scope, the ``$orderby`` made total by the key) and is
served page by page with keyset cursors, so no request reads more than one page of rows.
``$skip`` is turned into a cursor with a single ``OFFSET`` probe of the sort columns.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sandbox import odata_query
from sandbox.finops_protocol import NAMESPACE, ODataError, WRITE_ERROR, bad_request
from sandbox.schema import Entity
from sandbox.store import VERSION, DuplicateKey, NotFound, Store, q

__all__ = ["VERSION", "Query", "parse_select", "page", "count", "get", "insert", "update", "delete", "transaction"]


def parse_select(entity: Entity, text: str | None) -> tuple[str, ...] | None:
    try:
        names = odata_query.parse_select(text, entity, namespace=NAMESPACE)
    except odata_query.QueryError as exc:
        raise bad_request(exc.message) from None
    return None if names is None else tuple(names)


def parse_int(text: str | None, option: str) -> int | None:
    try:
        return odata_query.parse_top(text, option)
    except odata_query.QueryError as exc:
        raise bad_request(exc.message) from None


@dataclass(frozen=True)
class Query:
    entity: Entity
    where_sql: str | None
    params: tuple[Any, ...]
    order: tuple[tuple[str, bool], ...]  # total: the key closes it

    @classmethod
    def build(
        cls,
        entity: Entity,
        *,
        filter_text: str | None = None,
        orderby_text: str | None = None,
        company: str | None = None,
    ) -> Query:
        clauses: list[str] = []
        params: list[Any] = []
        if filter_text:
            sql, args = compile_filter(entity, filter_text)
            clauses.append(f"({sql})")
            params += args
        if company is not None:
            clauses.append(f"{q('dataAreaId')} = ?")
            params.append(company)
        order = Store.sort_columns(entity, parse_orderby(entity, orderby_text))
        return cls(entity, " AND ".join(clauses) or None, tuple(params), tuple(order))

    def cursor(self, row: dict[str, Any]) -> list[Any]:
        """The keyset of a row in this query's order (what the next page starts after)."""
        return [_db(self.entity, c, row.get(c)) for c, _ in self.order]


def _db(entity: Entity, col: str, value: Any) -> Any:
    if value is not None and entity.col(col).type == "bool":
        return 1 if value else 0
    return value


# F&O's documented filter subset: no `in`/`has`, no string functions (wildcard equality instead)
_REFUSED_WORDS = {"in", "has", "contains", "startswith", "endswith", "substringof", "tolower", "toupper"}
_ORDERING = {"gt", "ge", "lt", "le"}


def compile_filter(entity: Entity, text: str) -> tuple[str, list[Any]]:
    try:
        _check_finops_subset(entity, odata_query.tokenize(text))
        return odata_query.parse_filter(text, entity, namespace=NAMESPACE, wildcards=True)
    except odata_query.QueryError as exc:
        raise bad_request(exc.message) from None


def _check_finops_subset(entity: Entity, tokens: list[odata_query.Token]) -> None:
    names = set(entity.names)
    for i, tok in enumerate(tokens):
        if tok.kind != "ident":
            continue
        if tok.text in _REFUSED_WORDS and tok.text not in names:
            raise odata_query.QueryError(f"The query option '{tok.text}' is not supported by this service.")
        if tok.text in _ORDERING:
            around = [t for t in (tokens[i - 1] if i else None, tokens[i + 1] if i + 1 < len(tokens) else None) if t]
            if any(t.kind == "enum" or (t.kind == "ident" and t.text in names and entity.col(t.text).type == "enum")
                   for t in around):
                raise odata_query.QueryError(
                    f"The operator '{tok.text}' is not supported for enum values; only 'eq' and 'ne' are."
                )


def parse_orderby(entity: Entity, text: str | None) -> list[tuple[str, bool]]:
    try:
        return odata_query.parse_orderby(text, entity, namespace=NAMESPACE)
    except odata_query.QueryError as exc:
        raise bad_request(exc.message) from None


def page(
    store: Store,
    entity: Entity,
    query: Query,
    *,
    after: list[Any] | None,
    skip: int,
    limit: int,
    columns: tuple[str, ...] | None = None,
) -> list[dict]:
    """Up to ``limit`` rows after the cursor (or after the first ``skip`` rows)."""
    if after is None and skip:
        after = _skip_cursor(store, query, skip)
        if after is None:
            return []
    return store.query(
        entity.set_name, query.where_sql, query.params, query.order, limit=limit, after=after, columns=columns
    ).rows


def _skip_cursor(store: Store, query: Query, skip: int) -> list[Any] | None:
    """The sort key of the ``skip``-th row: ``$skip`` without reading the skipped rows."""
    cols = ", ".join(q(c) for c, _ in query.order)
    order = ", ".join(f"{q(c)} {'DESC' if d else 'ASC'}" for c, d in query.order)
    where = f" WHERE {query.where_sql}" if query.where_sql else ""
    sql = f"SELECT {cols} FROM {q(query.entity.set_name)}{where} ORDER BY {order} LIMIT 1 OFFSET ?"
    rows = store.fetch(sql, [*query.params, skip - 1])
    return [rows[0][c] for c, _ in query.order] if rows else None


def count(store: Store, entity: Entity, query: Query) -> int:
    return store.count(entity.set_name, query.where_sql, query.params)


def get(store: Store, entity: Entity, key: dict[str, Any]) -> dict[str, Any] | None:
    return store.get(entity.set_name, key)


def insert(store: Store, entity: Entity, values: dict[str, Any]) -> dict[str, Any]:
    try:
        return store.insert(entity.set_name, values)
    except DuplicateKey:
        raise ODataError(
            400,
            f"Write failed for table row of type '{entity.type_name}'. Infolog: The record already exists.",
            inner_type=WRITE_ERROR,
        ) from None


def update(store: Store, entity: Entity, key: dict[str, Any], values: dict[str, Any]) -> None:
    if not values:
        return
    try:
        store.update(entity.set_name, key, values)
    except NotFound:
        raise ODataError(404, f"Resource not found for the segment '{entity.set_name}'.") from None


def delete(store: Store, entity: Entity, key: dict[str, Any]) -> None:
    try:
        store.delete(entity.set_name, key)
    except NotFound:
        raise ODataError(404, f"Resource not found for the segment '{entity.set_name}'.") from None


def transaction(store: Store) -> AbstractContextManager[None]:
    return store.transaction()
