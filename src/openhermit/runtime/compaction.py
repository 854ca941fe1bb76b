"""Context compaction: summarise older messages when the context would exceed its budget."""

from __future__ import annotations

import logging

from openhermit.protocol.agent_config import AgentConfig
from openhermit.runtime.context import KEEP_RECENT, SUMMARY_MAX_CHARS
from openhermit.runtime.deps import RuntimeDeps
from openhermit.runtime.journal import NewEvent
from openhermit.runtime.models.base import ChatMessage, Finish, ModelClient, ModelError, ModelRequest
from openhermit.store.repos.events import StoredEvent

log = logging.getLogger(__name__)

SUMMARY_PROMPT = (
    "You compress conversations. Summarise the conversation below for the assistant who will "
    f"continue it: facts learned, decisions, open tasks, names. At most {SUMMARY_MAX_CHARS} characters. "
    "Write the summary only."
)


def _transcript(rows: list[StoredEvent]) -> str:
    lines = []
    for row in rows:
        if row.event_type in ("user", "assistant") and row.content:
            lines.append(f"{row.event_type}: {row.content}")
        elif row.event_type == "tool_result":
            lines.append(f"tool {row.payload.get('tool')}: {(row.payload.get('text') or '')[:500]}")
    return "\n".join(lines)


async def compact(
    deps: RuntimeDeps,
    agent_id: str,
    session_id: str,
    client: ModelClient,
    rows: list[StoredEvent],
    config: AgentConfig,
) -> bool:
    """Write a `context_compaction` row summarising all but the recent user-started exchanges."""
    user_rows = [r for r in rows if r.event_type == "user"]
    if len(user_rows) <= KEEP_RECENT:
        return False
    keep_from = user_rows[-KEEP_RECENT].id
    older = [r for r in rows if r.id < keep_from]
    request = ModelRequest(
        system=SUMMARY_PROMPT,
        messages=[ChatMessage(role="user", text=_transcript(older))],
        max_tokens=min(config.model.max_tokens, 2048),
    )
    finish: Finish | None = None
    try:
        async for event in client.stream(request):
            if isinstance(event, Finish):
                finish = event
    except ModelError as exc:
        log.warning("compaction of %s/%s failed: %s", agent_id, session_id, exc)
        return False
    if finish is None or not finish.text.strip():
        return False
    summary = finish.text.strip()[:SUMMARY_MAX_CHARS]
    await deps.journal.record(
        agent_id, session_id, [NewEvent("context_compaction", {"summary": summary, "upToEventId": keep_from})]
    )
    return True
