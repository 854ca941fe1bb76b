"""Admin views of people: users, their identities and their memberships."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from openhermit.errors import NotFound
from openhermit.gateway.auth import require_admin
from openhermit.gateway.state import platform_of
from openhermit.protocol.base import StrictWireModel, WireModel
from openhermit.store.repos import users

router = APIRouter(tags=["admin"], dependencies=[Depends(require_admin)])


class UserRow(WireModel):
    user_id: str
    name: str | None = None
    created_at: datetime
    updated_at: datetime
    identity_count: int
    agent_count: int


class IdentityRow(WireModel):
    channel: str
    channel_user_id: str
    created_at: datetime


class LinkBody(StrictWireModel):
    channel: str = Field(min_length=1, max_length=100)
    channel_user_id: str = Field(min_length=1, max_length=300)


class MembershipRow(WireModel):
    agent_id: str
    role: str
    name: str | None = None
    status: str


async def _user(request: Request, user_id: str) -> None:
    async with platform_of(request).db.transaction() as tx:
        if await users.get_user(tx, user_id) is None:
            raise NotFound(f"User {user_id} not found.")


@router.get("/api/admin/users", response_model=list[UserRow])
async def list_users(request: Request) -> list[UserRow]:
    async with platform_of(request).db.transaction() as tx:
        return [UserRow(**u.__dict__) for u in await users.list_users(tx)]


@router.get("/api/admin/users/{user_id}/identities", response_model=list[IdentityRow])
async def identities(request: Request, user_id: str) -> list[IdentityRow]:
    await _user(request, user_id)
    async with platform_of(request).db.transaction() as tx:
        found = await users.identities_of(tx, user_id)
    return [
        IdentityRow(channel=i.channel, channel_user_id=i.channel_user_id, created_at=i.created_at)
        for i in found
    ]


@router.post("/api/admin/users/{user_id}/identities")
async def link(request: Request, user_id: str, body: LinkBody) -> dict[str, Any]:
    await _user(request, user_id)
    async with platform_of(request).db.transaction() as tx:
        await users.link_identity(tx, user_id, body.channel, body.channel_user_id)
    return {"ok": True}


@router.get("/api/admin/users/{user_id}/agents", response_model=list[MembershipRow])
async def memberships(request: Request, user_id: str) -> list[MembershipRow]:
    await _user(request, user_id)
    async with platform_of(request).db.transaction() as tx:
        found = await users.memberships_of(tx, user_id)
    return [MembershipRow(agent_id=a, role=r, name=n, status=s) for a, r, n, s in found]
