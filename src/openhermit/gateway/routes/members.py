"""Agent membership: list, add (by others or self-join), remove, ownership and promotion."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field, model_validator

from openhermit.errors import Conflict, Invalid, NotFound
from openhermit.gateway.auth import require_admin, require_caller
from openhermit.gateway.lookup import access_for
from openhermit.gateway.state import platform_of
from openhermit.protocol.base import StrictWireModel, WireModel
from openhermit.protocol.users import Role
from openhermit.runtime.access import resolve_access
from openhermit.store.repos import agents, users

router = APIRouter(tags=["members"])


class IdentityView(WireModel):
    channel: str
    channel_user_id: str
    created_at: datetime


class MemberView(WireModel):
    user_id: str
    role: str
    created_at: datetime
    display_name: str | None = None
    identities: list[IdentityView]


class AddMember(StrictWireModel):
    user_id: str | None = None
    channel: str | None = None
    channel_user_id: str | None = None
    display_name: str | None = Field(None, max_length=200)
    role: Role | None = None
    access_token: str | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> AddMember:
        by_id = self.user_id is not None
        by_identity = self.channel is not None or self.channel_user_id is not None
        if by_id == by_identity:
            raise ValueError("give either userId, or channel and channelUserId")
        if by_identity and not (self.channel and self.channel_user_id):
            raise ValueError("channel and channelUserId go together")
        return self


class Added(WireModel):
    agent_id: str
    user_id: str
    role: str


class PersonRef(WireModel):
    user_id: str
    name: str | None = None


class Me(PersonRef):
    role: str


class Ownership(WireModel):
    has_owner: bool
    owner: PersonRef | None
    me: Me | None


@router.get("/api/agents/{agent_id}/members", response_model=list[MemberView])
async def list_members(request: Request, agent_id: str) -> list[MemberView]:
    await access_for(request, agent_id, owner=True)
    async with platform_of(request).db.transaction() as tx:
        found = await users.members(tx, agent_id)
    return [
        MemberView(
            user_id=m.user_id,
            role=m.role,
            created_at=m.created_at,
            display_name=m.display_name,
            identities=[
                IdentityView(channel=i.channel, channel_user_id=i.channel_user_id, created_at=i.created_at)
                for i in m.identities
            ],
        )
        for m in found
    ]


@router.post("/api/agents/{agent_id}/members", response_model=Added)
async def add_member(request: Request, agent_id: str, body: AddMember) -> Added:
    caller = await require_caller(request)
    platform = platform_of(request)
    async with platform.db.transaction() as tx:
        agent = await agents.get_agent(tx, agent_id)
        if agent is None or agent.status != "active":
            raise NotFound(f"Agent {agent_id} is not available.")
        access = await resolve_access(tx, caller, agent_id, join=False)
        if body.user_id is not None:
            target = (await users.require_user(tx, body.user_id)).user_id
        else:
            target, _ = await users.ensure_user(
                tx, str(body.channel), str(body.channel_user_id), body.display_name
            )
        if caller.kind == "admin":
            role: Role = body.role or "guest"
        elif access is not None and access.role == "owner":
            if body.role == "owner":
                raise Invalid("Owners cannot grant the owner role; an admin promotes owners.")
            role = body.role or "guest"
        else:
            me = access.user_id if access else await users.resolve(tx, caller.channel, caller.channel_user_id)
            if me is None or target != me:
                raise NotFound(f"Agent {agent_id} is not available.")
            level = agent.security.get("access", "public")
            expected = str(agent.security.get("access_token") or "")
            if level == "private" or (
                level == "protected"
                and not (
                    expected and hmac.compare_digest(expected.encode(), (body.access_token or "").encode())
                )
            ):
                raise NotFound(f"Agent {agent_id} is not available.")
            role = body.role if body.role and body.role != "owner" else "guest"
        membership = await users.set_role(tx, target, agent_id, role)
    return Added(agent_id=agent_id, user_id=membership.user_id, role=membership.role)


@router.delete("/api/agents/{agent_id}/members/{user_id}")
async def remove_member(request: Request, agent_id: str, user_id: str) -> dict[str, Any]:
    await access_for(request, agent_id, owner=True)
    async with platform_of(request).db.transaction() as tx:
        if not await users.remove_member(tx, user_id, agent_id):
            raise NotFound(f"User {user_id} is not a member of {agent_id}.")
    return {"ok": True}


@router.get("/api/agents/{agent_id}/ownership", response_model=Ownership)
async def ownership(
    request: Request, agent_id: str, channel: str | None = None, channel_user_id: str | None = None
) -> Ownership:
    _, access = await access_for(request, agent_id)
    async with platform_of(request).db.transaction() as tx:
        owner_id = await users.owner_of(tx, agent_id)
        owner = await users.get_user(tx, owner_id) if owner_id else None
        me_id = access.user_id
        if access.is_admin and channel and channel_user_id:
            me_id = await users.resolve(tx, channel, channel_user_id)
        me_user = await users.get_user(tx, me_id) if me_id else None
        my_role = await users.role_of(tx, me_id, agent_id) if me_id else None
    return Ownership(
        has_owner=owner_id is not None,
        owner=PersonRef(user_id=owner_id, name=owner.name if owner else None) if owner_id else None,
        me=Me(user_id=me_id, name=me_user.name if me_user else None, role=my_role or "guest")
        if me_id
        else None,
    )


@router.post("/api/agents/{agent_id}/users/{user_id}/promote-to-owner", dependencies=[Depends(require_admin)])
async def promote(request: Request, agent_id: str, user_id: str) -> dict[str, Any]:
    async with platform_of(request).db.transaction() as tx:
        if await agents.get_agent(tx, agent_id) is None:
            raise NotFound(f"Agent {agent_id} not found.")
        if await users.get_user(tx, user_id) is None:
            raise NotFound(f"User {user_id} not found.")
        current = await users.owner_of(tx, agent_id)
        if current is not None and current != user_id:
            raise Conflict(f"Agent {agent_id} already has an owner ({current}).")
        await users.set_role(tx, user_id, agent_id, "owner")
    return {"ok": True, "userId": user_id, "role": "owner"}
