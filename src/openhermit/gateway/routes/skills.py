"""Skills: the operator's registry (admin) and each agent's enabled set (owner)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from openhermit.errors import NotFound
from openhermit.gateway.assignments import announce, switch
from openhermit.gateway.auth import require_admin
from openhermit.gateway.lookup import access_for
from openhermit.gateway.state import platform_of
from openhermit.protocol.capabilities import (
    AssignmentTarget,
    RegisterSkill,
    ScannedSkill,
    SkillAssignment,
    SkillDetail,
    SkillIndexEntry,
    SkillRecord,
    SkillSyncRequest,
    SkillSyncResult,
)
from openhermit.runtime import skills as skill_ops
from openhermit.store.engine import Tx
from openhermit.store.repos import assignments, skills
from openhermit.store.tables.capabilities import AgentSkill

router = APIRouter(tags=["skills"])
admin = [Depends(require_admin)]


def _shown(record: SkillRecord) -> dict[str, Any]:
    """A registry row for the API: the stored files of user skills are left out."""
    data = record.model_dump()
    data["metadata"] = {k: v for k, v in record.metadata.items() if k != "files"}
    return data


@router.get("/api/admin/skills", response_model=list[SkillRecord], dependencies=admin)
async def list_skills(request: Request) -> list[SkillRecord]:
    async with platform_of(request).db.transaction() as tx:
        found = await skills.list_skills(tx)
    return [SkillRecord(**_shown(r)) for r in found]


@router.get("/api/admin/skills/scan", response_model=list[ScannedSkill], dependencies=admin)
async def scan_skills(request: Request) -> list[ScannedSkill]:
    platform = platform_of(request)
    async with platform.db.transaction() as tx:
        return await skill_ops.scan(tx, platform.runtime)


@router.get("/api/admin/skills/assignments", response_model=list[SkillAssignment], dependencies=admin)
async def skill_assignments(request: Request) -> list[Any]:
    async with platform_of(request).db.transaction() as tx:
        return await assignments.list_assignments(tx, AgentSkill)


@router.post("/api/admin/skills", status_code=201, dependencies=admin)
async def register_skill(request: Request, body: RegisterSkill) -> dict[str, Any]:
    async with platform_of(request).db.transaction() as tx:
        record = await skill_ops.register_system_skill(tx, body)
        await announce(request, tx, "*")
    await platform_of(request).fleet.refresh_capabilities("*")
    return {"ok": True, "id": record.id, "name": record.name, "description": record.description}


@router.post(
    "/api/admin/skills/sync",
    response_model=SkillSyncResult,
    response_model_exclude_none=True,
    dependencies=admin,
)
async def sync_skills(request: Request, body: SkillSyncRequest | None = None) -> SkillSyncResult:
    platform = platform_of(request)
    async with platform.db.transaction() as tx:
        results = await skill_ops.sync_registry(tx, body.id if body else None)
        if any(r.action == "updated" for r in results):
            await announce(request, tx, "*")
    refreshed = await platform.fleet.refresh_capabilities("*")
    return SkillSyncResult(results=results, agents_refreshed=refreshed)


@router.get("/api/admin/skills/{skill_id}", response_model=SkillDetail, dependencies=admin)
async def get_skill(request: Request, skill_id: str) -> SkillDetail:
    async with platform_of(request).db.transaction() as tx:
        record = await skills.get_skill(tx, skill_id)
        if record is None:
            raise NotFound(f"Skill {skill_id} is not registered.")
        rows = await assignments.list_assignments(tx, AgentSkill, skill_id)
    return SkillDetail(**_shown(record), assignments=rows)


async def _switch(request: Request, skill_id: str, agent_id: str, on: bool, owner: str | None = None) -> Any:
    async def exists(tx: Tx) -> bool:
        record = await skills.get_skill(tx, skill_id)
        return record is not None and (
            owner is None or record.source == "system" or record.owner_agent_id == owner
        )

    result = await switch(
        request,
        AgentSkill,
        skill_id,
        agent_id,
        on,
        exists=exists,
        missing=f"Skill {skill_id} is not registered.",
    )
    return {**result, "skillId": skill_id}


@router.post("/api/admin/skills/{skill_id}/enable", dependencies=admin)
async def enable_skill(
    request: Request, skill_id: str, body: AssignmentTarget | None = None
) -> dict[str, Any]:
    return await _switch(request, skill_id, body.agent_id if body else "*", True)


@router.post("/api/admin/skills/{skill_id}/disable", dependencies=admin)
async def disable_skill(
    request: Request, skill_id: str, body: AssignmentTarget | None = None
) -> dict[str, Any]:
    return await _switch(request, skill_id, body.agent_id if body else "*", False)


@router.delete("/api/admin/skills/{skill_id}", dependencies=admin)
async def delete_skill(request: Request, skill_id: str) -> dict[str, bool]:
    platform = platform_of(request)
    async with platform.db.transaction() as tx:
        if not await skills.delete_skill(tx, skill_id):
            raise NotFound(f"Skill {skill_id} is not registered.")
        await announce(request, tx, "*")
    await platform.fleet.refresh_capabilities("*")
    return {"ok": True}


# One agent -------------------------------------------------------------------------------------
@router.get("/api/agents/{agent_id}/skills", response_model=list[SkillIndexEntry])
async def agent_skills(request: Request, agent_id: str) -> list[SkillIndexEntry]:
    runner, _access = await access_for(request, agent_id, owner=True)
    return await runner.skills.index()


async def _agent_switch(request: Request, agent_id: str, skill_id: str, on: bool) -> dict[str, bool]:
    await access_for(request, agent_id, owner=True)
    await _switch(request, skill_id, agent_id, on, owner=agent_id)
    return {"ok": True}


@router.post("/api/agents/{agent_id}/skills/{skill_id}/enable")
async def agent_enable_skill(request: Request, agent_id: str, skill_id: str) -> dict[str, bool]:
    return await _agent_switch(request, agent_id, skill_id, True)


@router.post("/api/agents/{agent_id}/skills/{skill_id}/disable")
async def agent_disable_skill(request: Request, agent_id: str, skill_id: str) -> dict[str, bool]:
    return await _agent_switch(request, agent_id, skill_id, False)
