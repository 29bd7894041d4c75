"""A value map broken by hand is a configuration error: exit 2, one message naming file and line."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from p2c.run import EXIT_CONFIG, Pipeline, execute
from p2c_core.errors import ConfigError
from p2c_core.runs import StageOutcome
from p2c_core.settings import PROJECT_DIR
from transform import seeds, stage

GARBAGE = {  # inserted as line 4 of seeds/currency_map.csv
    "unclosed quote": ('"Pound Sterling,GBP\n', "line 4"),
    "too many fields": ("Yen,JPY,extra,fields\n", "line 4: 4 fields where the header has 2"),
}


@pytest.fixture()
def broken_seeds(tmp_path, monkeypatch, request) -> Path:
    seeds_dir = tmp_path / "seeds"
    shutil.copytree(PROJECT_DIR / "seeds", seeds_dir)
    currency_map = seeds_dir / "currency_map.csv"
    lines = currency_map.read_text().splitlines(keepends=True)
    currency_map.write_text("".join(lines[:3]) + GARBAGE[request.param][0] + "".join(lines[3:]))
    monkeypatch.setattr(seeds, "SEEDS_DIR", seeds_dir)
    monkeypatch.setenv("P2C_WAREHOUSE", str(tmp_path / "wh" / "p2c.duckdb"))
    return seeds_dir


@pytest.mark.parametrize("broken_seeds", list(GARBAGE), indirect=True)
def test_p2c_run_exits_2_naming_the_seed_file_and_line(broken_seeds, request):
    needle = GARBAGE[request.node.callspec.params["broken_seeds"]][1]
    warehouse = broken_seeds.parent / "wh" / "p2c.duckdb"
    pipeline = Pipeline(preflight=lambda: None, extract=lambda run_id: StageOutcome({}),
                        transform=stage.transform_stage,
                        writeback=lambda run_id: pytest.fail("the writeback must not start"),
                        report=lambda run_id: None)
    summary = execute(pipeline, warehouse=warehouse, lock_path=Path(f"{warehouse}.lock"))
    assert summary.exit_code == EXIT_CONFIG
    assert "currency_map.csv" in summary.message and needle in summary.message
    assert summary.message.count("currency_map.csv") == 1  # said once, no sniffer hints


@pytest.mark.parametrize("broken_seeds", ["too many fields"], indirect=True)
def test_p2c_transform_prints_one_message_and_exits_2(broken_seeds):
    from p2c.cli import app

    done = CliRunner().invoke(app, ["transform"], terminal_width=400)
    assert done.exit_code == EXIT_CONFIG, done.output
    text = " ".join(done.output.split())
    assert text.startswith("not started: ") and "currency_map.csv: line 4:" in text
    assert text.count("currency_map.csv") == 1


def test_the_shipped_seeds_pass_the_check():
    seeds.check_seeds()  # raises on any problem


@pytest.mark.parametrize(("text", "types", "problem"), [
    ("a,b\n1,2\n\n3,4\n", None, None),
    ("", None, "line 1: the file is empty"),
    ("a,b\n1,2\n3\n", None, "line 3: 1 fields where the header has 2"),
    ("a,b\n1,x\n", {"b": "integer"}, "line 2: b is integer, not 'x'"),
    ("a\n1\n", {"b": "varchar"}, "line 1: the header lacks the column(s) b"),
])
def test_seed_problem(text, types, problem):
    found = seeds.seed_problem(text, types)
    assert (found is None) if problem is None else found.startswith(problem), found


def test_a_seed_dbt_refuses_is_a_config_error_naming_the_file():
    """Should dbt refuse a seed the check let through, the run still says which file, once."""
    node = SimpleNamespace(resource_type="seed", unique_id="seed.p2c.currency_map",
                           original_file_path="seeds/currency_map.csv")
    failed = SimpleNamespace(node=node, status="error",
                             message="Runtime Error\n  Error when sniffing file\n  hint: …\n")
    result = stage.summarize(SimpleNamespace(success=False, exception=None,
                                                         result=SimpleNamespace(results=[failed])))
    with pytest.raises(ConfigError) as err:
        stage.outcome(result, Path("not-read.duckdb"))
    assert err.value.setting == "seeds/currency_map.csv" and "hint" not in str(err.value)
