"""dbt, invoked in-process on the configured warehouse.

dbt runs through its Python API (``dbtRunner``) with the project's own ``profiles.yml`` (the
target ``[warehouse] destination`` chooses); its target and log directories live beside the
warehouse so runs on different warehouses never share them. A long-lived process (``p2c watch``)
may keep dbt's parsed project between invocations (:func:`keep_parsed`).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

from p2c_core import settings, sync_schema, warehouse as wh
from p2c_core.crashpoints import crashpoint
from systems import system_for
from transform.inputs import project_digest


def dbt_args(command: str, warehouse: Path, extra: list[str] | None = None, target: str | None = None) -> list[str]:
    """The dbt CLI arguments for this project and warehouse (``target``: the profile's target;
    by default the one ``[warehouse] destination`` chooses)."""
    logs = os.environ.get("DBT_LOG_PATH") or str(warehouse.parent / "dbt_logs")
    return [
        command,
        "--project-dir", str(settings.PROJECT_DIR),  # the dbt project and its profiles.yml
        "--profiles-dir", str(settings.PROJECT_DIR),
        "--target-path", str(target_path(warehouse)),
        "--log-path", logs,
        "--target", target or wh.current(warehouse).dbt_target,
        *(extra or []),
    ]


def target_path(warehouse: Path) -> Path:
    """dbt's target directory (its manifest, run_results.json) for builds on this warehouse."""
    return Path(os.environ.get("DBT_TARGET_PATH") or warehouse.parent / "dbt_target")


def run_dbt(
    command: str = "build", extra: list[str] | None = None, warehouse: Path | None = None, quiet: bool = True
):
    """Invoke dbt in-process on the warehouse; returns dbt's ``dbtRunnerResult``."""
    from dbt.cli.main import dbtRunner

    warehouse = warehouse or settings.warehouse_path()
    target = prepare_dbt(warehouse, builds=command in ("build", "run", "test"))
    args = dbt_args(command, warehouse, extra, target=target)
    try:
        # dbt's own lines (its errors, even with --quiet) go to stderr: stdout is p2c's (`--json`)
        with contextlib.redirect_stdout(sys.stderr):
            runner = dbtRunner(manifest=_parsed(warehouse, target), callbacks=[_on_dbt_event])
            return runner.invoke((["--quiet"] if quiet else []) + args)
    finally:
        _release_warehouse()


def prepare_dbt(warehouse: Path, builds: bool = True) -> str:
    """Set up the environment dbt's profile reads for the configured warehouse; returns the target.

    ``builds``: dbt will read ``p2c_sync`` (a build), so it must exist: dbt-duckdb's plugin
    creates it on DuckDB; dbt-postgres has no plugins, so it is created here."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    store = wh.current(warehouse)
    os.environ["P2C_WAREHOUSE"] = str(warehouse)
    # the system playing the ERP role, as the registry resolved p2c.erp (config.toml or env): the
    # dbt project's var `systems` reads it under the setting's own env name
    os.environ["P2C__ERP"] = system_for("erp").name
    os.environ.update(store.dbt_env())  # the postgres target's connection (its password as a dbt secret)
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    if builds and store.destination != "duckdb":
        with store.connect() as conn:
            sync_schema.ensure(conn)
    return store.dbt_target


# a long-lived process (`p2c watch`) keeps dbt's parsed project between invocations
_KEPT: dict = {"on": False, "digest": None, "manifest": None}


def keep_parsed(on: bool, parsed: tuple[str, object] | None = None) -> None:
    """Keep dbt's parsed project (its manifest) in this process between builds; it is parsed
    again when a model, macro, seed or data test changes. ``parsed``: a manifest parsed before for
    this ERP and target, with the :func:`transform.inputs.project_digest` it was parsed from."""
    digest, manifest = parsed or (None, None)
    _KEPT.update(on=on, digest=digest, manifest=manifest)


def _parsed(warehouse: Path, target: str | None):
    if not _KEPT["on"]:
        return None
    from dbt.cli.main import dbtRunner

    digest = project_digest()
    if digest != _KEPT["digest"]:
        with contextlib.redirect_stdout(sys.stderr):
            res = dbtRunner().invoke(["--quiet", *dbt_args("parse", warehouse, target=target)])
        _KEPT.update(digest=digest if res.success else None, manifest=res.result if res.success else None)
    return _KEPT["manifest"]


def _on_dbt_event(event) -> None:
    """dbt's event callback: a model or seed finished building (a crash point between models)."""
    if event.info.name == "NodeFinished":
        crashpoint("transform.model_built")


def _release_warehouse() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in this process after an invocation, so
    the next stage can open the file in any mode (DuckDB refuses a second configuration)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV  # (no-op on other targets: dbt-duckdb opened nothing)
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()
