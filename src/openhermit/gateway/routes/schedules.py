"""Schedules of an agent (owner) and the admin view of all schedules."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from openhermit.gateway.auth import require_admin
from openhermit.gateway.lookup import access_for
from openhermit.gateway.state import platform_of
from openhermit.protocol.schedules import (
    ScheduleCreate,
    ScheduleRecord,
    ScheduleRunRecord,
    ScheduleStatus,
    ScheduleTriggered,
    ScheduleUpdate,
)

router = APIRouter(tags=["schedules"])
BASE = "/api/agents/{agent_id}/schedules"


@router.get(BASE, response_model=list[ScheduleRecord])
async def list_schedules(
    request: Request, agent_id: str, status: ScheduleStatus | None = None
) -> list[ScheduleRecord]:
    await access_for(request, agent_id, owner=True)
    return await platform_of(request).scheduler.book.list(agent_id, status)


@router.post(BASE, response_model=ScheduleRecord, status_code=201)
async def create_schedule(request: Request, agent_id: str, body: ScheduleCreate) -> JSONResponse:
    _, access = await access_for(request, agent_id, owner=True)
    created = await platform_of(request).scheduler.book.create(agent_id, body, acting_user=access.user_id)
    return JSONResponse(created.model_dump(mode="json", by_alias=True), status_code=201)


@router.put(BASE + "/{schedule_id}", response_model=ScheduleRecord)
async def update_schedule(
    request: Request, agent_id: str, schedule_id: str, body: ScheduleUpdate
) -> ScheduleRecord:
    await access_for(request, agent_id, owner=True)
    return await platform_of(request).scheduler.book.update(agent_id, schedule_id, body)


@router.delete(BASE + "/{schedule_id}")
async def delete_schedule(request: Request, agent_id: str, schedule_id: str) -> dict[str, bool]:
    await access_for(request, agent_id, owner=True)
    await platform_of(request).scheduler.book.delete(agent_id, schedule_id)
    return {"ok": True}


@router.post(BASE + "/{schedule_id}/trigger", response_model=ScheduleTriggered)
async def trigger_schedule(request: Request, agent_id: str, schedule_id: str) -> ScheduleTriggered:
    await access_for(request, agent_id, owner=True)
    await platform_of(request).scheduler.book.trigger(agent_id, schedule_id)
    return ScheduleTriggered(triggered=schedule_id)


@router.get(BASE + "/{schedule_id}/runs", response_model=list[ScheduleRunRecord])
async def list_runs(
    request: Request, agent_id: str, schedule_id: str, limit: int = Query(20, ge=1, le=200)
) -> list[ScheduleRunRecord]:
    await access_for(request, agent_id, owner=True)
    return await platform_of(request).scheduler.book.runs(agent_id, schedule_id, limit)


@router.get(
    "/api/admin/schedules", response_model=list[ScheduleRecord], dependencies=[Depends(require_admin)]
)
async def all_schedules(request: Request, status: ScheduleStatus | None = None) -> list[ScheduleRecord]:
    return await platform_of(request).scheduler.book.list(None, status)
