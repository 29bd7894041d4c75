"""The layers hold: the CLI above the stages, the stages above ``p2c_core``, no product import of
the sandbox. The contracts are ``[tool.importlinter]`` in pyproject.toml; ``lint-imports`` checks
them and names the import chain of any it finds broken."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from p2c_core.settings import PROJECT_DIR


def test_every_import_linter_contract_is_kept():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint_imports), "--no-cache"], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
