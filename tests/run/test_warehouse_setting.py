"""The warehouse setting: a bad value or a refused PostgreSQL connection stops every command with
exit 2 naming the setting, before anything is written, and the password is never shown."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from p2c_core import warehouse
from p2c_core.errors import ConfigError
import p2c_process

ROOT = Path(__file__).resolve().parents[2]


def p2c(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "P2C_WAREHOUSE": str(tmp_path / "wh" / "p2c.duckdb"),
               "P2C_REPORTS_DIR": str(tmp_path / "reports"), "COLUMNS": "200", **env}
    return p2c_process.run(list(args), environ, ROOT, timeout=300)


def test_an_unknown_warehouse_stops_run_and_status_naming_the_setting(tmp_path):
    for command in ("run", "status"):
        out = p2c(tmp_path, command, WAREHOUSE__DESTINATION="oracle")
        text = out.stdout + out.stderr
        assert out.returncode == 2, text
        assert "WAREHOUSE__DESTINATION" in text and "duckdb, postgres" in text, text
    assert not (tmp_path / "wh" / "p2c.duckdb").exists()  # nothing written


def test_postgres_without_credentials_exits_2_naming_them(tmp_path):
    out = p2c(tmp_path, "run", WAREHOUSE__DESTINATION="postgres", DESTINATION__POSTGRES__CREDENTIALS="")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "DESTINATION__POSTGRES__CREDENTIALS" in out.stdout + out.stderr


def test_a_refused_password_exits_2_and_is_never_printed(tmp_path, pg_server):
    wrong = "Wrong-Pa55word-not-shown"
    url = pg_server.url("postgres").replace(pg_server.url("postgres").split("@")[0].split(":", 2)[2], wrong)
    assert wrong in url
    for command in ("run", "errors"):
        out = p2c(tmp_path, command, WAREHOUSE__DESTINATION="postgres", DESTINATION__POSTGRES__CREDENTIALS=url)
        text = out.stdout + out.stderr
        assert out.returncode == 2, text
        assert "DESTINATION__POSTGRES__CREDENTIALS" in text and "postgresql://p2c@127.0.0.1" in text, text
        assert wrong not in text


def test_the_password_is_not_in_the_warehouses_description(monkeypatch):
    monkeypatch.setenv("WAREHOUSE__DESTINATION", "Postgres")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", "postgresql://p2c:s%40cret-42@db.example:6543/p2c")
    found = warehouse.current()
    assert (found.destination, found.dialect, found.dbt_target) == ("postgres", "postgres", "postgres")
    assert found.describe() == "postgresql://p2c@db.example:6543/p2c"
    assert "cret-42" not in repr(found) + found.describe()
    assert found.dbt_env()["DBT_ENV_SECRET_P2C_PG_PASSWORD"] == "s@cret-42"  # percent-decoded, for dbt only
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", "mysql://p2c:x@db/p2c")
    with pytest.raises(ConfigError, match="DESTINATION__POSTGRES__CREDENTIALS"):
        warehouse.current()


@pytest.mark.parametrize("variable, value", [
    ("P2C_DUCKDB_MEMORY_LIMIT", "lots"),
    ("P2C_DUCKDB_THREADS", "0"),
    ("P2C_DUCKDB_PRESERVE_INSERTION_ORDER", "sometimes"),
])
def test_a_bad_duckdb_setting_stops_the_run_naming_it(tmp_path, variable, value):
    out = p2c(tmp_path, "run", **{variable: value})
    text = out.stdout + out.stderr
    assert out.returncode == 2, text
    assert variable in text and repr(value) in text and "Traceback" not in text, text
    assert not (tmp_path / "wh" / "p2c.duckdb").exists()  # stopped before the warehouse was opened


def test_the_duckdb_settings_reach_p2cs_own_connections(tmp_path, monkeypatch):
    monkeypatch.setenv("P2C_WAREHOUSE", str(tmp_path / "p2c.duckdb"))
    with warehouse.current().connect() as conn:  # the defaults: 512MB, insertion order not kept
        defaults = dict(conn.execute("select name, value from duckdb_settings() where name in"
                                     " ('memory_limit', 'preserve_insertion_order')").fetchall())
    assert defaults["preserve_insertion_order"] == "false" and defaults["memory_limit"].startswith("488")
    monkeypatch.setenv("P2C_DUCKDB_MEMORY_LIMIT", "768MiB")
    monkeypatch.setenv("P2C_DUCKDB_PRESERVE_INSERTION_ORDER", "true")
    with warehouse.current().connect(read_only=True) as conn:
        chosen = dict(conn.execute("select name, value from duckdb_settings() where name in"
                                   " ('memory_limit', 'preserve_insertion_order')").fetchall())
    assert chosen == {"memory_limit": "768.0 MiB", "preserve_insertion_order": "true"}
