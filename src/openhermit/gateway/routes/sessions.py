"""Sessions: open, list, history, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from openhermit.errors import Conflict, Invalid, NotFound
from openhermit.gateway.auth import require_caller
from openhermit.gateway.lookup import runner_for
from openhermit.protocol.agent_config import AgentConfig
from openhermit.protocol.base import WireModel
from openhermit.protocol.sessions import SessionHistoryMessage, SessionSpec, SessionSummary
from openhermit.runtime.journal import NewEvent
from openhermit.runtime.rendering import history_for
from openhermit.store.repos import agents, events, sessions, turns

router = APIRouter(tags=["sessions"], dependencies=[Depends(require_caller)])


class SessionOpened(WireModel):
    session_id: str


class Deleted(WireModel):
    deleted: bool


def _metadata_filter(request: Request) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key.startswith("metadata.") and len(key) > len("metadata."):
            lowered = value.lower()
            parsed: Any = value
            if lowered in ("true", "false"):
                parsed = lowered == "true"
            elif value.lstrip("-").isdigit():
                parsed = int(value)
            found[key.removeprefix("metadata.")] = parsed
    return found


@router.post("/api/agents/{agent_id}/sessions", response_model=SessionOpened)
async def open_session(request: Request, agent_id: str, spec: SessionSpec) -> SessionOpened:
    if spec.session_id == "inbox":
        raise Invalid("The inbox session is created with the agent and cannot be opened.")
    runner = await runner_for(request, agent_id)
    deps = runner.deps
    async with deps.db.transaction() as tx:
        created = await sessions.insert_session(tx, agent_id, spec)
        stored = []
        if created:
            agent = await agents.get_agent(tx, agent_id)
            model = AgentConfig.model_validate(agent.config if agent else {}).model
            payload = {
                "source": spec.source.wire(),
                "metadata": spec.metadata or {},
                "model": {"provider": model.provider, "model": model.model},
            }
            stored = await deps.journal.write(
                tx, agent_id, spec.session_id, [NewEvent("session_started", payload)], None
            )
    deps.journal.publish(stored)
    return SessionOpened(session_id=spec.session_id)


@router.get("/api/agents/{agent_id}/sessions", response_model=list[SessionSummary])
async def list_sessions(
    request: Request,
    agent_id: str,
    kind: str | None = None,
    platform: str | None = None,
    interactive: bool | None = None,
    channel: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    include_inactive: bool = Query(False, alias="includeInactive"),
) -> list[dict[str, Any]]:
    runner = await runner_for(request, agent_id)
    async with runner.deps.db.transaction() as tx:
        found = await sessions.list_sessions(
            tx,
            agent_id,
            kind=kind,
            platform=platform,
            interactive=interactive,
            channel=channel,
            limit=limit,
            include_inactive=include_inactive,
            metadata=_metadata_filter(request) or None,
        )
        for summary in found:
            summary.last_event_id = await events.last_event_id(tx, agent_id, summary.session_id)
    return [s.wire() for s in found]


@router.get(
    "/api/agents/{agent_id}/sessions/{session_id}/messages", response_model=list[SessionHistoryMessage]
)
async def history(request: Request, agent_id: str, session_id: str) -> list[dict[str, Any]]:
    runner = await runner_for(request, agent_id)
    async with runner.deps.db.transaction() as tx:
        if await sessions.get_session(tx, agent_id, session_id) is None:
            raise NotFound(f"Session {session_id} not found.")
        rows = await events.list_history(tx, agent_id, session_id)
        agent = await agents.get_agent(tx, agent_id)
    agent_name = (agent.name if agent else None) or agent_id
    out = []
    for row in rows:
        entry = history_for(row)
        if entry is None:
            continue
        if entry.role == "assistant" and entry.name is None:
            entry.name = agent_name
        out.append(entry.wire())
    return out


@router.delete("/api/agents/{agent_id}/sessions/{session_id}", response_model=Deleted)
async def delete_session(request: Request, agent_id: str, session_id: str) -> Deleted:
    runner = await runner_for(request, agent_id)
    if session_id == "inbox":
        raise Invalid("The inbox session cannot be deleted.")
    async with runner.deps.db.transaction() as tx:
        record = await sessions.get_record(tx, agent_id, session_id)
        if record is None:
            raise NotFound(f"Session {session_id} not found.")
        if record.type == "group":
            raise Invalid("Cannot delete group sessions.")
        if await turns.has_queued(tx, agent_id, session_id):
            raise Conflict("The session has a running turn; interrupt it first.")
        await sessions.delete_session(tx, agent_id, session_id)
    return Deleted(deleted=True)
