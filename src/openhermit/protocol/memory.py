"""Long-term memory entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from openhermit.protocol.base import WireModel


class MemoryEntry(WireModel):
    key: str
    content: str
    metadata: dict[str, Any] = Field(default_factory=dict)
    grants: list[Any] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime
