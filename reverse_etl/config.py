"""Writeback settings: write mode per entity set, batch sizes, concurrency, retries.

Read from dlt's configuration (``[writeback]`` in ``.dlt/config.toml`` or ``WRITEBACK__…``
environment variables). Batch and change-set sizes are per role; unset, they are the defaults of the
system playing the role, and never above its limit (``systems.<name>.writer.LIMITS``):

```toml
[writeback]
crm_batch_size = 1000      # Dataverse: 1000 (its maximum)
erp_batch_size = 500       # F&O: 500 (it allows 5000 operations per $batch; smaller batches fail smaller)
concurrency = 4            # batches in flight per system
max_attempts = 6           # per batch, on 429 / 5xx / dropped connections
lookup_binding = "guid"    # CRM lookups bound by GUID (from the warehouse) or "alternate_key"
[writeback.modes]          # entity set → upsert | update_only | create_only
CustomersV3 = "upsert"
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from systems import ROLES, system_for

MODES = ("upsert", "update_only", "create_only")
BINDINGS = ("guid", "alternate_key")  # how CRM lookups are bound (systems.dataverse.lookups)


@dataclass(frozen=True)
class WritebackConfig:
    modes: Mapping[str, str] = field(default_factory=dict)
    # requests per $batch and per change set, per role; None: the default of the role's system
    # (change sets: 0 = none, Dataverse with odata.continue-on-error; 1 = each record its own atomic
    # change set, F&O's strict OData 4.0 multipart)
    crm_batch_size: int | None = None
    erp_batch_size: int | None = None
    crm_changeset_size: int | None = None
    erp_changeset_size: int | None = None
    concurrency: int = 4
    max_attempts: int = 6
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    ref_chunk: int = 50  # alternate keys per $filter lookup (keeps the URL short)
    lookup_binding: str = "guid"  # "guid" | "alternate_key" (systems.dataverse.lookups)

    def __post_init__(self) -> None:
        for entity_set, mode in self.modes.items():
            if mode not in MODES:
                raise ValueError(f"writeback mode {mode!r} for {entity_set} is not one of {', '.join(MODES)}")
        for role in ROLES:
            size, limit = getattr(self, f"{role}_batch_size"), system_for(role).limits.max_batch
            if size is not None and not 1 <= size <= limit:
                raise ValueError(f"{role}_batch_size must be 1..{limit}")
        if self.lookup_binding not in BINDINGS:
            raise ValueError(f"lookup_binding {self.lookup_binding!r} is not one of {', '.join(BINDINGS)}")
        if self.concurrency < 1 or self.max_attempts < 1:
            raise ValueError("concurrency and max_attempts must be at least 1")

    def mode(self, entity_set: str) -> str:
        return self.modes.get(entity_set, "upsert")

    def batch_size(self, role: str) -> int:
        """Requests per ``$batch`` to the system of ``role``: ``[writeback] <role>_batch_size``, else its default."""
        size = getattr(self, f"{role}_batch_size")
        return system_for(role).limits.batch if size is None else size

    def changeset_size(self, role: str) -> int:
        """Requests per change set: ``[writeback] <role>_changeset_size``, else the default of the role's system."""
        size = getattr(self, f"{role}_changeset_size")
        return system_for(role).limits.changeset if size is None else size


def load_config() -> WritebackConfig:
    """The ``[writeback]`` section of dlt's configuration, over the defaults."""
    import dlt  # imported here: dlt's import is slow and the pure planning needs none of it

    values: dict = {}
    for name in WritebackConfig.__dataclass_fields__:
        found = dlt.config.get(f"writeback.{name}")
        if found is not None:
            values[name] = dict(found) if name == "modes" else _typed(name, found)
    return WritebackConfig(**values)


def _typed(name: str, value):
    """A setting's value as its field's type (an unset size is an int)."""
    default = getattr(WritebackConfig(), name)
    return int(value) if default is None else type(default)(value)
