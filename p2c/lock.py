"""The run lock: two runs on one warehouse never overlap.

The lock is an OS file lock (``filelock``), so the kernel releases it when the holding process
dies, however it dies: a lock file left behind by a dead run is stale by construction and the next
run simply takes it. Beside the lock, a small JSON note says who holds it, for the message a
second run prints.
"""

from __future__ import annotations

import json
import os
import socket
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout


class LockHeld(RuntimeError):
    """Another run holds the lock."""

    def __init__(self, lock_path: Path, holder: dict) -> None:
        self.lock_path = lock_path
        self.holder = holder
        who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
        since = holder.get("started_at", "?")
        run_id = holder.get("run_id", "?")
        super().__init__(f"another p2c run ({run_id}, {who}, since {since}) holds {lock_path}")


def _holder_path(lock_path: Path) -> Path:
    return lock_path.with_suffix(lock_path.suffix + ".json")


def read_holder(lock_path: Path) -> dict:
    try:
        return json.loads(_holder_path(lock_path).read_text())
    except (OSError, ValueError):
        return {}


@contextmanager
def run_lock(lock_path: Path, run_id: str) -> Iterator[None]:
    """Hold the run lock for the block; raise :class:`LockHeld` at once if another run has it."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise LockHeld(lock_path, read_holder(lock_path)) from None
    note = _holder_path(lock_path)
    try:
        note.write_text(
            json.dumps(
                {
                    "run_id": run_id,
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                }
            )
        )
        yield
    finally:
        note.unlink(missing_ok=True)
        lock.release()
