"""The test suite's fork server for ``p2c`` processes (the server side; the client: ``tests/p2c_process.py``).

A ``p2c`` command the tests start is a process of its own, as a user's is: its own environment,
working directory, exit code and signals (the crash chain SIGKILLs it). Most of a fresh process's
start-up is importing dbt and dlt (~2.5 s of CPU each time, ~150 times in ``make test``), so this
server imports those third-party libraries once, and forks a child per command. The child takes the
caller's stdin, stdout and stderr (passed over the socket), environment, directory and arguments, and
runs ``python -m p2c.cli <args>`` (``runpy``; or another module of the project the request names,
such as ``transform.incremental``): p2c's own modules are imported in the child, after its
environment is set, exactly as in a fresh process.

Protocol, one ``SOCK_SEQPACKET`` connection per command: the client sends one JSON message
``{"args", "env", "cwd", "module"}`` with three file descriptors; the server answers ``{"pid": n}``, then
``{"returncode": n}`` when the child ends (negative: killed by that signal, as ``Popen`` says).

dbt's parsed project: the server also parses the dbt project once, for the suite's common case (F&O
as the ERP, a DuckDB warehouse file named ``p2c.duckdb``), and a child whose command would build that
same project gets the manifest as ``p2c watch`` keeps its own (``transform.runner.keep_parsed``)
instead of parsing it itself: a full parse in every fresh warehouse (~4 s of CPU) and reading the
saved one in every later command (~1 s). A child on another ERP, target or project (its digest
differs) parses as a fresh process does; ``P2C_TEST_PARSED=0`` in a command's environment too.

Run as ``python tests/p2c_forkserver.py <socket path>``; it prints ``ready`` once it listens, and
exits when its stdin closes (the pytest worker that started it is gone).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import runpy
import shutil
import signal
import socket
import sys
import tempfile
import threading
import traceback
from pathlib import Path

# the third-party libraries a `p2c` command imports (dbt and dlt are most of its start-up); never
# p2c's own modules, which read their settings when a command runs and are imported by each child
WARM = (
    "dbt.cli.main", "dbt.adapters.duckdb", "dbt.adapters.postgres", "dbt.adapters.factory",
    "dbt.parser.manifest", "dbt.task.build",
    "dlt", "dlt.destinations", "dlt.pipeline", "dlt.extract", "dlt.normalize", "dlt.load",
    "dlt.destinations.impl.duckdb.duck", "dlt.destinations.impl.postgres.postgres",
    "duckdb", "httpx", "typer", "rich.console", "rich.progress", "rich.table", "sqlglot", "psycopg2",
)


def _warm() -> None:
    import importlib

    for name in WARM:
        try:
            importlib.import_module(name)
        except Exception:  # a library this machine lacks: the child imports (and reports) it itself
            pass


# p2c's own top-level packages: imported in the server only to parse the project, then dropped
OWN = ("p2c", "p2c_core", "systems", "pipelines", "transform", "reverse_etl", "orchestration")
# the project parsed once for the common case (``digest``, ``manifest``); empty when it failed
PARSED: dict = {}


def _parse_project() -> None:
    """Parse the dbt project for F&O on a DuckDB file named ``p2c.duckdb``, as p2c would."""
    saved = dict(os.environ)
    tmp = tempfile.mkdtemp(prefix="p2c-parse-")
    try:
        os.environ.update(P2C_WAREHOUSE=os.path.join(tmp, "p2c.duckdb"), P2C__ERP="finops",
                          DBT_SEND_ANONYMOUS_USAGE_STATS="false")
        os.environ.pop("WAREHOUSE__DESTINATION", None)
        from dbt.cli.main import dbtRunner
        from transform import inputs, runner

        digest = inputs.project_digest()
        with contextlib.redirect_stdout(sys.stderr):
            # not dbt's static parser (dbt_extractor, native code): a child forked after it ran hangs
            # in it when the child parses a project itself
            result = dbtRunner().invoke(["--quiet", *runner.dbt_args(
                "parse", Path(tmp) / "p2c.duckdb", ["--no-static-parser"], target="local")])
        if result.success:
            PARSED.update(digest=digest, manifest=result.result)
    except Exception:
        traceback.print_exc()  # no parsed project: every child parses its own
    finally:
        os.environ.clear()
        os.environ.update(saved)
        for name in [m for m in sys.modules if m.split(".")[0] in OWN]:
            del sys.modules[name]
        shutil.rmtree(tmp, ignore_errors=True)


def _offer_parsed() -> None:
    """In the child, its environment set: the parsed project, when its command builds the same one."""
    if not PARSED or os.environ.get("P2C_TEST_PARSED") == "0":
        return
    try:
        from p2c_core import settings, warehouse
        from systems import system_for
        from transform import runner

        if (system_for("erp").name == "finops" and warehouse.destination() == "duckdb"
                and settings.warehouse_path().name == "p2c.duckdb"):
            runner.keep_parsed(True, (PARSED["digest"], PARSED["manifest"]))
    except Exception:
        pass  # a setting the command itself will stop on, as a fresh process would


def _child(request: dict, fds: list[int]) -> None:
    """In the forked child: become ``python -m <module> <args>`` with the caller's streams."""
    code = 1
    try:
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
        for fd in fds:
            os.close(fd)
        for sig in (signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.path[0] = request["cwd"]  # as `python -m` puts the working directory first
        sys.argv = [request["module"], *request["args"]]
        _offer_parsed()
        try:
            runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as stop:
            if stop.code is None or isinstance(stop.code, int):
                code = stop.code or 0
            else:
                print(stop.code, file=sys.stderr)
                code = 1
        except BaseException:
            traceback.print_exc()
            code = 1
        atexit._run_exitfuncs()  # what a normal interpreter exit runs
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def _serve(conn: socket.socket) -> None:
    message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    request = json.loads(message)
    pid = os.fork()
    if pid == 0:
        conn.close()
        _child(request, fds)
    for fd in fds:
        os.close(fd)
    conn.send(json.dumps({"pid": pid}).encode())

    def reap() -> None:
        _, status = os.waitpid(pid, 0)
        try:
            conn.send(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}).encode())
        except OSError:
            pass  # the caller has gone
        conn.close()

    threading.Thread(target=reap, daemon=True).start()


def main(path: str) -> None:
    _warm()
    _parse_project()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    server.bind(path)
    server.listen(16)
    # the pytest worker holds our stdin: when it is gone, so are we
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    print("ready", flush=True)
    while True:
        conn, _ = server.accept()
        _serve(conn)


if __name__ == "__main__":
    main(sys.argv[1])
