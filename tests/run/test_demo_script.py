"""`make demo`'s clean-up: it only ever removes files the demo itself wrote."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from p2c_core.settings import PROJECT_DIR

DEMO = PROJECT_DIR / "scripts" / "demo.sh"


def _reset(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("P2C_")} | env_extra
    return subprocess.run(["bash", str(DEMO), "--reset-warehouse"], env=env, capture_output=True, text=True)


def test_the_demo_never_touches_the_users_warehouse_directory(tmp_path):
    user_dir = tmp_path / "prod"
    user_dir.mkdir()
    (user_dir / "p2c.duckdb").write_text("the user's warehouse")
    (user_dir / "notes.txt").write_text("precious")
    demo_dir = tmp_path / "demo"
    done = _reset({"P2C_WAREHOUSE": str(user_dir / "p2c.duckdb"), "P2C_DEMO_DIR": str(demo_dir)})
    assert done.returncode == 0, done.stderr
    assert (user_dir / "notes.txt").read_text() == "precious"
    assert (user_dir / "p2c.duckdb").read_text() == "the user's warehouse"
    assert (demo_dir / ".p2c-demo").exists()


def test_the_next_demo_removes_its_own_files_and_keeps_anything_else(tmp_path):
    demo_dir = tmp_path / "demo"
    assert _reset({"P2C_DEMO_DIR": str(demo_dir)}).returncode == 0
    (demo_dir / "p2c.duckdb").write_text("last demo")
    (demo_dir / "dlt_pipelines" / "p2c_crm").mkdir(parents=True)
    (demo_dir / "mine.sql").write_text("a user's file")
    assert _reset({"P2C_DEMO_DIR": str(demo_dir)}).returncode == 0
    assert not (demo_dir / "p2c.duckdb").exists() and not (demo_dir / "dlt_pipelines").exists()
    assert (demo_dir / "mine.sql").read_text() == "a user's file"


def test_the_demo_refuses_a_directory_it_did_not_create(tmp_path):
    theirs = tmp_path / "warehouse"
    theirs.mkdir()
    (theirs / "p2c.duckdb").write_text("someone's warehouse")
    done = _reset({"P2C_DEMO_DIR": str(theirs)})
    assert done.returncode == 2
    assert "P2C_DEMO_DIR" in done.stderr and "not created by the demo" in done.stderr
    assert (theirs / "p2c.duckdb").read_text() == "someone's warehouse"
    assert not (theirs / ".p2c-demo").exists()
