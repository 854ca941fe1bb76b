"""Resolving path parameters to live objects, with the spec's 404 answers."""

from __future__ import annotations

from fastapi import Request

from openhermit.errors import NotFound
from openhermit.gateway.state import platform_of
from openhermit.runtime.runner import AgentRunner


async def runner_for(request: Request, agent_id: str) -> AgentRunner:
    """The agent's runner (hydrated on demand); 404 when it is missing or disabled."""
    runner = await platform_of(request).fleet.get(agent_id)
    if runner is None:
        raise NotFound(f"Agent {agent_id} is not available.")
    return runner
