"""The warehouse every stage reads and writes: DuckDB (the embedded default) or PostgreSQL.

One setting chooses it, in dlt's configuration like every other p2c setting::

    [warehouse]                 # .dlt/config.toml, or WAREHOUSE__DESTINATION=postgres
    destination = "postgres"    # "duckdb" (default) | "postgres"

and PostgreSQL's connection is dlt's own secret, so the dlt pipelines, dbt and the writeback all
use the one value::

    DESTINATION__POSTGRES__CREDENTIALS=postgresql://user:password@host:5432/database
    # or [destination.postgres] credentials = "..." in .dlt/secrets.toml

The stages ask this module, never the engine: :func:`current` gives the :class:`Warehouse`
(``connect()``, ``exists()``, ``dlt_destination()``, ``dbt_target``/``dbt_env()``, ``dialect``),
and a :class:`Connection` runs the same SQL on both engines (``?`` parameters, explicit
``begin``/``commit``, :meth:`Connection.insert` for bulk rows, :class:`MissingTable` for a table
that is not built yet). A bad value stops the run before anything is written, with a
:class:`~p2c_core.errors.ConfigError` naming the setting; the password never appears in a message,
a log line or ``describe()``.
"""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence
from urllib.parse import unquote, urlsplit

from p2c_core import settings
from p2c_core.errors import ConfigError

DESTINATIONS = ("duckdb", "postgres")
SETTING = "warehouse.destination"  # [warehouse] destination, env WAREHOUSE__DESTINATION
ENV = "WAREHOUSE__DESTINATION"
PG_CREDENTIALS = "destination.postgres.credentials"  # env DESTINATION__POSTGRES__CREDENTIALS
PG_CREDENTIALS_ENV = "DESTINATION__POSTGRES__CREDENTIALS"
# dbt reads these (profiles.yml, target "postgres"); dbt masks DBT_ENV_SECRET_* values in its logs
DBT_PG_ENV = ("P2C_PG_HOST", "P2C_PG_PORT", "P2C_PG_USER", "DBT_ENV_SECRET_P2C_PG_PASSWORD", "P2C_PG_DBNAME")


class MissingTable(Exception):
    """The table (or a column) is not in the warehouse yet: before the first run or dbt build."""


def _config_value(key: str, env: str, secret: bool = False) -> Any:
    value = os.environ.get(env)
    if value:
        return value
    try:  # .dlt/config.toml / secrets.toml (dlt's providers; its import is slow, so only here)
        import dlt

        return (dlt.secrets if secret else dlt.config).get(key)
    except Exception:  # an unreadable config file: dlt itself reports it when the pipelines start
        return None


def destination() -> str:
    """The configured destination name; ConfigError naming the setting when it is not one p2c knows."""
    raw = _config_value(SETTING, ENV)
    value = str(raw).strip().lower() if raw is not None else "duckdb"
    if value not in DESTINATIONS:
        raise ConfigError(
            f"[warehouse] destination ({ENV})",
            f"{str(raw)[:40]!r} is not a warehouse p2c runs on; use one of {', '.join(DESTINATIONS)}",
        )
    return value


def current(path: Path | None = None) -> "Warehouse":
    """The configured warehouse (validated: raises ConfigError before anything is opened).

    ``path``: the DuckDB file, when a caller works on another one than ``P2C_WAREHOUSE``."""
    if destination() == "postgres":
        return PostgresWarehouse.from_config()
    return DuckDBWarehouse(path or settings.warehouse_path())


# --- connections ---------------------------------------------------------------------------------


class Connection:
    """One open connection; the same calls and SQL on both engines."""

    dialect = "duckdb"

    def __init__(self, native: Any) -> None:
        self.native = native

    def execute(self, sql: str, params: Sequence[Any] | None = None):
        """Run one statement (``?`` parameters); returns a cursor (``fetchall``/``fetchone``/``description``)."""
        raise NotImplementedError

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], on_conflict: str = "") -> None:
        """Insert many rows in one statement; ``on_conflict`` is an ``on conflict (...) do ...`` clause."""
        raise NotImplementedError

    def texts(self, values: Iterable[str]) -> tuple[str, Any]:
        """A list of texts as one parameter: ``(expression, value)``, the SQL expression (a list of
        varchar, e.g. for ``x in (select unnest(<expression>))``) and the value to pass for its ``?``."""
        return "?", list(values)

    def tables(self, schema: str) -> list[str]:
        return sorted(r[0] for r in self.execute(
            "select table_name from information_schema.tables where table_schema = ?", [schema]).fetchall())

    @contextmanager
    def transaction(self) -> Iterator["Connection"]:
        self.execute("begin")
        try:
            yield self
        except BaseException:
            self.execute("rollback")
            raise
        self.execute("commit")

    def execute_script(self, sql: str) -> None:
        """Run several statements (DDL) at once."""
        self.execute(sql)

    def close(self) -> None:
        self.native.close()

    def __enter__(self) -> "Connection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class DuckDBConnection(Connection):
    dialect = "duckdb"

    def execute(self, sql, params=None):
        import duckdb

        try:
            return self.native.execute(sql, params) if params is not None else self.native.execute(sql)
        except duckdb.CatalogException as exc:
            raise MissingTable(str(exc)) from exc
        except duckdb.BinderException as exc:
            if "not found" in str(exc):
                raise MissingTable(str(exc)) from exc
            raise

    def texts(self, values):
        # as one JSON text: DuckDB converts a Python list parameter element by element, trying to
        # import pandas for each one (~90 µs apiece without pandas: ~1 s for 5,000 record keys)
        return """from_json(?, '["VARCHAR"]')""", json.dumps([str(v) for v in values])

    def insert(self, table, columns, rows, on_conflict=""):
        import pyarrow as pa

        if not rows:
            return
        # one Arrow table per statement: DuckDB's executemany costs milliseconds per row
        data = pa.table({c: pa.array([r[i] for r in rows]) for i, c in enumerate(columns)})
        self.native.register("_p2c_rows", data)
        try:
            self.execute(f"insert into {table} ({', '.join(columns)}) select * from _p2c_rows {on_conflict}")
        finally:
            self.native.unregister("_p2c_rows")

    def cursor(self):
        return self.native.cursor()


class PostgresConnection(Connection):
    dialect = "postgres"

    def __init__(self, native: Any) -> None:
        import psycopg2.extras

        super().__init__(native)
        native.autocommit = True  # transactions are explicit (``begin``/``commit``), as on DuckDB
        # JSON columns read as their text, as DuckDB returns them
        psycopg2.extras.register_default_json(native, loads=lambda text: text)
        psycopg2.extras.register_default_jsonb(native, loads=lambda text: text)

    @staticmethod
    def _sql(sql: str, params) -> str:
        return sql if params is None else sql.replace("%", "%%").replace("?", "%s")

    def execute(self, sql, params=None):
        import psycopg2.errors

        cur = self.native.cursor()
        try:
            cur.execute(self._sql(sql, params), list(params) if params is not None else None)
        except (psycopg2.errors.UndefinedTable, psycopg2.errors.UndefinedColumn,
                psycopg2.errors.InvalidSchemaName) as exc:
            raise MissingTable(str(exc).strip()) from None
        return cur

    def insert(self, table, columns, rows, on_conflict=""):
        import psycopg2.extras

        if not rows:
            return
        with self.native.cursor() as cur:
            psycopg2.extras.execute_values(
                cur, f"insert into {table} ({', '.join(columns)}) values %s {on_conflict}", list(rows), page_size=1000)

    def execute_script(self, sql: str) -> None:
        # concurrent ``create ... if not exists`` race on PostgreSQL's catalog: one at a time
        with self.transaction():
            self.execute("select pg_advisory_xact_lock(727232)")
            self.execute(sql)

    def cursor(self):
        return self.native.cursor()


def wrap(conn: Any) -> Connection:
    """A :class:`Connection` over ``conn``: one already, or a driver's own (DuckDB, psycopg2)."""
    if isinstance(conn, Connection):
        return conn
    if hasattr(conn, "register"):  # a DuckDB connection
        return DuckDBConnection(conn)
    if hasattr(conn, "autocommit"):  # a DB-API connection to PostgreSQL (psycopg2)
        return PostgresConnection(conn)
    raise TypeError(f"not a warehouse connection: {type(conn).__name__}")


# --- warehouses ----------------------------------------------------------------------------------


class Warehouse:
    """Where the pipeline's tables live; one subclass per engine."""

    destination = ""
    dialect = ""  # sqlglot's dialect name
    dbt_target = ""  # the target in profiles.yml

    def exists(self) -> bool:
        raise NotImplementedError

    def connect(self, read_only: bool = False) -> Connection:
        raise NotImplementedError

    def dlt_destination(self, connection: Connection | None = None):
        raise NotImplementedError

    def dbt_env(self) -> dict[str, str]:
        """Environment variables dbt's profile reads for this target."""
        return {}

    def describe(self) -> str:
        """Where the warehouse is, safe to print (no password)."""
        raise NotImplementedError

    def check(self) -> None:
        """Raise ConfigError (naming the setting) when the warehouse cannot be opened for writing."""
        self.connect().close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"


class DuckDBWarehouse(Warehouse):
    destination = dialect = "duckdb"
    dbt_target = "local"

    def __init__(self, path: Path) -> None:
        self.path = path

    def exists(self) -> bool:
        return self.path.exists()

    def connect(self, read_only: bool = False) -> DuckDBConnection:
        import duckdb

        # the threads and memory limit profiles.yml gives dbt (p2c_core.settings.duckdb_config),
        # for reading too (the report, the plan's reads, the counts), not DuckDB's defaults
        if read_only:
            return DuckDBConnection(duckdb.connect(str(self.path), read_only=True, config=settings.duckdb_config()))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return DuckDBConnection(duckdb.connect(str(self.path), config=settings.duckdb_config()))

    def dlt_destination(self, connection: Connection | None = None):
        import dlt

        credentials = connection.native if connection is not None else str(self.path)
        return dlt.destinations.duckdb(credentials, replace_strategy="insert-from-staging")

    def describe(self) -> str:
        return str(self.path)


class PostgresWarehouse(Warehouse):
    destination = dialect = dbt_target = "postgres"

    def __init__(self, host: str, port: int, user: str, password: str, database: str) -> None:
        self.host, self.port, self.user, self.database = host, port, user, database
        self._password = password  # never printed: not in describe() nor repr()

    @classmethod
    def from_config(cls) -> "PostgresWarehouse":
        setting = f"[destination.postgres] credentials ({PG_CREDENTIALS_ENV})"
        raw = _config_value(PG_CREDENTIALS, PG_CREDENTIALS_ENV, secret=True)
        if not raw:
            raise ConfigError(setting, "the warehouse is PostgreSQL but no connection is set; "
                                       "set it to postgresql://user:password@host:5432/database")
        if isinstance(raw, dict):  # [destination.postgres.credentials] host = ... as a TOML table
            parts = {k: raw.get(k) for k in ("host", "port", "username", "password", "database")}
        else:
            try:
                url = urlsplit(str(raw))
                port = url.port
            except ValueError:
                url, port = None, None
            if url is None or url.scheme not in ("postgres", "postgresql") or not url.hostname:
                raise ConfigError(setting, "is not a PostgreSQL URL; expected postgresql://user:password@host:5432/database")
            parts = {"host": url.hostname, "port": port, "username": unquote(url.username or ""),
                     "password": unquote(url.password or ""), "database": url.path.lstrip("/")}
        if not parts.get("database") or not parts.get("username"):
            raise ConfigError(setting, "needs a user and a database: postgresql://user:password@host:5432/database")
        return cls(str(parts["host"] or "localhost"), int(parts.get("port") or 5432), str(parts["username"]),
                   str(parts.get("password") or ""), str(parts["database"]))

    def connect(self, read_only: bool = False) -> PostgresConnection:
        import psycopg2

        try:
            native = psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self._password,
                                      dbname=self.database, connect_timeout=10, application_name="p2c")
        except psycopg2.OperationalError as exc:
            # libpq's message names host, port and user, never the password; keep its first line
            first = (str(exc).strip().splitlines() or ["cannot connect"])[0]
            if self._password:
                first = first.replace(self._password, "***")
            raise ConfigError(f"[destination.postgres] credentials ({PG_CREDENTIALS_ENV})",
                              f"cannot connect to {self.describe()}: {first}") from None
        return PostgresConnection(native)

    def exists(self) -> bool:
        return True  # a server database: there is nothing to create before the first run

    def dlt_destination(self, connection: Connection | None = None):
        import dlt
        from dlt.destinations.impl.postgres.configuration import PostgresCredentials

        credentials = PostgresCredentials()
        credentials.host, credentials.port = self.host, self.port
        credentials.username, credentials.password, credentials.database = self.user, self._password, self.database
        return dlt.destinations.postgres(credentials=credentials, replace_strategy="insert-from-staging")

    def dbt_env(self) -> dict[str, str]:
        return dict(zip(DBT_PG_ENV, (self.host, str(self.port), self.user, self._password, self.database)))

    def describe(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"
