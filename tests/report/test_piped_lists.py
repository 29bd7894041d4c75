"""Lists that leave a terminal (``p2c quarantine | head``) stay one record per line, nothing cut."""

from __future__ import annotations

import os

import pytest

from p2c.commands.listing import plain_rows

from . import warehouse
import p2c_process


@pytest.fixture()
def env(tmp_path) -> dict[str, str]:
    path = warehouse.build(tmp_path / "p2c.duckdb", history=5)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR", "TTY_COMPATIBLE")}
    return env | {"P2C_WAREHOUSE": str(path)}


def _piped(args: list[str], env: dict[str, str]) -> list[str]:
    done = p2c_process.run(args, env)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


@pytest.mark.parametrize(
    ("args", "title", "count", "needle"),
    [
        (["quarantine"], "quarantined records", len(warehouse.QUARANTINE),
         "The business unit Contoso is not in the company map (seeds/company_map.csv)."),
        (["conflicts", "--all"], "conflicts", 3, "usmf|ACC-00007"),
        (["status"], "last runs", 5, warehouse.RUN_ID),
    ],
)
def test_a_piped_list_has_a_header_and_one_line_per_record(env, args, title, count, needle):
    lines = _piped(args, env)
    assert lines[0].startswith(title)
    header, rows = lines[1], lines[2:]
    assert header.split()[0] in ("system", "entity", "run_id")
    assert len(rows) == count  # one line per record: no cell wrapped onto the next line
    assert any(needle in row for row in rows)
    assert not any(ch in "".join(lines) for ch in "┃│━─")  # plain text, no box drawing


def test_plain_rows_pad_columns_and_keep_every_value_whole():
    lines = plain_rows(("entity", "created"), [("customer", "12"), ("order_line", "3\nlines")], right=("created",))
    assert lines == ["entity      created", "customer         12", "order_line  3 lines"]
