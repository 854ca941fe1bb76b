"""Durable SSE: `GET /api/agents/{id}/sessions/{sid}/events`, replayable by event id."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from openhermit.gateway.lookup import access_for
from openhermit.gateway.sse_frames import event_frame
from openhermit.runtime import session_ops
from openhermit.runtime.streams import Ready, session_stream

router = APIRouter(tags=["sessions"])
PING_SECONDS = 15


def _cursor(after: int | None, last_event_id: str | None) -> int | None:
    """The later of `?after=` and the `Last-Event-ID` header; None when neither is given
    (then the stream starts with the session's recent backlog)."""
    header = int(last_event_id) if last_event_id and last_event_id.strip().isdigit() else None
    given = [value for value in (after, header) if value is not None]
    return max(given) if given else None


@router.get("/api/agents/{agent_id}/sessions/{session_id}/events", response_class=EventSourceResponse)
async def events(
    request: Request,
    agent_id: str,
    session_id: str,
    after: int | None = Query(None, ge=0),
    last_event_id: str | None = Header(None, alias="Last-Event-ID"),
) -> EventSourceResponse:
    runner, access = await access_for(request, agent_id)
    await session_ops.visible_session(runner, access, session_id)
    stream = session_stream(runner.deps, agent_id, session_id, after=_cursor(after, last_event_id))

    async def frames() -> AsyncIterator[dict[str, Any] | ServerSentEvent]:
        async for item in stream:
            if isinstance(item, Ready):
                ready = {"sessionId": item.session_id, "nextEventId": item.next_event_id}
                yield {"event": "ready", "data": json.dumps(ready)}
            else:
                yield event_frame(item)

    def ping() -> ServerSentEvent:
        return ServerSentEvent(event="ping", data=json.dumps({"sessionId": session_id}))

    return EventSourceResponse(frames(), ping=PING_SECONDS, ping_message_factory=ping)
