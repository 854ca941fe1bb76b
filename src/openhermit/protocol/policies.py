"""Policy rows and approval requests, as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from openhermit.protocol.base import StrictWireModel, WireModel

Effect = Literal["allow", "deny", "require_approval"]
ResourceType = Literal["tool", "mcp", "file", "exec", "memory"]


class Grant(WireModel):
    type: Literal["any", "role", "user"]
    value: str | None = None


class PolicyRecord(WireModel):
    id: str
    agent_id: str
    resource_type: str
    resource_key: str
    effect: Effect
    grants: list[Grant]
    scope: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime


class PolicyUpsert(StrictWireModel):
    resource_type: ResourceType
    resource_key: str = Field(min_length=1, max_length=500)
    effect: Effect = "allow"
    grants: list[Grant]
    scope: dict[str, Any] | None = None


class ApprovalRecord(WireModel):
    id: str
    short_id: int
    agent_id: str
    session_id: str
    requester_id: str
    resource_type: str
    resource_key: str
    scope: dict[str, Any] = Field(default_factory=dict)
    status: Literal["pending", "approved", "rejected", "expired"]
    resolution: Literal["once", "persistent"] | None = None
    resolved_by: str | None = None
    reason: str | None = None
    created_at: datetime
    resolved_at: datetime | None = None
    ttl_minutes: int = 60


class ApprovalReview(StrictWireModel):
    decision: Literal["approved", "rejected"]
    resolution: Literal["once", "persistent"] = "once"
    reason: str | None = Field(None, max_length=2000)
