"""The transform stage: ``dbt build`` on the warehouse, and what its audit models say.

Beside the extract (``pipelines``) and the writeback (``reverse_etl``): :mod:`transform.runner`
invokes dbt in-process on the configured warehouse, :mod:`transform.stage` builds and hands back a
``p2c_core.runs.StageOutcome`` (``transform_stage``: the transform step of ``p2c run`` and of the
Dagster code location alike), :mod:`transform.seeds` checks the value maps before dbt loads them and
the company map against the extracted organisations,
:mod:`transform.inputs` fingerprints what dbt reads so a quiet night can skip the build,
:mod:`transform.incremental` decides between an incremental build and a full refresh and checks one;
:mod:`transform.dbt_plugin` is dbt-duckdb's hook that creates ``p2c_sync`` on every connection.
"""
