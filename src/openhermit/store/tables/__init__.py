"""Every table of the store. Importing this package registers them all on `Base.metadata`."""

from openhermit.store.tables import (
    agents,
    approvals,
    capabilities,
    channels,
    memories,
    meta,
    sandboxes,
    schedules,
    sessions,
    users,
)
from openhermit.store.tables.base import Base

metadata = Base.metadata

__all__ = [
    "Base",
    "agents",
    "approvals",
    "capabilities",
    "channels",
    "memories",
    "meta",
    "metadata",
    "sandboxes",
    "schedules",
    "sessions",
    "users",
]
