"""Instructions: per agent (owner) and across the fleet in one transaction (admin)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import Field, model_validator

from openhermit.errors import NotFound
from openhermit.gateway.auth import require_admin
from openhermit.gateway.lookup import access_for
from openhermit.gateway.state import platform_of
from openhermit.protocol.base import StrictWireModel, WireModel
from openhermit.store.notify import notify
from openhermit.store.repos import instructions

router = APIRouter(tags=["instructions"])
KEY = r"^[A-Za-z0-9_.-]{1,100}$"


class InstructionView(WireModel):
    key: str
    content: str
    updated_at: datetime


class PutInstruction(StrictWireModel):
    content: str = Field(max_length=100_000)


class Fanout(StrictWireModel):
    mode: Literal["set", "append", "remove"]
    key: str = Field(pattern=KEY)
    content: str | None = Field(None, max_length=100_000)

    @model_validator(mode="after")
    def _content(self) -> Fanout:
        if self.mode != "remove" and self.content is None:
            raise ValueError(f"content is required for mode {self.mode}")
        return self


class FanoutResult(WireModel):
    ok: bool
    mode: str
    key: str
    agents: list[str]
    seconds: float


@router.get("/api/agents/{agent_id}/instructions", response_model=list[InstructionView])
async def list_instructions(request: Request, agent_id: str) -> list[InstructionView]:
    await access_for(request, agent_id, owner=True)
    async with platform_of(request).db.transaction() as tx:
        rows = await instructions.list_instructions(tx, agent_id)
    return [InstructionView(key=r.key, content=r.content, updated_at=r.updated_at) for r in rows]


@router.get("/api/agents/{agent_id}/instructions/{key}", response_model=InstructionView)
async def get_instruction(request: Request, agent_id: str, key: str) -> InstructionView:
    await access_for(request, agent_id, owner=True)
    async with platform_of(request).db.transaction() as tx:
        row = await instructions.get_instruction(tx, agent_id, key)
    if row is None:
        raise NotFound(f"Instruction {key} not found.")
    return InstructionView(key=row.key, content=row.content, updated_at=row.updated_at)


@router.put("/api/agents/{agent_id}/instructions/{key}")
async def put_instruction(request: Request, agent_id: str, key: str, body: PutInstruction) -> dict[str, bool]:
    await access_for(request, agent_id, owner=True)
    Fanout(mode="set", key=key, content=body.content)  # validates the key
    async with platform_of(request).db.transaction() as tx:
        await instructions.put_instruction(tx, agent_id, key, body.content)
    return {"ok": True}


@router.delete("/api/agents/{agent_id}/instructions/{key}")
async def delete_instruction(request: Request, agent_id: str, key: str) -> dict[str, bool]:
    await access_for(request, agent_id, owner=True)
    async with platform_of(request).db.transaction() as tx:
        if not await instructions.delete_instruction(tx, agent_id, key):
            raise NotFound(f"Instruction {key} not found.")
    return {"ok": True}


@router.post(
    "/api/admin/instructions/fanout", response_model=FanoutResult, dependencies=[Depends(require_admin)]
)
async def fanout(request: Request, body: Fanout) -> FanoutResult:
    platform = platform_of(request)
    started = time.perf_counter()
    async with platform.db.transaction() as tx:
        changed = await instructions.fanout(tx, body.mode, body.key, body.content or "")
        await notify(tx, {"o": platform.runtime.instance_id, "fanout": body.key})
    return FanoutResult(
        ok=True, mode=body.mode, key=body.key, agents=changed, seconds=round(time.perf_counter() - started, 4)
    )
