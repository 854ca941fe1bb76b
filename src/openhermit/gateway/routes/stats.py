"""`GET /api/admin/stats`: process, fleet and usage figures for operators."""

from __future__ import annotations

import time
from datetime import timedelta

import psutil
from fastapi import APIRouter, Depends, Request

from openhermit.gateway.auth import require_admin
from openhermit.gateway.state import platform_of
from openhermit.protocol.admin import Counts, GatewayStats, MemoryStats, RunningAgents, UsageWindows
from openhermit.store.repos import agents, events, sessions, usage, users

router = APIRouter(dependencies=[Depends(require_admin)], tags=["admin"])
_process = psutil.Process()


@router.get("/api/admin/stats", response_model=GatewayStats)
async def stats(request: Request) -> GatewayStats:
    platform = platform_of(request)
    async with platform.db.transaction() as tx:
        counts = Counts(
            agents=await agents.count_agents(tx),
            users=await users.count_users(tx),
            sessions=await sessions.count_sessions(tx),
            session_events=await events.count_events(tx),
        )
        windows = UsageWindows(
            window24h=await usage.usage_totals(tx, within=timedelta(hours=24)),
            all_time=await usage.usage_totals(tx),
        )
    memory = _process.memory_info()
    return GatewayStats(
        uptime=round(time.time() - platform.started_at, 3),
        # Python has no separate JS-style heap: heapUsed is the resident set, heapTotal the virtual size.
        memory=MemoryStats(rss=memory.rss, heap_used=memory.rss, heap_total=memory.vms),
        agents=RunningAgents(running=platform.fleet.running),
        counts=counts,
        usage=windows,
    )
