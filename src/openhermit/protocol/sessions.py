"""Session payloads (spec section 2.3): specs, messages, history rows and summaries."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr, field_validator

from openhermit.protocol.base import WireModel

Scalar = StrictStr | StrictBool | StrictInt | StrictFloat
SessionStatus = Literal["idle", "running", "awaiting_approval", "inactive"]


class SessionSource(WireModel):
    kind: str = Field(min_length=1, max_length=64)
    interactive: bool
    platform: str | None = None
    trigger_id: str | None = None
    type: Literal["direct", "group"] | None = None


class SessionSpec(WireModel):
    session_id: str = Field(min_length=1, max_length=256)
    source: SessionSource
    metadata: dict[str, Scalar] | None = None
    custom_instruction: str | None = None
    # What a message arriving during a running turn does here (overrides the agent config).
    concurrency: Literal["queue", "interrupt", "reject"] | None = None


class CallerIdentity(WireModel):
    channel: str = Field(min_length=1)
    channel_user_id: str = Field(min_length=1)


class Sender(CallerIdentity):
    display_name: str | None = None


class Participant(WireModel):
    id: str
    type: str
    display_name: str
    handle: str | None = None


class SessionAttachment(WireModel):
    id: str | None = None
    type: str
    name: str | None = None
    mime_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    sandbox_path: str | None = None
    materialization_state: Literal["pending", "copied", "failed"] | None = None
    url: str | None = None
    data: str | None = None


class SessionMessage(WireModel):
    message_id: str | None = Field(None, min_length=1, max_length=256)
    text: str
    attachments: list[SessionAttachment] | None = None
    sender: Sender | None = None
    participants: list[Participant] | None = None
    metadata: dict[str, Any] | None = None
    mentioned: bool | None = None
    append_as: Literal["user", "assistant"] | None = None
    occurred_at: datetime | None = None
    additional_instruction: str | None = None

    @field_validator("occurred_at", mode="after")
    @classmethod
    def _zoned(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("occurredAt must be an ISO-8601 timestamp with a time zone")
        return value


class SessionHistoryMessage(WireModel):
    ts: datetime
    role: Literal["user", "assistant", "error", "tool", "introspection"]
    content: str
    id: int | None = None
    name: str | None = None
    message_id: str | None = None
    attachments: list[SessionAttachment] | None = None
    provider: str | None = None
    model: str | None = None
    stop_reason: str | None = None
    thinking: str | None = None
    tool: str | None = None
    tool_call_id: str | None = None
    tool_phase: Literal["call", "result"] | None = None
    tool_is_error: bool | None = None
    tool_args: Any | None = None
    introspection: str | None = None
    introspection_phase: Literal["start", "end"] | None = None
    introspection_summary: str | None = None
    metadata: dict[str, Any] | None = None
    actions: list[dict[str, Any]] | None = None


class SessionSummary(WireModel):
    session_id: str
    source: SessionSource
    created_at: datetime
    last_activity_at: datetime
    last_event_id: int = 0
    message_count: int = 0
    description: str | None = None
    last_message_preview: str | None = None
    status: SessionStatus = "idle"
    metadata: dict[str, Any] | None = None
    user_ids: list[str] | None = None


class ToolCallSummary(WireModel):
    tool: str
    args: Any | None = None
    is_error: bool = False
    text: str | None = None
    details: Any | None = None


class SyncResponse(WireModel):
    session_id: str
    message_id: str | None = None
    text: str | None
    tool_calls: list[ToolCallSummary] = Field(default_factory=list)
    error: str | None = None
    triggered: bool | None = None


class SessionRecord(WireModel):
    """Everything the runtime needs to know about a session (internal view)."""

    agent_id: str
    session_id: str
    source: SessionSource
    type: Literal["direct", "group"] = "direct"
    status: SessionStatus = "idle"
    created_at: datetime
    last_activity_at: datetime
    message_count: int = 0
    completed_turn_count: int = 0
    description: str | None = None
    description_source: str | None = None
    last_message_preview: str | None = None
    working_memory: str | None = None
    custom_instruction: str | None = None
    concurrency: Literal["queue", "interrupt", "reject"] | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    user_ids: list[str] = Field(default_factory=list)
