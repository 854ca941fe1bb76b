"""Fleet views for operators: every agent's activity and usage; one agent's usage."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Request

from openhermit.errors import NotFound
from openhermit.gateway.auth import require_admin
from openhermit.gateway.state import platform_of
from openhermit.protocol.base import WireModel
from openhermit.protocol.usage import UsageTotals
from openhermit.store.engine import Tx
from openhermit.store.repos import agents, channels, usage

router = APIRouter(tags=["admin"], dependencies=[Depends(require_admin)])


class UsageReport(WireModel):
    window24h: UsageTotals
    window7d: UsageTotals
    all_time: UsageTotals


class FleetEntry(WireModel):
    agent_id: str
    name: str | None = None
    status: str
    sessions24h: int
    errors24h: int
    last_activity: datetime | None = None
    channels: list[str]
    usage: UsageReport


async def _usage(tx: Tx, agent_id: str) -> UsageReport:
    return UsageReport(
        window24h=await usage.usage_totals(tx, agent_id=agent_id, within=timedelta(hours=24)),
        window7d=await usage.usage_totals(tx, agent_id=agent_id, within=timedelta(days=7)),
        all_time=await usage.usage_totals(tx, agent_id=agent_id),
    )


@router.get("/api/admin/agents/fleet", response_model=list[FleetEntry])
async def fleet(request: Request) -> list[FleetEntry]:
    out = []
    async with platform_of(request).db.transaction() as tx:
        for record in await agents.list_agents(tx):
            sessions24h, errors24h, last = await usage.activity(
                tx, record.agent_id, within=timedelta(hours=24)
            )
            rows = await channels.list_channels(tx, record.agent_id)
            out.append(
                FleetEntry(
                    agent_id=record.agent_id,
                    name=record.name,
                    status=record.status,
                    sessions24h=sessions24h,
                    errors24h=errors24h,
                    last_activity=last,
                    channels=[r.namespace for r in rows if r.enabled and r.revoked_at is None],
                    usage=await _usage(tx, record.agent_id),
                )
            )
    return out


@router.get("/api/admin/agents/{agent_id}/usage", response_model=UsageReport)
async def agent_usage(request: Request, agent_id: str) -> UsageReport:
    async with platform_of(request).db.transaction() as tx:
        if await agents.get_agent(tx, agent_id) is None:
            raise NotFound(f"Agent {agent_id} not found.")
        return await _usage(tx, agent_id)
