"""The run report, opened offline in a real headless Chromium: it loads without script errors and
shows the numbers that are in the warehouse."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from p2c.report import HISTORY_LABEL_GAP, HISTORY_LABEL_HALF, write_report
from . import browser, warehouse


@pytest.fixture(scope="module")
def chromium() -> str:
    return browser.chromium()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("report")
    wh = warehouse.build(tmp / "p2c.duckdb")
    with duckdb.connect(str(wh), read_only=True) as conn:
        path = write_report(conn, warehouse.RUN_ID, tmp / "reports")
    return wh, path


@pytest.fixture(scope="module")
def page(built, chromium, tmp_path_factory) -> browser.Page:
    return browser.load(chromium, built[1], tmp_path_factory.mktemp("profile"))


def _num(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def test_report_files_are_written_and_self_contained(built):
    _, path = built
    assert path.name == f"run-{warehouse.RUN_ID}.html"
    latest = path.parent / "latest.html"
    assert latest.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
    html = path.read_text(encoding="utf-8")
    # opens offline: nothing is fetched from anywhere
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "<link" not in html.lower() and "@import" not in html


def test_page_loads_without_script_errors(page):
    assert page.console_errors == []
    root = page.tree().find("html")
    assert root.attrs.get("data-ready") == "1", "the page's script did not run to its end"
    assert "data-js-errors" not in root.attrs


def test_browser_check_catches_a_broken_script(chromium, tmp_path):
    # the check above must be able to fail: a page whose script throws is reported
    broken = tmp_path / "broken.html"
    broken.write_text("<html><body><script>notDefined();</script></body></html>", encoding="utf-8")
    loaded = browser.load(chromium, broken, tmp_path / "profile")
    assert any("notDefined" in e for e in loaded.console_errors)


def test_summary_shows_the_run_and_its_totals(page):
    tree = page.tree()
    assert tree.find(id="run-id").text == warehouse.RUN_ID
    assert tree.find(id="run-status").text == "Completed with issues"
    assert tree.find(id="run-duration").text == "1 min 35 s"
    for key in ("extracted", "created", "updated", "unchanged", "conflicts", "quarantined", "failed", "waiting"):
        expected = sum(c[key] for c in warehouse.ENTITY_COUNTS.values())
        tile = tree.find(data_kpi=key)
        assert _num(tile.find(class_="value").text) == expected, key
    assert "2 open" in tree.find(data_kpi="conflicts").text
    stages = [s.attrs["data-stage"] for s in tree.find(id="stages").find_all(data_stage=True)]
    assert stages == ["extract", "transform", "writeback", "report"]


def test_per_entity_rows_show_the_counts_and_bars(page):
    tree = page.tree()
    section = tree.find(id="entities")
    for entity, counts in warehouse.ENTITY_COUNTS.items():
        row = section.find("tr", data_entity=entity)
        for col, value in counts.items():
            assert _num(row.find("td", data_col=col).text) == value, (entity, col)
        # one bar segment per non-zero outcome, labelled with its number
        labels = [t.text for t in row.find_all("title")]
        expected = [f"{entity}: {counts[k]} {k}" for k in ("created", "updated", "failed", "conflicts", "quarantined") if counts[k]]
        assert labels == expected


def test_history_shows_the_last_30_runs_with_this_one_marked(page):
    history = page.tree().find(id="history")
    runs = history.find_all("g", data_run=True)
    assert len(runs) == 30
    assert runs[-1].attrs["data-run"] == warehouse.RUN_ID and "is-current" in runs[-1].attrs["class"]
    previous = history.find("g", data_run=warehouse.PREVIOUS_RUN)
    assert "13 written · 0 failed" in previous.find("title").text
    assert "failed" in history.find("g", data_run=warehouse.FAILED_RUN).find("title").text
    current = runs[-1].find("title").text
    assert "21 written · 1 failed" in current
    # the red part of the current bar is there and sits on top of the green one
    ok = runs[-1].find("rect", class_="bar-ok")
    err = runs[-1].find("rect", class_="bar-err")
    assert float(err.attrs["y"]) + float(err.attrs["height"]) == pytest.approx(float(ok.attrs["y"]), abs=0.02)


def test_failed_records_show_the_service_message(page):
    section = page.tree().find(id="failed")
    rows = section.find("tbody").find_all("tr")
    assert len(rows) == len(warehouse.FAILURES)
    text = section.text
    assert "Customer group 99 does not exist" in text and "usmf|ACC-00009" in text
    assert "waits for customer usmf|ACC-00009" in text


def test_open_conflicts_and_quarantine_are_listed_with_reasons(page):
    tree = page.tree()
    conflicts = tree.find(id="conflicts")
    rows = conflicts.find("tbody").find_all("tr")
    assert len(rows) == 2  # the owner_wins one is settled, not open
    # values are shown as text, never as markup
    assert "Bikes <spring> & co" in conflicts.text
    assert "1 other conflict was settled" in conflicts.text
    quarantine = tree.find(id="quarantine")
    assert len(quarantine.find("tbody").find_all("tr")) == len(warehouse.QUARANTINE)
    reasons = {p.attrs["data-reason"]: p.text for p in quarantine.find_all(data_reason=True)}
    assert set(reasons) == {q[6] for q in warehouse.QUARANTINE}
    assert "Bitcoin is not in the currency map" in quarantine.text


def test_a_run_that_failed_before_any_stage_still_gets_a_report(chromium, tmp_path):
    wh = tmp_path / "p2c.duckdb"
    with duckdb.connect(str(wh)) as conn:
        from p2c_core import sync_schema

        sync_schema.ensure(conn)
        conn.execute(
            "insert into p2c_sync.runs (run_id, stage, entity, status, started_at, finished_at, counts, message)"
            " values ('r1', 'run', '', 'failed', '2025-03-01 02:00:00', "
            "'2025-03-01 02:00:02', '{}', 'sources.crm.credentials.client_secret: missing')"
        )
        path = write_report(conn, "r1", tmp_path / "reports")
    loaded = browser.load(chromium, path, tmp_path / "profile")
    assert loaded.console_errors == []
    tree = loaded.tree()
    assert tree.find("html").attrs.get("data-ready") == "1"
    assert tree.find(id="run-status").text == "Failed"
    assert "client_secret: missing" in tree.find(id="run-message").text
    assert all(_num(tree.find(data_kpi=k).find(class_="value").text) == 0 for k in ("created", "failed"))


@pytest.mark.parametrize("history", [2, 6, 33])
def test_history_labels_never_overlap(chromium, tmp_path, history):
    wh = warehouse.build(tmp_path / "p2c.duckdb", history=history)
    with duckdb.connect(str(wh), read_only=True) as conn:
        path = write_report(conn, warehouse.RUN_ID, tmp_path / "reports")
    chart = browser.load(chromium, path, tmp_path / "profile").tree().find(id="history")
    texts = [t for t in chart.find_all("text") if t.attrs.get("y") == "184"]
    # each label's visual centre, whatever its anchor; the chart spans 0..770 (50 left of it for the axis)
    half = HISTORY_LABEL_HALF
    mids = sorted(float(t.attrs["x"]) + {"middle": 0, "end": -half, "start": half}[t.attrs["text-anchor"]] for t in texts)
    assert all(b - a >= HISTORY_LABEL_GAP for a, b in zip(mids, mids[1:])), mids  # ~62 units wide each
    assert mids[0] - half >= -50 and mids[-1] + half <= 770, mids  # none runs off the chart
    xs = mids
    labels = texts
    current = chart.find("g", data_run=warehouse.RUN_ID)
    assert current.find("text") is not None  # this run is always dated
    if history >= 30:  # a full chart is dated across its width
        assert len(labels) >= 8 and xs[0] < 20 and xs[-1] > 700
