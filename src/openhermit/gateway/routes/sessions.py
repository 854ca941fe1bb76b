"""Sessions: open, list, history, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from openhermit.gateway.lookup import access_for
from openhermit.protocol.base import WireModel
from openhermit.protocol.sessions import SessionHistoryMessage, SessionSpec, SessionSummary
from openhermit.runtime import session_ops

router = APIRouter(tags=["sessions"])


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
    runner, access = await access_for(request, agent_id)
    return SessionOpened(session_id=await session_ops.open_session(runner, spec, access))


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
    observe: bool = False,
) -> list[dict[str, Any]]:
    runner, access = await access_for(request, agent_id)
    found = await session_ops.list_sessions(
        runner,
        access,
        observe=observe,
        kind=kind,
        platform=platform,
        interactive=interactive,
        channel=channel,
        limit=limit,
        include_inactive=include_inactive,
        metadata=_metadata_filter(request) or None,
    )
    return [s.wire() for s in found]


@router.get(
    "/api/agents/{agent_id}/sessions/{session_id}/messages", response_model=list[SessionHistoryMessage]
)
async def history(request: Request, agent_id: str, session_id: str) -> list[dict[str, Any]]:
    runner, access = await access_for(request, agent_id)
    return [entry.wire() for entry in await session_ops.history(runner, access, session_id)]


@router.delete("/api/agents/{agent_id}/sessions/{session_id}", response_model=Deleted)
async def delete_session(request: Request, agent_id: str, session_id: str) -> Deleted:
    runner, access = await access_for(request, agent_id)
    await session_ops.delete_session(runner, access, session_id)
    return Deleted(deleted=True)
