"""MCP servers: the operator's registry (admin) and each agent's enabled servers (owner).
Header and env values are never returned: only their keys."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from openhermit.errors import NotFound
from openhermit.gateway.assignments import announce, switch
from openhermit.gateway.auth import require_admin
from openhermit.gateway.lookup import access_for
from openhermit.gateway.state import platform_of
from openhermit.protocol.capabilities import (
    AssignmentTarget,
    McpAssignment,
    McpServerDefinition,
    McpServerDetail,
    McpServerState,
    McpServerView,
)
from openhermit.runtime.mcp.hub import server_view_fields
from openhermit.store.engine import Tx
from openhermit.store.repos import assignments, mcp_servers
from openhermit.store.tables.capabilities import AgentMcpServer

router = APIRouter(tags=["mcp"])
admin = [Depends(require_admin)]


@router.get("/api/admin/mcp-servers", response_model=list[McpServerView], dependencies=admin)
async def list_servers(request: Request) -> list[McpServerView]:
    async with platform_of(request).db.transaction() as tx:
        rows = await mcp_servers.list_servers(tx)
    return [McpServerView(**server_view_fields(r)) for r in rows]


@router.get("/api/admin/mcp-servers/assignments", response_model=list[McpAssignment], dependencies=admin)
async def server_assignments(request: Request) -> list[Any]:
    async with platform_of(request).db.transaction() as tx:
        return await assignments.list_assignments(tx, AgentMcpServer)


@router.post("/api/admin/mcp-servers", status_code=201, dependencies=admin)
async def put_server(request: Request, response: Response, body: McpServerDefinition) -> dict[str, Any]:
    """Create the entry, or replace it (running agents reconnect with the new definition)."""
    platform = platform_of(request)
    async with platform.db.transaction() as tx:
        row, created = await mcp_servers.upsert_server(tx, body)
        await announce(request, tx, "*")
    await platform.fleet.refresh_capabilities("*")
    if not created:
        response.status_code = 200
    return {"ok": True, "id": row.id, "created": created}


@router.get("/api/admin/mcp-servers/{server_id}", response_model=McpServerDetail, dependencies=admin)
async def get_server(request: Request, server_id: str) -> McpServerDetail:
    async with platform_of(request).db.transaction() as tx:
        row = await mcp_servers.get_server(tx, server_id)
        if row is None:
            raise NotFound(f"MCP server {server_id} is not registered.")
        rows = await assignments.list_assignments(tx, AgentMcpServer, server_id)
    return McpServerDetail(**server_view_fields(row), assignments=rows)


async def _switch(request: Request, server_id: str, agent_id: str, on: bool) -> Any:
    async def exists(tx: Tx) -> bool:
        return await mcp_servers.get_server(tx, server_id) is not None

    missing = f"MCP server {server_id} is not registered."
    result = await switch(request, AgentMcpServer, server_id, agent_id, on, exists=exists, missing=missing)
    return {**result, "serverId": server_id}


@router.post("/api/admin/mcp-servers/{server_id}/enable", dependencies=admin)
async def enable_server(
    request: Request, server_id: str, body: AssignmentTarget | None = None
) -> dict[str, Any]:
    return await _switch(request, server_id, body.agent_id if body else "*", True)


@router.post("/api/admin/mcp-servers/{server_id}/disable", dependencies=admin)
async def disable_server(
    request: Request, server_id: str, body: AssignmentTarget | None = None
) -> dict[str, Any]:
    return await _switch(request, server_id, body.agent_id if body else "*", False)


@router.delete("/api/admin/mcp-servers/{server_id}", dependencies=admin)
async def delete_server(request: Request, server_id: str) -> dict[str, bool]:
    platform = platform_of(request)
    async with platform.db.transaction() as tx:
        if not await mcp_servers.delete_server(tx, server_id):
            raise NotFound(f"MCP server {server_id} is not registered.")
        await announce(request, tx, "*")
    await platform.fleet.refresh_capabilities("*")
    return {"ok": True}


# One agent -------------------------------------------------------------------------------------
@router.get("/api/agents/{agent_id}/mcp-servers", response_model=list[McpServerState])
async def agent_servers(request: Request, agent_id: str) -> list[McpServerState]:
    """The agent's enabled servers and this gateway's connection to each (starting it if needed)."""
    runner, _access = await access_for(request, agent_id, owner=True)
    await runner.mcp.refresh()
    return runner.mcp.states()


async def _agent_switch(request: Request, agent_id: str, server_id: str, on: bool) -> dict[str, bool]:
    await access_for(request, agent_id, owner=True)
    await _switch(request, server_id, agent_id, on)
    return {"ok": True}


@router.post("/api/agents/{agent_id}/mcp-servers/{server_id}/enable")
async def agent_enable_server(request: Request, agent_id: str, server_id: str) -> dict[str, bool]:
    return await _agent_switch(request, agent_id, server_id, True)


@router.post("/api/agents/{agent_id}/mcp-servers/{server_id}/disable")
async def agent_disable_server(request: Request, agent_id: str, server_id: str) -> dict[str, bool]:
    return await _agent_switch(request, agent_id, server_id, False)
