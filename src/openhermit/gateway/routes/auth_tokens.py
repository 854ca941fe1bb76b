"""Getting user tokens: device-key login, exchange, admin-issued tokens; registering users."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from openhermit.errors import Invalid, Unauthorized
from openhermit.gateway.auth import require_admin, require_caller
from openhermit.gateway.state import platform_of
from openhermit.gateway.tokens import EXCHANGE_MAX_TTL_SECONDS, SESSION_TTL_SECONDS
from openhermit.protocol.base import StrictWireModel, WireModel
from openhermit.secrets.device_keys import DeviceKeyRejected, verify_device_key
from openhermit.store.repos import jtis, users

router = APIRouter(tags=["auth"])
WEB_CHANNEL = "web"


class DeviceKeyLogin(StrictWireModel):
    grant_type: Literal["device-key"] = Field(alias="grant_type")
    device_key: str = Field(alias="device_key", min_length=10, max_length=2000)
    display_name: str | None = Field(None, alias="display_name", max_length=200)


class TokenIssued(WireModel):
    token: str
    expires_at: int
    user_id: str
    is_new_device: bool | None = None
    display_name: str | None = None
    purpose: str | None = None


class ExchangeBody(StrictWireModel):
    token: str


class IssueTokenBody(StrictWireModel):
    channel: str = Field(min_length=1, max_length=100)
    channel_user_id: str = Field(min_length=1, max_length=300)
    display_name: str | None = Field(None, max_length=200)
    purpose: Literal["session", "exchange"] = "session"
    ttl_seconds: int | None = Field(None, ge=1, le=SESSION_TTL_SECONDS)


class UserBody(StrictWireModel):
    channel: str = Field(min_length=1, max_length=100)
    channel_user_id: str = Field(min_length=1, max_length=300)
    display_name: str | None = Field(None, max_length=200)


class MyAgent(WireModel):
    agent_id: str
    role: str
    name: str | None = None
    status: str


@router.post("/api/auth/token", response_model=TokenIssued)
async def device_key_login(request: Request, body: DeviceKeyLogin) -> TokenIssued:
    try:
        fingerprint = await asyncio.to_thread(verify_device_key, body.device_key)
    except DeviceKeyRejected as exc:
        raise Unauthorized(str(exc)) from None
    platform = platform_of(request)
    async with platform.db.transaction() as tx:
        user_id, created = await users.ensure_user(tx, WEB_CHANNEL, fingerprint, body.display_name)
        user = await users.get_user(tx, user_id)
    token, expires = platform.signer.mint(WEB_CHANNEL, fingerprint, issuer="device-key")
    return TokenIssued(
        token=token,
        expires_at=expires,
        user_id=user_id,
        is_new_device=created,
        display_name=user.name if user else None,
    )


@router.post("/api/auth/exchange", response_model=TokenIssued)
async def exchange(request: Request, body: ExchangeBody) -> TokenIssued:
    platform = platform_of(request)
    claims = platform.signer.verify(body.token)
    if claims is None or claims.purpose != "exchange":
        raise Unauthorized("Not a valid exchange token.")
    async with platform.db.transaction() as tx:
        if not await jtis.consume(tx, claims.jti, claims.exp):
            raise Unauthorized("This exchange token was already used.")
        user_id, _ = await users.ensure_user(tx, claims.channel, claims.channel_user_id)
        user = await users.get_user(tx, user_id)
    token, expires = platform.signer.mint(claims.channel, claims.channel_user_id, issuer=claims.issuer)
    return TokenIssued(
        token=token, expires_at=expires, user_id=user_id, display_name=user.name if user else None
    )


@router.post("/api/admin/auth/issue-token", response_model=TokenIssued, dependencies=[Depends(require_admin)])
async def issue_token(request: Request, body: IssueTokenBody) -> TokenIssued:
    if body.channel == "admin":
        raise Invalid("The channel 'admin' is reserved.")
    if body.purpose == "exchange" and (body.ttl_seconds or 0) > EXCHANGE_MAX_TTL_SECONDS:
        raise Invalid(f"Exchange tokens live at most {EXCHANGE_MAX_TTL_SECONDS} seconds.")
    platform = platform_of(request)
    async with platform.db.transaction() as tx:
        user_id, created = await users.ensure_user(tx, body.channel, body.channel_user_id, body.display_name)
        user = await users.get_user(tx, user_id)
    token, expires = platform.signer.mint(
        body.channel, body.channel_user_id, purpose=body.purpose, ttl=body.ttl_seconds, issuer="admin-issued"
    )
    return TokenIssued(
        token=token,
        expires_at=expires,
        user_id=user_id,
        is_new_device=created,
        display_name=user.name if user else None,
        purpose=body.purpose,
    )


@router.post("/api/users", dependencies=[Depends(require_admin)])
async def register_user(request: Request, body: UserBody) -> JSONResponse:
    async with platform_of(request).db.transaction() as tx:
        user_id, created = await users.ensure_user(tx, body.channel, body.channel_user_id, body.display_name)
    return JSONResponse({"userId": user_id, "created": created}, status_code=201 if created else 200)


@router.get("/api/users/me/agents", response_model=list[MyAgent])
async def my_agents(request: Request) -> list[MyAgent]:
    caller = await require_caller(request)
    if caller.kind != "user":
        raise Unauthorized("Only a user token has its own agents.")
    async with platform_of(request).db.transaction() as tx:
        user_id = await users.resolve(tx, caller.channel, caller.channel_user_id)
        found = await users.memberships_of(tx, user_id) if user_id else []
    return [MyAgent(agent_id=a, role=r, name=n, status=s) for a, r, n, s in found]
