"""How a stored event row is shown: as a live/replayed outbound event, and in history."""

from __future__ import annotations

from typing import Any

from openhermit.protocol.events import (
    AgentEnd,
    AgentStart,
    ApprovalPending,
    ApprovalRequested,
    ApprovalResolved,
    Attachment,
    ErrorEvent,
    OutboundEvent,
    TextFinal,
    ToolCall,
    ToolResult,
    UserMessage,
)
from openhermit.protocol.sessions import SessionHistoryMessage
from openhermit.store.repos.events import StoredEvent


def outbound_for(row: StoredEvent) -> OutboundEvent | None:
    """The event a client sees for a stored row (None for internal rows)."""
    p = row.payload
    common: dict[str, Any] = {
        "session_id": row.session_id,
        "event_id": str(row.id),
        "correlation_id": p.get("correlationId"),
    }
    match row.event_type:
        case "user":
            return UserMessage(
                **common, text=p.get("text", ""), name=p.get("name"), attachments=p.get("attachments")
            )
        case "assistant" if p.get("metadata", {}).get("source") == "attachment_send":
            return Attachment(**common, **p["attachment"])
        case "assistant" if p.get("final") or p.get("metadata", {}).get("source") == "session_send":
            return TextFinal(**common, text=p.get("text", ""))
        case "tool_call":
            return ToolCall(**common, tool=p["tool"], tool_call_id=p["toolCallId"], args=p.get("args"))
        case "tool_result":
            return ToolResult(
                **common,
                tool=p["tool"],
                tool_call_id=p["toolCallId"],
                is_error=bool(p.get("isError")),
                text=p.get("text"),
                details=p.get("details"),
            )
        case "error":
            return ErrorEvent(**common, message=p.get("message", row.content or "error"))
        case "agent_start":
            return AgentStart(**common)
        case "agent_end":
            return AgentEnd(**common)
        case "approval_requested":
            return ApprovalRequested(**common, **{k: v for k, v in p.items() if k != "correlationId"})
        case "approval_resolved":
            return ApprovalResolved(**common, **{k: v for k, v in p.items() if k != "correlationId"})
        case "approval_pending":
            return ApprovalPending(**common, **{k: v for k, v in p.items() if k != "correlationId"})
    return None


def history_for(row: StoredEvent) -> SessionHistoryMessage | None:
    """The transcript entry of a row returned by the history query."""
    p = row.payload
    base: dict[str, Any] = {"id": row.id, "ts": row.ts, "metadata": p.get("metadata")}
    match row.event_type:
        case "user":
            return SessionHistoryMessage(
                **base,
                role="user",
                content=row.content or "",
                name=p.get("name"),
                message_id=p.get("messageId"),
                attachments=p.get("attachments"),
            )
        case "assistant":
            return SessionHistoryMessage(
                **base,
                role="assistant",
                content=row.content or "",
                provider=p.get("provider"),
                model=p.get("model"),
                stop_reason=p.get("stopReason"),
                thinking=p.get("thinking"),
                message_id=p.get("messageId"),
                actions=p.get("actions"),
                attachments=p.get("attachments"),
            )
        case "error":
            return SessionHistoryMessage(**base, role="error", content=row.content or p.get("message", ""))
        case "tool_call":
            return SessionHistoryMessage(
                **base,
                role="tool",
                content="",
                tool=p.get("tool"),
                tool_call_id=p.get("toolCallId"),
                tool_phase="call",
                tool_args=p.get("args"),
            )
        case "tool_result":
            return SessionHistoryMessage(
                **base,
                role="tool",
                content=p.get("text") or "",
                tool=p.get("tool"),
                tool_call_id=p.get("toolCallId"),
                tool_phase="result",
                tool_is_error=bool(p.get("isError")),
            )
        case "introspection_start" | "introspection_end":
            phase = "start" if row.event_type == "introspection_start" else "end"
            return SessionHistoryMessage(
                **base,
                role="introspection",
                content=p.get("summary") or "",
                introspection_phase=phase,
                introspection_summary=p.get("summary"),
            )
    return None
