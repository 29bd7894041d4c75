"""Helpers for the extraction tests: run an extraction against a sandbox into a temp warehouse."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipelines.extract import ExtractResult, extract_system
from p2c_core.entity import EntitySpec
from systems import ROLES, system_for


def point_at(monkeypatch: pytest.MonkeyPatch, sandbox, warehouse_dir: Path) -> None:
    """Environment for one test: the sandbox's connection settings and a private warehouse."""
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("P2C_WAREHOUSE", str(warehouse_dir / "p2c.duckdb"))
    monkeypatch.delenv("P2C_PIPELINES_DIR", raising=False)


def extract(system: str, **options) -> ExtractResult:
    return extract_system(system, **options)


def manifest_counts(sandbox) -> dict[str, dict[str, int]]:
    return json.loads((Path(sandbox.dir) / "manifest.json").read_text())["counts"]


def live_rows(warehouse: Path, system: str, entity: EntitySpec) -> list[tuple]:
    """Primary keys of the rows a model would see (CRM: not marked deleted)."""
    keys = ", ".join(entity.primary_key)
    where = "where not coalesce(_p2c_deleted, false)" if system == "crm" else ""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(f"select {keys} from {system}_raw.{entity.table} {where}").fetchall()


def assert_matches_counts(warehouse: Path, counts: dict[str, dict[str, int]]) -> None:
    """Every entity: as many live rows as the service has, and no key twice."""
    for system, entities in ((role, system_for(role).entities) for role in ROLES):
        for entity in entities:
            keys = live_rows(warehouse, system, entity)
            expected = counts[system][entity.entity_set]
            assert len(keys) == expected, f"{system}.{entity.entity_set}: {len(keys)} rows, service has {expected}"
            assert len(set(keys)) == len(keys), f"{system}.{entity.entity_set}: duplicate keys"
