"""Posting messages (fire-and-forget, append/inject, wait, stream) and turn control."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse, ServerSentEvent

from openhermit.errors import Invalid
from openhermit.gateway.lookup import access_for
from openhermit.gateway.sse_frames import event_frame, frames_chunk
from openhermit.gateway.state import platform_of
from openhermit.protocol.base import StrictWireModel, WireModel
from openhermit.protocol.sessions import SessionMessage
from openhermit.runtime import session_ops
from openhermit.runtime.attachments import resolve_url_attachments
from openhermit.runtime.bus import Envelope, Subscription
from openhermit.runtime.messages import Accepted, append_message, interrupt_session, post_message
from openhermit.runtime.runner import AgentRunner
from openhermit.runtime.streams import session_stream
from openhermit.store.repos import events, turns

router = APIRouter(tags=["messages"])
DEFAULT_WAIT_MS = 300_000
SSE_PING_SECONDS = 15
# What a `wait` request reads from its turn's events: not the text deltas, which would wake it
# once per streamed token.
WAITED_EVENTS = frozenset({"tool_result", "text_final", "error", "agent_end"})


class ApproveBody(StrictWireModel):
    tool_call_id: str
    approved: bool


class CheckpointBody(StrictWireModel):
    reason: Literal["manual", "new_session", "turn_limit", "idle"] = "manual"


class Resolved(WireModel):
    resolved: bool


class Interrupted(WireModel):
    interrupted: bool


class Checkpointed(WireModel):
    checkpointed: bool


def _sync_body(
    accepted: Accepted, result: dict[str, Any] | None, *, partial: dict[str, Any] | None = None
) -> dict[str, Any]:
    source = result or partial or {}
    body: dict[str, Any] = {
        "sessionId": accepted.session_id,
        "text": source.get("text"),
        "toolCalls": [
            {k: v for k, v in call.items() if v is not None} for call in source.get("toolCalls", [])
        ],
    }
    if accepted.message_id:
        body["messageId"] = accepted.message_id
    if source.get("error"):
        body["error"] = source["error"]
    return body


async def _turn_result(
    runner: AgentRunner, turn_id: int, known: asyncio.Future[dict[str, Any]] | None = None
) -> dict[str, Any] | None:
    """The ended turn's stored result: handed over in-process when this process ran it."""
    if known is not None and known.done():
        return known.result()
    async with runner.deps.db.transaction() as tx:
        turn = await turns.get_turn(tx, turn_id)
    if turn is None or turn.status in ("queued", "running"):
        return None
    return turn.result or {"text": None, "toolCalls": [], "error": f"Turn ended: {turn.status}."}


async def _wait(runner: AgentRunner, sub: Subscription, accepted: Accepted, timeout_ms: int) -> JSONResponse:
    assert accepted.turn_id is not None
    partial: dict[str, Any] = {"text": None, "toolCalls": [], "error": None}
    if accepted.deduped and (done := await _turn_result(runner, accepted.turn_id)) is not None:
        return JSONResponse(_sync_body(accepted, done))
    outcome = runner.expect_outcome(accepted.turn_id)
    try:
        async with asyncio.timeout(timeout_ms / 1000):
            async for envelope in sub:
                if envelope.turn_id != accepted.turn_id:
                    continue
                event = envelope.event
                if event.type == "tool_result":
                    partial["toolCalls"].append(
                        {"tool": event.tool, "isError": event.is_error, "text": event.text}
                    )
                elif event.type == "text_final":
                    partial["text"] = event.text
                elif event.type == "error":
                    partial["error"] = event.message
                elif event.type == "agent_end":
                    break
    except TimeoutError:
        partial["error"] = "Timeout waiting for agent response."
        return JSONResponse(_sync_body(accepted, None, partial=partial), status_code=504)
    finally:
        runner.forget_outcome(accepted.turn_id)
    result = await _turn_result(runner, accepted.turn_id, outcome)
    return JSONResponse(_sync_body(accepted, result, partial=partial))


async def _replay_turn(runner: AgentRunner, accepted: Accepted) -> EventSourceResponse:
    """A retried stream request: the first request's turn, from its first event, live if it runs."""
    assert accepted.turn_id is not None
    async with runner.deps.db.transaction() as tx:
        first = await events.first_event_of_turn(tx, accepted.turn_id)
    stream = session_stream(
        runner.deps, runner.agent_id, accepted.session_id, after=(first or 1) - 1, until_turn=accepted.turn_id
    )

    async def frames() -> AsyncIterator[dict[str, Any] | ServerSentEvent]:
        if accepted.message_id:
            ack = {"sessionId": accepted.session_id, "messageId": accepted.message_id}
            yield {"event": "message_ack", "data": json.dumps(ack)}
        async for item in stream:
            if isinstance(item, Envelope) and (item.turn_id == accepted.turn_id or not item.stored):
                yield event_frame(item)

    return EventSourceResponse(frames(), ping=SSE_PING_SECONDS)


def _stream(sub: Subscription, accepted: Accepted) -> EventSourceResponse:
    async def frames() -> AsyncIterator[dict[str, Any] | bytes]:
        try:
            if accepted.message_id:
                ack = {"sessionId": accepted.session_id, "messageId": accepted.message_id}
                yield {"event": "message_ack", "data": json.dumps(ack)}
            async for batch in sub.batches():
                for index, envelope in enumerate(batch):
                    if envelope.turn_id == accepted.turn_id and envelope.event.type == "agent_end":
                        yield frames_chunk(batch[: index + 1])
                        return
                yield frames_chunk(batch)
        finally:
            sub.close()

    return EventSourceResponse(frames(), ping=SSE_PING_SECONDS)


@router.post("/api/agents/{agent_id}/sessions/{session_id}/messages")
async def post(
    request: Request,
    agent_id: str,
    session_id: str,
    message: SessionMessage,
    append: bool = False,
    inject: bool = False,
    wait: bool = False,
    stream: bool = False,
    timeout_ms: int = Query(DEFAULT_WAIT_MS, ge=1, le=3_600_000, alias="timeout"),
) -> Any:
    runner, access = await access_for(request, agent_id)
    message = await resolve_url_attachments(runner.deps, agent_id, session_id, message, access)
    if append or inject:
        appended = await append_message(runner, session_id, message, access)
        body: dict[str, Any] = {"sessionId": session_id, "appended": appended}
        if not appended:
            body["deduped"] = True
        return body
    if message.append_as is not None or message.occurred_at is not None:
        raise Invalid("appendAs and occurredAt are only allowed with ?append=true.")
    if not (wait or stream):
        accepted = await post_message(runner, session_id, message, access)
        return _ack(accepted)
    sub = runner.deps.bus.subscribe(agent_id, session_id, types=None if stream else WAITED_EVENTS)
    try:
        accepted = await post_message(runner, session_id, message, access)
        if not accepted.triggered:
            sub.close()
            return {**_ack(accepted), "text": None, "toolCalls": []} if wait else _ack(accepted)
        if stream:
            if accepted.deduped:
                sub.close()
                return await _replay_turn(runner, accepted)
            return _stream(sub, accepted)
        try:
            return await _wait(runner, sub, accepted, timeout_ms)
        finally:
            sub.close()
    except BaseException:
        sub.close()
        raise


def _ack(accepted: Accepted) -> dict[str, Any]:
    body: dict[str, Any] = {"sessionId": accepted.session_id, "triggered": accepted.triggered}
    if accepted.message_id:
        body["messageId"] = accepted.message_id
    return body


@router.post("/api/agents/{agent_id}/sessions/{session_id}/approve", response_model=Resolved)
async def approve(request: Request, agent_id: str, session_id: str, body: ApproveBody) -> Resolved:
    runner, access = await access_for(request, agent_id)
    await session_ops.visible_session(runner, access, session_id)
    return Resolved(resolved=runner.approve(session_id, body.tool_call_id, body.approved))


@router.post("/api/agents/{agent_id}/sessions/{session_id}/interrupt", response_model=Interrupted)
async def interrupt(request: Request, agent_id: str, session_id: str) -> Interrupted:
    runner, access = await access_for(request, agent_id)
    await session_ops.visible_session(runner, access, session_id)
    return Interrupted(interrupted=await interrupt_session(runner, session_id))


@router.post("/api/agents/{agent_id}/sessions/{session_id}/checkpoint", response_model=Checkpointed)
async def checkpoint(
    request: Request, agent_id: str, session_id: str, body: CheckpointBody | None = None
) -> Checkpointed:
    runner, access = await access_for(request, agent_id)
    await session_ops.visible_session(runner, access, session_id)
    reason = body.reason if body else "manual"
    introspector = platform_of(request).fleet.introspector(agent_id)
    runner.busy += 1
    try:
        done = await introspector.run(runner, session_id, reason)
    finally:
        runner.busy -= 1
    return Checkpointed(checkpointed=done)
