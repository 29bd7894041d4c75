"""The run report: one self-contained HTML file per run that people would rather read than logs.

``write_report(conn, run_id, reports_dir)`` writes ``reports/run-<id>.html`` and a copy as
``reports/latest.html``. Everything is inline (CSS, a little JS, SVG charts drawn here), so the
file opens offline, from a mail attachment or a CI artefact. The numbers come from
:mod:`p2c.inspect`, the same queries the ``p2c status/conflicts/errors`` commands use.

The page works without JavaScript; the script only adds table filters and sorting, and marks the
document ``data-ready`` once it ran (the browser tests check that, and that no error was caught).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from p2c import inspect
from p2c_core.crashpoints import crashpoint

# colours of the per-entity bars and the legend, one per outcome
OUTCOME_COLOURS = {
    "created": "#2f9e44",
    "updated": "#4dabf7",
    "failed": "#e03131",
    "conflicts": "#f59f00",
    "quarantined": "#9c36b5",
}
HISTORY_LIMIT = 30
# the least distance between two history labels' centres, in the chart's units: a label
# ("01 Mar 02:00", 10px system-ui) is about 62 wide
HISTORY_LABEL_GAP = 78.0
HISTORY_LABEL_HALF = 34.0  # half a label's width, to keep the first and last inside the chart
TABLE_LIMIT = 500  # rows per table; the CLI's --csv exports have them all


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    colour: str
    label: str


@dataclass(frozen=True)
class HistoryBar:
    run_id: str
    x: float
    width: float
    success_y: float
    success_h: float
    error_y: float
    error_h: float
    status: str
    tooltip: str
    label: str
    current: bool
    show_label: bool = False  # a date under the bar; never so close to another that they overlap
    label_x: float = 0.0  # where the label is anchored, and how (kept inside the chart)
    label_anchor: str = "middle"


def entity_bars(entities: list[dict[str, Any]], width: float = 200.0) -> dict[str, list[Segment]]:
    """Per entity, stacked segments of created/updated/failed/conflicts/quarantined on a shared scale."""
    totals = [sum(e[k] for k in OUTCOME_COLOURS) for e in entities]
    scale = width / max(totals + [1])
    bars: dict[str, list[Segment]] = {}
    for entity in entities:
        x, segments = 0.0, []
        for key, colour in OUTCOME_COLOURS.items():
            if entity[key]:
                w = max(entity[key] * scale, 2.0)  # a single record stays visible
                segments.append(Segment(round(x, 2), round(w, 2), colour, f"{entity[key]} {key}"))
                x += w
        bars[entity["entity"]] = segments
    return bars


def history_bars(
    runs: list[dict[str, Any]], current: str, width: float = 760.0, height: float = 150.0
) -> tuple[list[HistoryBar], int]:
    """The execution history, oldest left: per run, records written (green) and failed (red) stacked.

    Returns the bars and the y-axis maximum. ``runs`` is newest first, as :func:`inspect.recent_runs`
    gives it.
    """
    ordered = list(reversed(runs[:HISTORY_LIMIT]))
    top = max([r["succeeded"] + r["errors"] for r in ordered] + [1])
    slot = width / HISTORY_LIMIT
    bar_w = slot * 0.64
    bars = []
    for i, run in enumerate(ordered):
        x = i * slot + (slot - bar_w) / 2
        success_h = run["succeeded"] / top * height
        error_h = run["errors"] / top * height
        started = run["started_at"]
        when = started.strftime("%Y-%m-%d %H:%M") if started else "?"
        tooltip = (
            f"{run['run_id']} · {when} UTC · {run['status']}\n"
            f"{run['succeeded']} written · {run['errors']} failed"
        )
        bars.append(
            HistoryBar(
                run_id=run["run_id"],
                x=round(x, 2),
                width=round(bar_w, 2),
                success_y=round(height - success_h, 2),
                success_h=round(success_h, 2),
                error_y=round(height - success_h - error_h, 2),
                error_h=round(error_h, 2),
                status=run["status"],
                tooltip=tooltip,
                label=started.strftime("%d %b %H:%M") if started else "",
                current=run["run_id"] == current,
            )
        )
    # near the chart's right edge (its right margin is 10) a label ends at its bar instead of centring on it
    anchors = [label_anchor(b.x + b.width / 2, width) for b in bars]
    labelled = label_positions([mid for _, _, mid in anchors], next((i for i, b in enumerate(bars) if b.current), None))
    return [
        replace(b, show_label=True, label_x=round(anchors[i][0], 2), label_anchor=anchors[i][1]) if i in labelled else b
        for i, b in enumerate(bars)
    ], top


def label_anchor(centre: float, width: float, margin: float = 10.0) -> tuple[float, str, float]:
    """``(x, text-anchor, visual centre)`` of a label under the bar centred at ``centre`` (pure)."""
    if centre + HISTORY_LABEL_HALF > width + margin:
        x = width + margin
        return x, "end", x - HISTORY_LABEL_HALF
    return centre, "middle", centre


def label_positions(centres: list[float], current: int | None, gap: float = HISTORY_LABEL_GAP) -> list[int]:
    """Which bars get a date label: this run's, the newest, the oldest, then as many others as fit
    at least ``gap`` apart, so no two labels overlap (pure)."""
    if not centres:
        return []
    wanted = [i for i in (current, len(centres) - 1, 0) if i is not None] + list(range(len(centres)))
    shown: list[int] = []
    for i in wanted:
        if i not in shown and all(abs(centres[i] - centres[j]) >= gap for j in shown):
            shown.append(i)
    return sorted(shown)


def report_data(conn, run_id: str) -> dict[str, Any]:
    """Everything the page shows, read from the warehouse (no HTML here)."""
    summary = inspect.run_summary(conn, run_id) or {
        "run_id": run_id, "status": "unknown", "started_at": None, "finished_at": None,
        "counts": {}, "message": None, "seconds": None,
    }
    entities = inspect.run_entities(conn, run_id)
    totals = {c: sum(e[c] for e in entities) for c in inspect.COUNT_COLUMNS}
    # the run row's own totals win where the orchestrator recorded them
    totals.update({k: v for k, v in summary["counts"].items() if k in totals})
    runs = inspect.recent_runs(conn, HISTORY_LIMIT)
    if not any(r["run_id"] == run_id for r in runs) and summary["started_at"] is not None:
        runs = [r for r in inspect.recent_runs(conn, 10_000) if r["started_at"] <= summary["started_at"]][:HISTORY_LIMIT]
    history, history_top = history_bars(runs, run_id)
    all_conflicts = inspect.conflicts(conn, open_only=False)
    open_conflicts = [c for c in all_conflicts if c["is_open"]]  # the same rows, one query
    quarantined = inspect.quarantine(conn)
    failed = inspect.failures(conn)
    reasons: dict[str, int] = {}
    for q in quarantined:
        reasons[q["reason"]] = reasons.get(q["reason"], 0) + 1
    recon = inspect.reconciliation(conn)
    return {
        "run": summary,
        "stages": inspect.run_stages(conn, run_id),
        "entities": entities,
        "entity_bars": entity_bars(entities),
        "totals": totals,
        "history": history,
        "history_top": history_top,
        "history_ok": sum(1 for r in runs if r["status"] == "ok"),
        "history_count": len(runs),
        "open_conflicts": open_conflicts,
        "conflicts_total": len(all_conflicts),
        "resolved_conflicts": len(all_conflicts) - len(open_conflicts),
        "quarantine": quarantined,
        "quarantine_reasons": sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])),
        "failed": failed,
        "reconciliation": recon,
        "reconciliation_off": [r for r in recon if r["difference"]],
        "colours": OUTCOME_COLOURS,
        "count_columns": inspect.COUNT_COLUMNS,
        "table_limit": TABLE_LIMIT,
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes} min {secs:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "–"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("p2c", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["duration"] = _duration
    env.filters["when"] = _when
    env.filters["num"] = lambda n: f"{n:,}".replace(",", "\u202f") if isinstance(n, int) else n
    return env


def render(data: dict[str, Any]) -> str:
    return _environment().get_template("report.html.j2").render(**data)


def _write_atomic(path: Path, text: str) -> None:
    # a browser or a mail job reading latest.html never sees half a file
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text[: len(text) // 2])
        fh.flush()
        crashpoint("report.half_written")
        fh.write(text[len(text) // 2 :])
    os.replace(tmp, path)


def write_report(conn, run_id: str, reports_dir: Path) -> Path:
    """Render the report of ``run_id``; write ``run-<id>.html`` and ``latest.html``; return the first."""
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    html = render(report_data(conn, run_id))
    crashpoint("report.before_write")
    path = reports_dir / f"run-{run_id}.html"
    _write_atomic(path, html)
    _write_atomic(reports_dir / "latest.html", html)
    return path
