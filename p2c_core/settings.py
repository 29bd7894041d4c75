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
import re
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


# what each DuckDB setting profiles.yml declares accepts (DuckDB's own parser would stop the run
# with an error that names no setting, or only later, in the middle of a dbt build)
_DUCKDB_VALUES = {
    "threads": (re.compile(r"[1-9][0-9]*"), "a whole number of threads, e.g. 2"),
    "memory_limit": (re.compile(r"[0-9]+(\.[0-9]+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE),
                     "an amount of memory with its unit, e.g. 512MB or 1GB"),
    "preserve_insertion_order": (re.compile(r"true|false", re.IGNORECASE), "true or false"),
}


def duckdb_config() -> dict[str, str]:
    """DuckDB's resource settings (threads, memory_limit, preserve_insertion_order) for p2c's own
    warehouse connections: the ones ``profiles.yml`` declares for dbt, with its ``env_var`` defaults,
    so both agree. A value DuckDB would refuse raises ``ConfigError`` naming its variable
    (``P2C_DUCKDB_MEMORY_LIMIT``, …), before the run opens the warehouse."""
    import jinja2
    import yaml

    from p2c_core.errors import ConfigError

    profile = yaml.safe_load((PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8"))
    declared = profile["p2c"]["outputs"]["local"].get("settings") or {}
    env = jinja2.Environment()
    env.globals["env_var"] = lambda name, default=None: os.environ.get(name, default)
    config = {key: env.from_string(str(value)).render().strip() for key, value in declared.items()}
    for key, value in config.items():
        pattern, expected = _DUCKDB_VALUES.get(key, (None, ""))
        if pattern is not None and not pattern.fullmatch(value):
            variable = re.search(r"env_var\(\s*'([^']+)'", str(declared[key]))
            raise ConfigError(variable.group(1) if variable else f"profiles.yml settings.{key}",
                              f"{value!r} is not a valid DuckDB {key}: expected {expected}")
    return config


def lock_path() -> Path:
    """The run lock of this warehouse (two runs on one warehouse never overlap)."""
    warehouse = warehouse_path()
    return warehouse.with_name(warehouse.name + ".lock")
