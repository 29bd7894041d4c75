"""The layers hold: the CLI above the stages, the stages above ``systems``, ``systems`` above ``p2c_core``, no product import of
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


def test_the_systems_sit_between_the_stages_and_the_core():
    """``systems`` imports only ``p2c_core`` (and libraries): never a stage, never the CLI."""
    import tomllib

    config = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert "systems" in config["root_packages"]
    (layers,) = [c["layers"] for c in config["contracts"] if c["type"] == "layers"]
    names = [[p.strip() for p in layer.replace(":", "|").split("|")] for layer in layers]
    assert names.index(["systems"]) == len(names) - 2 and names[-1] == ["p2c_core"]
    assert ["p2c", "orchestration"] in names[: names.index(["systems"])]
    assert ["pipelines", "transform", "reverse_etl"] in names[: names.index(["systems"])]
