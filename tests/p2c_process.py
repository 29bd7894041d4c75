"""Start ``p2c`` commands as the tests' own processes: ``run(...)`` (like ``subprocess.run``) and
``popen(...)`` (like ``subprocess.Popen``), each ``python -m p2c.cli <args>`` in a process of its own
with the given environment and directory, its stdout and stderr read as text.

The processes come from a fork server (``tests/p2c_forkserver.py``, one per pytest worker, started
on first use) that has dbt and dlt imported already, instead of a fresh interpreter that imports
them again (~2.5 s of CPU per command). Each is still a separate process: exit codes, signals
(``kill()``: SIGKILL), environment and working directory are its own. ``P2C_TEST_FORK=0`` starts
fresh interpreters instead (to rule the fork server out when a test behaves oddly).
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
FORK = os.environ.get("P2C_TEST_FORK", "1") != "0"

_server: dict = {}
_lock = threading.Lock()


def _socket_path() -> str:
    """The fork server's socket, started on first use (one per process: each pytest worker)."""
    with _lock:
        if _server.get("pid") != os.getpid():
            tmp = tempfile.mkdtemp(prefix="p2c-fork-")
            path = os.path.join(tmp, "server.sock")
            proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("p2c_forkserver.py")), path],
                                    cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            assert proc.stdout.readline().strip() == "ready", "the p2c fork server did not start"
            atexit.register(proc.kill)
            _server.update(pid=os.getpid(), path=path, proc=proc)
        return _server["path"]


class ForkedP2c:
    """A ``p2c`` process from the fork server, with the part of ``Popen``'s interface the tests use."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path | str, module: str = "p2c.cli") -> None:
        self.args = [sys.executable, "-m", module, *args]
        self.returncode: int | None = None
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        stdin = os.open(os.devnull, os.O_RDONLY)
        self._conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._conn.connect(_socket_path())
        request = {"args": list(args), "env": dict(env), "cwd": str(cwd), "module": module}
        socket.send_fds(self._conn, [json.dumps(request).encode()], [stdin, out_w, err_w])
        for fd in (stdin, out_w, err_w):
            os.close(fd)
        self.pid: int = json.loads(self._conn.recv(4096))["pid"]
        self.stdout: IO[str] = open(out_r, encoding="utf-8")
        self.stderr: IO[str] = open(err_r, encoding="utf-8")

    def poll(self) -> int | None:
        if self.returncode is None:
            self._conn.setblocking(False)
            try:
                self._ended(self._conn.recv(4096))
            except BlockingIOError:
                self._conn.setblocking(True)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._conn.settimeout(timeout)
            try:
                message = self._conn.recv(4096)
            except TimeoutError:
                self._conn.settimeout(None)
                raise subprocess.TimeoutExpired(self.args, timeout) from None
            self._ended(message)
        return self.returncode

    def _ended(self, message: bytes) -> None:
        self.returncode = json.loads(message)["returncode"]
        self._conn.close()

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Read stdout and stderr to their ends (both at once, as ``Popen`` does), then wait."""
        got: dict[str, str] = {}
        readers = [threading.Thread(target=lambda n=name, s=stream: got.__setitem__(n, s.read()), daemon=True)
                   for name, stream in (("out", self.stdout), ("err", self.stderr))]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(timeout)
            if reader.is_alive():
                raise subprocess.TimeoutExpired(self.args, timeout)
        self.wait(timeout)
        return got["out"], got["err"]

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def popen(args: list[str], env: dict[str, str], cwd: Path | str = ROOT, module: str = "p2c.cli"):
    """``python -m p2c.cli <args>`` (or another of the project's modules) started, stdout and stderr
    as text pipes (``Popen``-like)."""
    if not FORK:
        return subprocess.Popen([sys.executable, "-m", module, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return ForkedP2c(args, env, cwd, module)


def run(args: list[str], env: dict[str, str], cwd: Path | str = ROOT, timeout: float | None = None,
        module: str = "p2c.cli") -> subprocess.CompletedProcess:
    """``python -m p2c.cli <args>`` (or another of the project's modules) to its end: its exit code,
    stdout and stderr (``subprocess.run``-like)."""
    proc = popen(args, env, cwd, module)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
