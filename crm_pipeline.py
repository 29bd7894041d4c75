"""The CRM role's dlt source (``crm``: the source of the system playing it, Dataverse) as a plain
dlt pipeline script, as ``dlt init`` lays one out.

Runs without the p2c CLI::

    python crm_pipeline.py                  # delta load (change tracking) into crm_raw
    python crm_pipeline.py --full-reload    # ignore stored delta links: read every entity whole
    python crm_pipeline.py --entity accounts --entity contacts

Configuration is dlt's: ``[sources.crm]`` in ``.dlt/config.toml`` / ``.dlt/secrets.toml`` or
``SOURCES__CRM__…`` environment variables. The pipeline is ``p2c_crm`` (dataset ``crm_raw``) on
the warehouse p2c is configured with, through the same runner ``p2c extract crm`` uses, so the
tables it leaves are the ones the dbt models read. Inspect it with ``dlt pipeline --pipelines-dir
<warehouse dir>/dlt_pipelines p2c_crm info``.
"""

from pipelines.standalone import main

if __name__ == "__main__":
    raise SystemExit(main("crm"))
