"""A throwaway PostgreSQL server for the tests: Debian's binaries, a temp data directory, a free
loopback port.

``PgServer.start()`` runs ``initdb`` (superuser ``p2c`` with a password, scram on TCP) and
``pg_ctl start`` on ``127.0.0.1:<free port>``; ``stop()`` stops it and removes the directory.
As root, PostgreSQL refuses to run, so both run as the ``postgres`` OS user (``runuser``) and the
temp directory is handed to it. ``database(name)`` creates a fresh database and returns its URL in
dlt's naming (the value of ``DESTINATION__POSTGRES__CREDENTIALS``), so the tests of a session share
one server and still never see each other's tables. The binaries are installed by
``scripts/install-postgresql.sh`` (``make test`` calls it).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "p2c"
PASSWORD = "p2c-test-Secret-7x"  # a password the secrets tests can grep for


def bindir() -> Path | None:
    for found in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True):
        if os.access(Path(found) / "initdb", os.X_OK):
            return Path(found)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self) -> None:
        found = bindir()
        if found is None:
            raise RuntimeError("PostgreSQL is not installed: run scripts/install-postgresql.sh (make test does)")
        self.bin = found
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="p2c-pg-"))
        self.data = self.root / "data"
        self._as_root = os.geteuid() == 0
        self._databases = 0

    def _run(self, *args: str) -> None:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=self.root)

    def start(self) -> "PgServer":
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if self._as_root:
            os.chmod(self.root, 0o700)
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", USER, f"--pwfile={pwfile}", "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        pwfile.unlink()
        # a test server: durability off (fsync, synchronous commit) for speed
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")
        return self

    def stop(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def database(self, name: str | None = None) -> str:
        """A new, empty database; its URL (``DESTINATION__POSTGRES__CREDENTIALS``)."""
        import psycopg2

        self._databases += 1
        name = name or f"p2c_{os.getpid()}_{self._databases}"
        conn = psycopg2.connect(self.url())
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f'drop database if exists "{name}"')
                cur.execute(f'create database "{name}"')
        finally:
            conn.close()
        return self.url(name)


if __name__ == "__main__":  # a server for a shell session: python tests/pg_server.py
    import time

    server = PgServer().start()
    print(server.database("p2c"), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
