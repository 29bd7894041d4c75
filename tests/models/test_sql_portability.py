"""The compiled SQL of every dbt model transpiles with sqlglot to the larger warehouses.

So the same models can move from DuckDB to Postgres, Snowflake, BigQuery or Databricks: the
project is compiled (no data needed) and each model's SQL is read as DuckDB and written in each
dialect with unsupported features raising instead of being silently dropped.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot

from transform.inputs import dbt_paths
from transform.runner import dbt_args

ROOT = Path(__file__).resolve().parents[2]
DIALECTS = ("postgres", "snowflake", "bigquery", "databricks")
# the systems that can play the ERP role: the project compiles with each (P2C__ERP enables its home)
ERPS = ("finops", "business_central")


@pytest.fixture(scope="module", params=ERPS)
def compiled(request, tmp_path_factory) -> tuple[str, list[Path]]:
    work = tmp_path_factory.mktemp("compile")
    env = dict(os.environ, P2C_WAREHOUSE=str(work / "p2c.duckdb"), DBT_SEND_ANONYMOUS_USAGE_STATS="false",
               P2C__ERP=request.param)
    env.pop("DBT_TARGET_PATH", None)
    env.pop("DBT_LOG_PATH", None)
    dbt_bin = Path(sys.executable).with_name("dbt")
    args = dbt_args("compile", work / "p2c.duckdb", ["--select", "resource_type:model"])
    res = subprocess.run([str(dbt_bin), "--quiet", *args],
                         env=env, capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    target = Path(args[args.index("--target-path") + 1])
    # compiled under each model path: models/ and the systems' homes (systems/<system>/models)
    models = sorted(p for path in dbt_paths("model") for p in (target / "compiled" / "p2c" / path.relative_to(ROOT)).rglob("*.sql"))
    # unit tests compile under a directory named after their yml file; only models count here
    return request.param, [m for m in models if not any(part.endswith(".yml") for part in m.parts)]


def test_every_model_is_compiled(compiled):
    erp, models = compiled
    names = {m.stem for m in models}
    # every model but those of the homes of the ERPs not chosen
    off = {ROOT / "systems" / other / "models" for other in ERPS if other != erp}
    project_models = {p.stem for path in dbt_paths("model") if path not in off for p in path.rglob("*.sql")}
    assert names == project_models


@pytest.mark.parametrize("dialect", DIALECTS)
def test_models_transpile(compiled, dialect):
    failures = []
    for model in compiled[1]:
        try:
            sqlglot.transpile(model.read_text(), read="duckdb", write=dialect,
                              unsupported_level=sqlglot.ErrorLevel.RAISE)
        except sqlglot.errors.SqlglotError as err:
            failures.append(f"{model.stem}: {err}")
    assert not failures, "\n".join(failures)
