"""Admin views: gateway statistics."""

from __future__ import annotations

from pydantic import Field

from openhermit.protocol.base import WireModel
from openhermit.protocol.usage import UsageTotals


class MemoryStats(WireModel):
    rss: int
    heap_used: int
    heap_total: int


class RunningAgents(WireModel):
    running: int


class Counts(WireModel):
    agents: int
    users: int
    sessions: int
    session_events: int


class UsageWindows(WireModel):
    window24h: UsageTotals = Field(alias="window24h")
    all_time: UsageTotals


class GatewayStats(WireModel):
    uptime: float
    memory: MemoryStats
    agents: RunningAgents
    counts: Counts
    usage: UsageWindows
