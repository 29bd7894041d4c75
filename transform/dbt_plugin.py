"""dbt-duckdb plugin: make sure ``p2c_sync`` exists before any model reads it.

The dbt models read ``p2c_sync.*`` as sources; on a fresh warehouse no writer has created them
yet. dbt-duckdb calls ``configure_connection`` on each connection it opens, so the one DDL in
:mod:`p2c_core.sync_schema` (shared with the writeback) runs here too.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from p2c_core import sync_schema


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        sync_schema.ensure(conn)
