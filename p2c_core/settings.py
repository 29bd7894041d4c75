"""Where p2c keeps its files: the warehouse, dlt's pipelines directory, reports, the run lock.

Every path follows the warehouse unless overridden, so pointing ``P2C_WAREHOUSE`` elsewhere moves
everything that belongs to that warehouse with it:

============================  =======================================  =====================
what                          default                                  override (env)
============================  =======================================  =====================
the DuckDB warehouse          ``warehouse/p2c.duckdb`` (cwd-relative)  ``P2C_WAREHOUSE``
dlt's pipelines directory     ``<warehouse dir>/dlt_pipelines``        ``P2C_PIPELINES_DIR``
run reports                   ``reports`` (cwd-relative)               ``P2C_REPORTS_DIR``
the run lock                  ``<warehouse>.lock``                     (follows the warehouse)
============================  =======================================  =====================

The functions read the environment on every call (tests and the CLI change it at run time).
"""

from __future__ import annotations

import os
from pathlib import Path

from p2c_core.connection import ROLES

DEFAULT_WAREHOUSE = Path("warehouse") / "p2c.duckdb"

# the repository root: the dbt project, its profile and seeds live here
PROJECT_DIR = Path(__file__).resolve().parents[1]

# dlt pipeline and dataset names per role (``dlt pipeline --pipelines-dir <dir> p2c_crm info``)
PIPELINE_NAMES = {role: f"p2c_{role}" for role in ROLES}
DATASET_NAMES = {role: f"{role}_raw" for role in ROLES}


def shown(path: Path) -> str:
    """A project file as the user knows it (the setting a ``ConfigError`` names): relative to the project."""
    return str(path.relative_to(PROJECT_DIR)) if path.is_relative_to(PROJECT_DIR) else str(path)


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def warehouse_path() -> Path:
    """The DuckDB file every stage reads and writes."""
    return (_env_path("P2C_WAREHOUSE") or DEFAULT_WAREHOUSE).absolute()


def pipelines_dir() -> Path:
    """dlt's working directory for p2c's pipelines (state, traces, load packages)."""
    return (_env_path("P2C_PIPELINES_DIR") or warehouse_path().parent / "dlt_pipelines").absolute()


def reports_dir() -> Path:
    """Where run reports are written."""
    return (_env_path("P2C_REPORTS_DIR") or Path("reports")).absolute()


def duckdb_config() -> dict[str, str]:
    """DuckDB's resource settings (threads, memory_limit) for p2c's own warehouse connections:
    the ones ``profiles.yml`` declares for dbt, with its ``env_var`` defaults, so both agree."""
    import jinja2
    import yaml

    profile = yaml.safe_load((PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8"))
    declared = profile["p2c"]["outputs"]["local"].get("settings") or {}
    env = jinja2.Environment()
    env.globals["env_var"] = lambda name, default=None: os.environ.get(name, default)
    return {key: env.from_string(str(value)).render() for key, value in declared.items()}


def lock_path() -> Path:
    """The run lock of this warehouse (two runs on one warehouse never overlap)."""
    warehouse = warehouse_path()
    return warehouse.with_name(warehouse.name + ".lock")
