"""Enabling and disabling a skill or MCP server for one agent or all, and applying the change
to running agents on every gateway process."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import HTTPConnection

from openhermit.errors import NotFound
from openhermit.gateway.state import platform_of
from openhermit.store.engine import Tx
from openhermit.store.notify import notify
from openhermit.store.repos import agents, assignments
from openhermit.store.repos.assignments import EVERY_AGENT, Table


async def announce(connection: HTTPConnection, tx: Tx, agent_id: str) -> None:
    """Tell the other gateway processes (at commit) that capabilities of `agent_id` (or `*`) changed."""
    await notify(tx, {"o": platform_of(connection).runtime.instance_id, "agent": agent_id})


async def switch(
    connection: HTTPConnection,
    table: Table,
    resource_id: str,
    agent_id: str,
    enabled: bool,
    *,
    exists: Callable[[Tx], Awaitable[bool]],
    missing: str,
) -> dict[str, Any]:
    """Store the assignment (404 `missing` unless `exists`), tell peers, re-apply here."""
    platform = platform_of(connection)
    async with platform.db.transaction() as tx:
        if not await exists(tx):
            raise NotFound(missing)
        if agent_id != EVERY_AGENT and await agents.get_agent(tx, agent_id) is None:
            raise NotFound(f"Agent {agent_id} does not exist.")
        await assignments.set_enabled(tx, table, agent_id, resource_id, enabled)
        await announce(connection, tx, agent_id)
    refreshed = await platform.fleet.refresh_capabilities(agent_id)
    return {"ok": True, "agentId": agent_id, "enabled": enabled, "agentsRefreshed": refreshed}
