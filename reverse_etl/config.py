"""Writeback settings: write mode per entity set, batch sizes, concurrency, retries.

Read from dlt's configuration (``[writeback]`` in ``.dlt/config.toml`` or ``WRITEBACK__…``
environment variables), with defaults that suit both services:

```toml
[writeback]
crm_batch_size = 1000      # Dataverse allows at most 1000 requests per $batch
erp_batch_size = 500       # F&O allows 5000 operations per $batch; smaller batches fail smaller
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

MODES = ("upsert", "update_only", "create_only")
CRM_MAX_BATCH = 1000  # Dataverse: no more than 1000 requests in one $batch
ERP_MAX_BATCH = 5000  # F&O service protection: operations per $batch


@dataclass(frozen=True)
class WritebackConfig:
    modes: Mapping[str, str] = field(default_factory=dict)
    crm_batch_size: int = 1000
    erp_batch_size: int = 500
    # requests per change set: 0 = no change sets (Dataverse, with odata.continue-on-error);
    # 1 = each record its own atomic change set (F&O, strict OData 4.0 multipart)
    crm_changeset_size: int = 0
    erp_changeset_size: int = 1
    concurrency: int = 4
    max_attempts: int = 6
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    ref_chunk: int = 50  # alternate keys per $filter lookup (keeps the URL short)
    lookup_binding: str = "guid"  # "guid" | "alternate_key" (reverse_etl.binding)

    def __post_init__(self) -> None:
        for entity_set, mode in self.modes.items():
            if mode not in MODES:
                raise ValueError(f"writeback mode {mode!r} for {entity_set} is not one of {', '.join(MODES)}")
        if not 1 <= self.crm_batch_size <= CRM_MAX_BATCH:
            raise ValueError(f"crm_batch_size must be 1..{CRM_MAX_BATCH}")
        if not 1 <= self.erp_batch_size <= ERP_MAX_BATCH:
            raise ValueError(f"erp_batch_size must be 1..{ERP_MAX_BATCH}")
        if self.lookup_binding not in ("guid", "alternate_key"):
            raise ValueError(f"lookup_binding {self.lookup_binding!r} is not one of guid, alternate_key")
        if self.concurrency < 1 or self.max_attempts < 1:
            raise ValueError("concurrency and max_attempts must be at least 1")

    def mode(self, entity_set: str) -> str:
        return self.modes.get(entity_set, "upsert")

    def batch_size(self, system: str) -> int:
        return self.crm_batch_size if system == "crm" else self.erp_batch_size

    def changeset_size(self, system: str) -> int:
        return self.crm_changeset_size if system == "crm" else self.erp_changeset_size


def load_config() -> WritebackConfig:
    """The ``[writeback]`` section of dlt's configuration, over the defaults."""
    import dlt  # imported here: dlt's import is slow and the pure planning needs none of it

    values: dict = {}
    for name in WritebackConfig.__dataclass_fields__:
        found = dlt.config.get(f"writeback.{name}")
        if found is not None:
            values[name] = dict(found) if name == "modes" else type(getattr(WritebackConfig(), name))(found)
    return WritebackConfig(**values)
