"""An agent's configuration and security objects: read and replace (validated)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request
from pydantic import ValidationError

from openhermit.errors import Invalid, NotFound
from openhermit.gateway.lookup import access_for
from openhermit.gateway.state import platform_of
from openhermit.protocol.agent_config import AgentConfig
from openhermit.store.repos import agents

router = APIRouter(tags=["agents"])
ACCESS_LEVELS = ("public", "protected", "private")


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error.get("loc", ())) or "config"
    return f"{where}: {error.get('msg', 'invalid')}"


async def _record(request: Request, agent_id: str) -> Any:
    await access_for(request, agent_id, owner=True)
    async with platform_of(request).db.transaction() as tx:
        record = await agents.get_agent(tx, agent_id)
    if record is None:
        raise NotFound(f"Agent {agent_id} not found.")
    return record


@router.get("/api/agents/{agent_id}/config")
async def get_config(request: Request, agent_id: str) -> dict[str, Any]:
    return (await _record(request, agent_id)).config  # type: ignore[no-any-return]


@router.put("/api/agents/{agent_id}/config")
async def put_config(request: Request, agent_id: str, config: dict[str, Any] = Body(...)) -> dict[str, bool]:
    await _record(request, agent_id)
    try:
        AgentConfig.model_validate(config)
    except ValidationError as exc:
        raise Invalid(f"Invalid agent config: {_first_error(exc)}") from None
    async with platform_of(request).db.transaction() as tx:
        await agents.update_agent(tx, agent_id, config=config)
    return {"ok": True}


@router.get("/api/agents/{agent_id}/security")
async def get_security(request: Request, agent_id: str) -> dict[str, Any]:
    return (await _record(request, agent_id)).security  # type: ignore[no-any-return]


@router.put("/api/agents/{agent_id}/security")
async def put_security(
    request: Request, agent_id: str, security: dict[str, Any] = Body(...)
) -> dict[str, bool]:
    await _record(request, agent_id)
    access = security.get("access")
    if access is not None and access not in ACCESS_LEVELS:
        raise Invalid(f"Invalid security: access must be one of {', '.join(ACCESS_LEVELS)}.")
    async with platform_of(request).db.transaction() as tx:
        await agents.update_agent(tx, agent_id, security=security)
    return {"ok": True}
