"""Rebuilding the model's message list from the event log, within its budget."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openhermit.protocol.sessions import SessionRecord
from openhermit.runtime.models.base import ChatMessage, ImagePart, ToolCallPart
from openhermit.store.repos.events import StoredEvent

PERSIST_OVER_CHARS = 8_000
PREVIEW_HEAD, PREVIEW_TAIL = 3_000, 1_500
HARD_CAP_CHARS = 256_000
COMPACTION_CEILING_TOKENS = 160_000
SAFETY_MARGIN_TOKENS = 2_048
MAX_MESSAGES = 80
KEEP_RECENT = 6
SUMMARY_MAX_CHARS = 2_400


def estimate_tokens(messages: list[ChatMessage], system: str = "") -> int:
    """A cheap size estimate: about four characters per token."""
    chars = len(system) + sum(
        len(m.text) + sum(len(json.dumps(c.arguments)) + len(c.name) for c in m.tool_calls) for m in messages
    )
    return chars // 4


def context_cap(context_window_tokens: int) -> int:
    """Characters one tool result may occupy in context: 25 % of the window, at most 8 000."""
    return min(PERSIST_OVER_CHARS, context_window_tokens)  # tokens * 4 chars * 25 %


def preview(text: str) -> str:
    omitted = len(text) - PREVIEW_HEAD - PREVIEW_TAIL
    return f"{text[:PREVIEW_HEAD]}\n… [{omitted} characters omitted] …\n{text[-PREVIEW_TAIL:]}"


def shrink_tool_result(text: str, tool_call_id: str, workspace_dir: str) -> tuple[str, str | None]:
    """Results over 8 000 characters go to a file in the workspace; the model sees a preview."""
    text = text[:HARD_CAP_CHARS]
    if len(text) <= PERSIST_OVER_CHARS:
        return text, None
    target = Path(workspace_dir) / ".openhermit" / "tool_results" / f"{tool_call_id}.json"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"toolCallId": tool_call_id, "text": text}))
        saved: str | None = str(target)
    except OSError:
        saved = None
    note = f"\n[full result saved to {saved}]" if saved else ""
    return preview(text) + note, saved


def order_for_turn(rows: list[StoredEvent], turn_id: int | None) -> list[StoredEvent]:
    """Rows in conversation order as seen by `turn_id`.

    A queued message is stored when it arrives, before earlier turns finish. Each turn's rows
    are placed at its first row (its user message), and turns queued after `turn_id` are left
    out, so every turn sees the conversation as it stood when its turn came.
    """
    anchor: dict[int, int] = {}
    for row in rows:
        turn = row.turn_id
        if turn is not None:
            first = anchor.get(turn)
            if first is None or row.id < first:
                anchor[turn] = row.id
    # (position, id, row): ids are unique, so two rows never compare equal up to the row
    keyed = sorted((row.id if row.turn_id is None else anchor[row.turn_id], row.id, row) for row in rows)
    limit = anchor.get(turn_id) if turn_id is not None else None
    if limit is None:
        return [row for _, _, row in keyed]
    return [row for position, _, row in keyed if position <= limit or row.turn_id == turn_id]


def describe_attachments(attachments: list[dict[str, Any]]) -> str:
    """What the model is told about the files of a user message (spec §10)."""
    lines = [
        "Attached files (read them with attachment_fetch, or use the file at its sandbox path; "
        "attachment_list shows them all):"
    ]
    for item in attachments:
        where = item.get("sandboxPath") or "not copied into the sandbox yet"
        lines.append(
            f"- {item.get('id') or item.get('url') or '(inline)'}: {item.get('name') or 'unnamed'} "
            f"({item.get('mimeType') or 'unknown type'}, {item.get('size', '?')} bytes) at {where}"
        )
    return "\n".join(lines)


def build_messages(
    session: SessionRecord,
    compaction: StoredEvent | None,
    rows: list[StoredEvent],
    *,
    tool_cap: int,
    images: Mapping[int, list[ImagePart]] | None = None,
    memo: dict[int, ChatMessage | None] | None = None,
) -> list[ChatMessage]:
    """The conversation for the model; `images` (by user row id) are inlined into those rows.

    `memo` holds the message each row made for an earlier turn of the session (None for a row
    the model does not see), built with the same session type and `tool_cap`: stored rows never
    change, so a turn builds messages only for the rows added since. Rows with inlined images
    are built every time."""
    messages: list[ChatMessage] = []
    if compaction is not None:
        summary = compaction.payload.get("summary", "")
        messages.append(
            ChatMessage(role="user", text=f"Summary of the earlier conversation (read-only):\n{summary}")
        )
    if session.working_memory:
        messages.append(
            ChatMessage(
                role="user", text=f"Session-local working memory (read-only):\n{session.working_memory}"
            )
        )
    for row in rows:
        if memo is not None and row.id in memo:
            message = memo[row.id]
        else:
            with_images = (images or {}).get(row.id)
            message = _row_message(session, row, tool_cap, with_images)
            if memo is not None and not with_images:
                memo[row.id] = message
        if message is not None:
            messages.append(message)
    return close_dangling_calls(messages)


def _row_message(
    session: SessionRecord, row: StoredEvent, tool_cap: int, images: list[ImagePart] | None
) -> ChatMessage | None:
    """The message one stored row makes, or None for a row the model does not see."""
    p = row.payload
    if p.get("introspection"):
        return None
    if row.event_type == "user":
        text = row.content or ""
        name = p.get("name")
        if session.type == "group" and name:
            text = f"[{name}] {text}"
        if p.get("attachments"):
            text = f"{text}\n\n{describe_attachments(p['attachments'])}"
        return ChatMessage(role="user", text=text, images=list(images or ()))
    if row.event_type == "assistant":
        calls = [ToolCallPart(c["id"], c["name"], c.get("arguments") or {}) for c in p.get("toolCalls", [])]
        return ChatMessage(
            role="assistant",
            text=p.get("text", ""),
            tool_calls=calls,
            thinking=p.get("thinking"),
            thinking_signature=p.get("thinkingSignature"),
        )
    if row.event_type == "tool_result":
        return ChatMessage(
            role="tool",
            text=(p.get("text") or "")[:tool_cap],
            tool_call_id=p.get("toolCallId"),
            tool_name=p.get("tool"),
            is_error=bool(p.get("isError")),
        )
    return None


def close_dangling_calls(messages: list[ChatMessage]) -> list[ChatMessage]:
    """Every tool call needs a result (APIs reject the history otherwise); an interrupted or
    crashed turn may have left some without one."""
    answered = {m.tool_call_id for m in messages if m.role == "tool"}
    called: set[str] = set()  # the calls made before the message at hand
    fixed: list[ChatMessage] = []
    for message in messages:
        if message.role == "tool" and message.tool_call_id not in called:
            continue  # a result without its call cannot be sent
        fixed.append(message)
        for call in message.tool_calls:
            called.add(call.id)
            if call.id not in answered:
                fixed.append(
                    ChatMessage(
                        role="tool",
                        text="The tool call did not finish (interrupted).",
                        tool_call_id=call.id,
                        tool_name=call.name,
                        is_error=True,
                    )
                )
    return fixed


def needs_compaction(messages: list[ChatMessage], system: str, context_window: int) -> bool:
    ceiling = min(COMPACTION_CEILING_TOKENS, context_window) - SAFETY_MARGIN_TOKENS
    return len(messages) > MAX_MESSAGES or estimate_tokens(messages, system) > ceiling
