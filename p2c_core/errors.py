"""Errors every stage shares.

``ConfigError`` is the one exception for "p2c cannot start with this configuration": a missing
secret, an unreachable token URL, credentials the identity provider refuses. It names the setting
to fix (in dlt's dotted naming, e.g. ``sources.crm.credentials.client_secret``) and never carries a
secret's value. The CLI turns it into exit code 2. ``InvariantFailed`` is a dbt test that guards
an invariant failing in the transform stage: the orchestrator stops the run before the writeback
(exit code 4).
"""

from __future__ import annotations


class ConfigError(RuntimeError):
    """A setting is missing or wrong; ``setting`` names it, the message says what to do."""

    def __init__(self, setting: str, message: str) -> None:
        self.setting = setting
        self.message = message
        super().__init__(f"{setting}: {message}")


class InvariantFailed(RuntimeError):
    """A dbt test guarding an invariant failed; the writeback must not start."""
