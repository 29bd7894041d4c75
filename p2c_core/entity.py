"""An entity set as p2c declares it: what to request and how its rows look.

Each system declares its entity sets once, as a table of :class:`EntitySpec` lines in its own
home (``systems/dataverse/entities.py``, ``systems/finops/entities.py``); the dlt sources, the page
codec (:mod:`p2c_core.pages`), the tenant check and the writers read them from there.

Column type codes (``name:type``, ``string`` when omitted) and what they load as:

=========  ===============================  ===================================
code       EDM type                         Arrow / DuckDB
=========  ===============================  ===================================
string     Edm.String, Edm.Guid, F&O enum   string / varchar (enums: member name)
int        Edm.Int32, Edm.Int64             int64 / bigint
decimal    Edm.Decimal, Edm.Double, money   float64 / double
bool       Edm.Boolean                      bool / boolean
datetime   Edm.DateTimeOffset               timestamp[us, UTC] / timestamptz
date       Edm.Date                         date32 / date
=========  ===============================  ===================================

The declared columns are what p2c asks for (Dataverse: ``$select``) and pin the types, so that a
page where a column is all null cannot change it. Columns a service sends without being asked
still load, as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

TYPE_CODES = frozenset({"string", "int", "decimal", "bool", "datetime", "date"})

# columns p2c adds to every raw row
ETAG_COLUMN = "odata_etag"  # the row's @odata.etag, the writeback's If-Match
DELETED_COLUMN = "_p2c_deleted"  # change tracking reported the row deleted (entities with tracks_deletions)
# a row with a value p2c cannot take as declared ("<column>: <problem>; …"): the row loads with
# those values null (a missing key replaced by a stand-in) and goes to quarantine naming the column
INVALID_COLUMN = "_p2c_invalid"
# the longest text p2c takes from a declared text column: Dataverse's single-line text maximum
# (the F&O string fields p2c maps are shorter)
MAX_TEXT_LENGTH = 4000
# dates and times either service can store (SQL Server datetime: 1753-01-01 to 9999-12-31)
DATE_RANGE = ("1753-01-01", "9999-12-31")


@lru_cache(maxsize=None)
def snake(name: str) -> str:
    """dlt's table/column name for an API name (``dataAreaId`` → ``data_area_id``)."""
    from dlt.common.normalizers.naming.snake_case import NamingConvention  # slow import: on first use

    return NamingConvention().normalize_identifier(name)


def lookup_name(column: str) -> str:
    """A lookup column's attribute name: ``_customerid_value`` → ``customerid`` (others unchanged)."""
    if column.startswith("_") and column.endswith("_value"):
        return column.removeprefix("_").removesuffix("_value")
    return column


def lookup_table_column(lookup: str) -> str:
    """The column holding a lookup's target table: ``_customerid_value`` → ``customerid_table``."""
    return lookup_name(lookup) + "_table"


@dataclass(frozen=True)
class EntitySpec:
    """One entity set: what to request and how its rows look."""

    entity_set: str  # entity set / public collection name, as in the URL
    key: tuple[str, ...]  # primary key, API names
    spec: str  # "name:type name name:type …" (API names)
    canonical: str | None = None  # the canonical entity the set feeds (None: a reference set)
    modified_column: str | None = None  # load incrementally on this DateTimeOffset column
    # the instance annotation naming each lookup's target table, kept as <lookup>_table (None: none)
    lookup_annotation: str | None = None
    tracks_deletions: bool = False  # change tracking reports deletions: rows carry _p2c_deleted
    # option-set / enum columns whose values p2c interprets itself: (column, the documented values)
    known_values: tuple[tuple[str, frozenset], ...] = ()

    @property
    def table(self) -> str:
        return snake(self.entity_set)

    @cached_property
    def columns(self) -> dict[str, str]:
        """API column name → type code, in declaration order."""
        out: dict[str, str] = {}
        for item in self.spec.split():
            name, _, code = item.partition(":")
            if (code or "string") not in TYPE_CODES:
                raise ValueError(f"{self.entity_set}.{name}: unknown column type {code!r}")
            out[name] = code or "string"
        return out

    @property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(snake(k) for k in self.key)

    @property
    def select(self) -> str:
        """The ``$select`` list: every declared column, API names, comma-separated."""
        return ",".join(self.columns)

    @cached_property
    def annotations(self) -> dict[str, str]:
        """Instance annotations kept: wire name → column (``_customerid_value@…lookuplogicalname`` → ``customerid_table``)."""
        if not self.lookup_annotation:
            return {}
        return {
            f"{name}@{self.lookup_annotation}": lookup_table_column(name)
            for name in self.columns
            if lookup_name(name) != name
        }

    @cached_property
    def _known(self) -> dict[str, frozenset]:
        return dict(self.known_values)

    def known(self, column: str) -> frozenset | None:
        """The values p2c takes for ``column`` (None: any value)."""
        return self._known.get(column)
