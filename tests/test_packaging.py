"""The package metadata: what pip and PyPI show about p2c, and that the sandbox is a distribution of
its own (``packages/p2c-sandbox``), never shipped in p2c's wheel nor required by it."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from importlib import metadata
from pathlib import Path

import setuptools

from p2c_core.settings import PROJECT_DIR


def test_the_license_is_an_spdx_expression_not_the_deprecated_table():
    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"  # PEP 639; `{ text = … }` is deprecated by setuptools
    assert not any(c.startswith("License ::") for c in project.get("classifiers", []))


# what names the sandbox or the web server its emulators run on, in a requirement
SANDBOX_REQUIREMENTS = {"p2c-sandbox", "p2c_sandbox", "sandbox", "starlette", "uvicorn"}


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[;(<>=!~]", requirement, maxsplit=1)[0].lower()


def test_the_product_does_not_depend_on_the_sandbox_or_its_web_server():
    # every requirement the installed p2c declares, its extras' too (dagster's own packages may bring
    # a web server of their own; p2c does not name one)
    declared = {_requirement_name(r) for r in metadata.requires("p2c") or []}
    assert declared, "p2c's installed metadata lists no requirement: is it installed?"
    assert not declared & SANDBOX_REQUIREMENTS, sorted(declared & SANDBOX_REQUIREMENTS)
    # nor does the source it is built from
    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]
    written = [*project["dependencies"], *(r for extra in project.get("optional-dependencies", {}).values() for r in extra)]
    assert not {_requirement_name(r) for r in written} & SANDBOX_REQUIREMENTS


def test_the_product_wheel_ships_no_sandbox_and_plugs_no_command_group():
    # the packages setuptools puts in p2c's wheel: its packages.find, applied as setuptools applies it
    find = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    shipped = setuptools.find_namespace_packages(
        where=str(PROJECT_DIR / find.get("where", ["."])[0]), include=find["include"], exclude=find.get("exclude", ()))
    assert "p2c" in shipped and "p2c_core" in shipped
    assert not [p for p in shipped if p.split(".")[0] == "sandbox" or p.startswith("packages")], shipped
    # the `p2c sandbox` command group is the sandbox distribution's entry point, not p2c's
    assert not [e for e in metadata.distribution("p2c").entry_points if e.group == "p2c.cli"]
    assert [e.value for e in metadata.distribution("p2c-sandbox").entry_points if e.group == "p2c.cli"] == ["sandbox.cli:app"]


def test_the_sandbox_is_imported_from_its_own_distribution():
    origin = Path(importlib.util.find_spec("sandbox").origin).resolve()
    assert origin.is_relative_to(PROJECT_DIR / "packages" / "p2c-sandbox" / "sandbox")
    assert "starlette" in {_requirement_name(r) for r in metadata.requires("p2c-sandbox")}
