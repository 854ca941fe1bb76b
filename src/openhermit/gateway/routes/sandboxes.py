"""Sandboxes: per agent by alias (owner), presets (any caller; admin edits), all rows (admin)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from openhermit.errors import Forbidden, NotFound
from openhermit.gateway.auth import require_admin, require_caller
from openhermit.gateway.lookup import access_for
from openhermit.gateway.state import platform_of
from openhermit.protocol.sandboxes import AdminSandboxRecord, CreateSandbox, SandboxPresets, SandboxRecord
from openhermit.runtime.sandbox_presets import load_presets, resolve_request, save_presets
from openhermit.runtime.sandboxes import backend_config, lifecycle_of
from openhermit.sandbox.registry import SandboxSpec, build
from openhermit.store.repos import agents
from openhermit.store.repos import sandboxes as rows

router = APIRouter(tags=["sandboxes"])


@router.get("/api/agents/{agent_id}/sandboxes", response_model=list[SandboxRecord])
async def list_sandboxes(request: Request, agent_id: str) -> list[SandboxRecord]:
    await access_for(request, agent_id, owner=True)
    async with platform_of(request).db.transaction() as tx:
        return await rows.list_sandboxes(tx, agent_id)


@router.post("/api/agents/{agent_id}/sandboxes", status_code=201, response_model=SandboxRecord)
async def create_sandbox(request: Request, agent_id: str, body: CreateSandbox) -> JSONResponse:
    _, access = await access_for(request, agent_id, owner=True)
    platform = platform_of(request)
    async with platform.db.transaction() as tx:
        preset = await resolve_request(tx, body)
        agent = await agents.get_agent(tx, agent_id)
        if agent is None:
            raise NotFound(f"Agent {agent_id} is not available.")
        lifecycle_of(preset.config)
        # The backend checks its own config now, so a typo is a 400 here and not a failed tool call.
        probe = SandboxSpec(
            id="probe",
            agent_id=agent_id,
            alias=body.alias,
            config=backend_config(preset.config),
            workspace_dir=Path(agent.workspace_dir),
        )
        sandbox = build(preset.type, probe)
        if not sandbox.capabilities.isolated and not access.is_admin:
            raise Forbidden("Only an admin may give an agent an unisolated (host) sandbox.")
        record = await rows.create_sandbox(
            tx, agent_id, body.alias, preset.type, preset.config, single=not sandbox.capabilities.isolated
        )
    return JSONResponse(record.wire(), status_code=201)


@router.get("/api/agents/{agent_id}/sandboxes/{alias}", response_model=SandboxRecord)
async def get_sandbox(request: Request, agent_id: str, alias: str) -> SandboxRecord:
    await access_for(request, agent_id, owner=True)
    async with platform_of(request).db.transaction() as tx:
        record = await rows.get_sandbox(tx, agent_id, alias)
    if record is None:
        raise NotFound(f"Sandbox {alias} not found.")
    return record


@router.delete("/api/agents/{agent_id}/sandboxes/{alias}")
async def delete_sandbox(request: Request, agent_id: str, alias: str) -> dict[str, bool]:
    await access_for(request, agent_id, owner=True)
    platform = platform_of(request)
    async with platform.db.transaction() as tx:
        record = await rows.soft_delete(tx, agent_id, alias)
    if record is None:
        raise NotFound(f"Sandbox {alias} not found.")
    await platform.sandboxes.release(record.id)
    return {"ok": True}


@router.get("/api/sandbox-presets", response_model=SandboxPresets)
async def get_presets(request: Request) -> SandboxPresets:
    await require_caller(request)
    async with platform_of(request).db.transaction() as tx:
        return await load_presets(tx)


@router.put("/api/sandbox-presets", response_model=SandboxPresets, dependencies=[Depends(require_admin)])
async def put_presets(request: Request, body: SandboxPresets) -> SandboxPresets:
    async with platform_of(request).db.transaction() as tx:
        await save_presets(tx, body)
        return await load_presets(tx)


@router.get(
    "/api/admin/sandboxes", response_model=list[AdminSandboxRecord], dependencies=[Depends(require_admin)]
)
async def all_sandboxes(request: Request) -> list[AdminSandboxRecord]:
    platform = platform_of(request)
    async with platform.db.transaction() as tx:
        found = await rows.list_all(tx)
    return [r.model_copy(update={"runtime": platform.sandboxes.runtime_view(r.id)}) for r in found]
