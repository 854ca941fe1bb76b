"""An agent's secrets: masked listing, put, delete (owner)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import model_validator

from openhermit.errors import Invalid, NotFound
from openhermit.gateway.lookup import access_for
from openhermit.gateway.state import platform_of
from openhermit.protocol.base import StrictWireModel
from openhermit.protocol.secrets import check_secret_name

router = APIRouter(tags=["secrets"])


class PutSecret(StrictWireModel):
    value: str | None = None
    pass_through: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> PutSecret:
        if self.value is None and self.pass_through is None:
            raise ValueError("give value, passThrough, or both")
        return self


def _name(name: str) -> str:
    try:
        return check_secret_name(name)
    except ValueError as exc:
        raise Invalid(str(exc)) from None


@router.get("/api/agents/{agent_id}/secrets")
async def list_secrets(request: Request, agent_id: str) -> dict[str, Any]:
    await access_for(request, agent_id, owner=True)
    found = await platform_of(request).secrets.list(agent_id)
    return {name: info.wire() for name, info in found.items()}


@router.put("/api/agents/{agent_id}/secrets/{name}")
async def put_secret(request: Request, agent_id: str, name: str, body: PutSecret) -> dict[str, bool]:
    await access_for(request, agent_id, owner=True)
    await platform_of(request).secrets.set(agent_id, _name(name), body.value, body.pass_through)
    return {"ok": True}


@router.delete("/api/agents/{agent_id}/secrets/{name}")
async def delete_secret(request: Request, agent_id: str, name: str) -> dict[str, bool]:
    await access_for(request, agent_id, owner=True)
    if not await platform_of(request).secrets.delete(agent_id, _name(name)):
        raise NotFound(f"Secret {name} does not exist.")
    return {"ok": True}
