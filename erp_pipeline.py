"""The ERP role's dlt source (``erp``: the source of the system playing it,
``p2c.erp``, default Finance & Operations) as a plain dlt pipeline script, as ``dlt init`` lays one out.

Runs without the p2c CLI::

    python erp_pipeline.py                  # incremental load (modification marks) into erp_raw
    python erp_pipeline.py --full-reload    # ignore stored modification marks: read every entity whole
    python erp_pipeline.py --entity CustomersV3

Configuration is dlt's: ``[sources.erp]`` in ``.dlt/config.toml`` / ``.dlt/secrets.toml`` or
``SOURCES__ERP__…`` environment variables. The pipeline is ``p2c_erp`` (dataset ``erp_raw``) on
the warehouse p2c is configured with, through the same runner ``p2c extract erp`` uses, so the
tables it leaves are the ones the dbt models read. Inspect it with ``dlt pipeline --pipelines-dir
<warehouse dir>/dlt_pipelines p2c_erp info``.
"""

from pipelines.standalone import main

if __name__ == "__main__":
    raise SystemExit(main("erp"))
