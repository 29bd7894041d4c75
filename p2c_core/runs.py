"""What a run and its stages share: the run id, and the outcome a stage hands back.

Every stage (extract, transform, writeback) returns a :class:`StageOutcome`; the orchestrator
(``p2c.run``, or the Dagster code location) books it in ``p2c_sync.runs`` under the run's id. A
stage run on its own (``p2c writeback`` without ``--run-id``) takes a fresh id from
:func:`new_run_id`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


@dataclass
class StageOutcome:
    """What a stage reports back: counts per entity, and whether records failed or wait."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    partial: bool = False
    message: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: UTC time to the second plus a short random suffix."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"
