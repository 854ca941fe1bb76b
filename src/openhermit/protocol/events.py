"""Outbound session events (spec section 2.5): the union every transport carries.

Every event names its session; turn events carry the `correlationId` of the message that
started the turn. `eventId` is filled by the event log when the event is stored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from openhermit.protocol.base import WireModel

ApprovalMode = Literal["realtime", "async"]
AttachmentKind = Literal["image", "audio", "video", "document"]


class EventBase(WireModel):
    session_id: str
    event_id: str | None = None
    correlation_id: str | None = None


class ThinkingDelta(EventBase):
    type: Literal["thinking_delta"] = "thinking_delta"
    text: str


class ThinkingFinal(EventBase):
    type: Literal["thinking_final"] = "thinking_final"
    text: str


class TextDelta(EventBase):
    type: Literal["text_delta"] = "text_delta"
    text: str


class Mention(WireModel):
    id: str
    type: str


class TextFinal(EventBase):
    type: Literal["text_final"] = "text_final"
    text: str
    mentions: list[Mention] | None = None


class ToolCall(EventBase):
    type: Literal["tool_call"] = "tool_call"
    tool: str
    tool_call_id: str
    args: Any | None = None


class ToolResult(EventBase):
    type: Literal["tool_result"] = "tool_result"
    tool: str
    tool_call_id: str
    is_error: bool = False
    text: str | None = None
    details: Any | None = None


class ApprovalRequested(EventBase):
    type: Literal["approval_requested"] = "approval_requested"
    request_id: str | None = None
    resource_type: str
    resource_key: str
    tool_call_id: str | None = None
    args: Any | None = None
    mode: ApprovalMode


class ApprovalPending(EventBase):
    type: Literal["approval_pending"] = "approval_pending"
    request_id: str | None = None
    resource_type: str
    resource_key: str
    requester_id: str
    requester_session_id: str
    args: Any | None = None
    mode: Literal["async"] = "async"


class ApprovalResolved(EventBase):
    type: Literal["approval_resolved"] = "approval_resolved"
    request_id: str | None = None
    resource_type: str
    resource_key: str
    tool_call_id: str | None = None
    decision: Literal["approved", "rejected", "timed_out", "cancelled"]
    resolution: Literal["once", "persistent"] | None = None
    reviewer_id: str | None = None
    mode: ApprovalMode


class UserMessage(EventBase):
    type: Literal["user_message"] = "user_message"
    text: str
    name: str | None = None
    attachments: list[dict[str, Any]] | None = None


class Attachment(EventBase):
    type: Literal["attachment"] = "attachment"
    attachment_id: str
    mime_type: str
    kind: AttachmentKind
    name: str | None = None
    size: int | None = None
    sha256: str | None = None
    caption: str | None = None


class AgentStart(EventBase):
    type: Literal["agent_start"] = "agent_start"


class AgentEnd(EventBase):
    type: Literal["agent_end"] = "agent_end"


class ErrorEvent(EventBase):
    type: Literal["error"] = "error"
    message: str


class PendingMedia(EventBase):
    type: Literal["pending_media"] = "pending_media"
    kind: str


OutboundEvent = Annotated[
    ThinkingDelta
    | ThinkingFinal
    | TextDelta
    | TextFinal
    | ToolCall
    | ToolResult
    | ApprovalRequested
    | ApprovalPending
    | ApprovalResolved
    | UserMessage
    | Attachment
    | AgentStart
    | AgentEnd
    | ErrorEvent
    | PendingMedia,
    Field(discriminator="type"),
]

OUTBOUND_EVENT: TypeAdapter[OutboundEvent] = TypeAdapter(OutboundEvent)

# Token deltas are not stored in the event log; everything else is.
EPHEMERAL_EVENT_TYPES = frozenset({"text_delta", "thinking_delta"})


def parse_event(data: dict[str, Any]) -> OutboundEvent:
    """Validate a JSON object as one outbound event (raises pydantic.ValidationError)."""
    return OUTBOUND_EVENT.validate_python(data)
