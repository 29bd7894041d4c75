"""``<role>_pipeline.py``: one role's dlt pipeline run as a plain script, without the CLI.

The scripts at the repository root (``crm_pipeline.py``, ``erp_pipeline.py``, the layout
``dlt init`` gives a verified source) call :func:`main`, which runs
:func:`pipelines.extract.extract_system` — the runner ``p2c extract`` and ``p2c run`` use — and
prints dlt's row counts. Exit codes: 0 loaded, 1 extraction failed, 2 configuration or connection
error before anything was read.
"""

from __future__ import annotations

import argparse
import logging
import sys

from p2c_core import settings, warehouse
from p2c_core.connection import Role
from p2c_core.errors import ConfigError
from pipelines.extract import ExtractError, extract_system


def main(system: Role, argv: list[str] | None = None) -> int:
    """Run the source of the system playing the role ``system``."""
    parser = argparse.ArgumentParser(
        prog=f"{system}_pipeline.py",
        description=f"Load the {system} source into dataset {settings.DATASET_NAMES[system]} "
        f"(dlt pipeline {settings.PIPELINE_NAMES[system]}).",
    )
    parser.add_argument("--entity", action="append", help="only this entity set / collection (repeatable)")
    parser.add_argument("--full-reload", action="store_true", help="read every entity whole")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = extract_system(system, entities=args.entity, full_reload=args.full_reload)
    except ConfigError as err:
        print(f"configuration: {err}", file=sys.stderr)
        return 2
    except ExtractError as err:
        print(f"extraction failed: {err}", file=sys.stderr)
        return 1
    for entity_set, rows in sorted(result.rows.items()):
        print(f"{system} {entity_set:<32} {rows:>10,} rows  {result.pages[entity_set]:>5} pages")
    print(f"{system}: {result.total_rows:,} rows in {result.seconds:.1f}s, load {result.load_id} "
          f"into {warehouse.current().describe()} (pipelines dir {settings.pipelines_dir()})")
    return 0
