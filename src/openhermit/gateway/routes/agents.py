"""Agents: create, list, info, health and lifecycle actions."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from openhermit.gateway.auth import require_admin
from openhermit.gateway.lookup import access_for
from openhermit.gateway.state import platform_of
from openhermit.protocol.agents import CreateAgentRequest
from openhermit.protocol.base import WireModel
from openhermit.runtime.agents import ManageAction, create_agent, manage
from openhermit.store.repos import agents

router = APIRouter(tags=["agents"])


class AgentSummary(WireModel):
    agent_id: str
    status: str
    name: str | None = None
    workspace_dir: str


class AgentHealth(WireModel):
    agent_id: str
    ok: bool
    status: Literal["running", "stopped"]


class AgentInfo(WireModel):
    agent_id: str
    name: str | None = None
    status: Literal["running", "stopped"]


class ManageResult(WireModel):
    agent_id: str
    status: str


@router.get("/api/agents", response_model=list[AgentSummary], dependencies=[Depends(require_admin)])
async def list_agents(request: Request) -> list[AgentSummary]:
    async with platform_of(request).db.transaction() as tx:
        records = await agents.list_agents(tx)
    return [
        AgentSummary(
            agent_id=r.agent_id,
            name=r.name,
            workspace_dir=r.workspace_dir,
            status="running" if r.status == "active" else "stopped",
        )
        for r in records
    ]


@router.post(
    "/api/agents", status_code=201, response_model=AgentSummary, dependencies=[Depends(require_admin)]
)
async def post_agent(request: Request, body: CreateAgentRequest) -> JSONResponse:
    record = await create_agent(platform_of(request).runtime, body)
    summary = AgentSummary(
        agent_id=record.agent_id, name=record.name, workspace_dir=record.workspace_dir, status="stopped"
    )
    return JSONResponse(summary.wire(), status_code=201)


@router.get("/api/agents/{agent_id}/health", response_model=AgentHealth)
async def agent_health(request: Request, agent_id: str) -> AgentHealth:
    hot = platform_of(request).fleet.peek(agent_id) is not None
    return AgentHealth(agent_id=agent_id, ok=hot, status="running" if hot else "stopped")


@router.get("/api/agents/{agent_id}/info", response_model=AgentInfo)
async def agent_info(request: Request, agent_id: str) -> AgentInfo:
    await access_for(request, agent_id)
    async with platform_of(request).db.transaction() as tx:
        record = await agents.get_agent(tx, agent_id)
    name = record.name if record else None
    return AgentInfo(agent_id=agent_id, name=name or agent_id, status="running")


@router.post(
    "/api/agents/{agent_id}/manage/{action}",
    response_model=ManageResult,
    dependencies=[Depends(require_admin)],
)
async def manage_agent(request: Request, agent_id: str, action: ManageAction) -> ManageResult:
    platform = platform_of(request)
    status = await manage(platform.runtime, platform.fleet, agent_id, action)
    return ManageResult(agent_id=agent_id, status=status)
