"""Resolving path parameters to live objects, with the spec's 401/404 answers."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from openhermit.errors import NotFound
from openhermit.gateway.auth import require_caller
from openhermit.gateway.state import platform_of
from openhermit.runtime.access import AgentAccess, admin_access, resolve_access
from openhermit.runtime.runner import AgentRunner


async def runner_for(connection: HTTPConnection, agent_id: str) -> AgentRunner:
    """The agent's runner (hydrated on demand); 404 when it is missing or disabled."""
    runner = await platform_of(connection).fleet.get(agent_id)
    if runner is None:
        raise NotFound(f"Agent {agent_id} is not available.")
    return runner


async def access_for(
    connection: HTTPConnection, agent_id: str, *, owner: bool = False
) -> tuple[AgentRunner, AgentAccess]:
    """The caller on this agent: 401 without credentials, 404 when the agent is not theirs
    (or, for `owner`, when they do not own it)."""
    caller = await require_caller(connection)
    access = admin_access(caller, agent_id)
    if access is None:
        async with platform_of(connection).db.transaction() as tx:
            access = await resolve_access(tx, caller, agent_id, join=not owner)
    if access is None or (owner and not access.is_owner):
        raise NotFound(f"Agent {agent_id} is not available.")
    return await runner_for(connection, agent_id), access
