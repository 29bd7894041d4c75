"""The package metadata: what pip and PyPI show about p2c."""

from __future__ import annotations

import tomllib

from p2c_core.settings import PROJECT_DIR


def test_the_license_is_an_spdx_expression_not_the_deprecated_table():
    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"  # PEP 639; `{ text = … }` is deprecated by setuptools
    assert not any(c.startswith("License ::") for c in project.get("classifiers", []))
