"""The small core every stage uses, and that imports no stage.

Errors (:mod:`~p2c_core.errors`), crash points (:mod:`~p2c_core.crashpoints`), paths
(:mod:`~p2c_core.settings`), the warehouse (:mod:`~p2c_core.warehouse`), the run id and a stage's
outcome (:mod:`~p2c_core.runs`), the ``p2c_sync`` schema (:mod:`~p2c_core.sync_schema`), what an
entity set is (:mod:`~p2c_core.entity`) and how its pages load (:mod:`~p2c_core.pages`), and the
HTTP client every system is reached through: connection settings per role
(:mod:`~p2c_core.connection`), OAuth2 and retries (:mod:`~p2c_core.http`), OData paging and error
bodies (:mod:`~p2c_core.odata`), key literals (:mod:`~p2c_core.keys`) and the ``$batch`` codec
(:mod:`~p2c_core.multipart`). The systems (``systems``), the stages (``pipelines``, ``transform``,
``reverse_etl``) and the CLI (``p2c``) import it; it imports none of them (``lint-imports`` checks it).
"""
