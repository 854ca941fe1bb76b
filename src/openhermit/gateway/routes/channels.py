"""An agent's channels. External channels get a channel token, shown once at creation."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import Field

from openhermit.errors import Conflict, Invalid, NotConfigured, NotFound
from openhermit.gateway.lookup import access_for
from openhermit.gateway.state import platform_of
from openhermit.protocol.base import StrictWireModel, WireModel
from openhermit.secrets.channel_tokens import lookup_prefix, new_channel_token
from openhermit.store.repos import channels

router = APIRouter(tags=["channels"])
NAMESPACE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
RESERVED = {"admin", "cli", "web", "api", "schedule", "inbox"}


class CreateChannel(StrictWireModel):
    namespace: str = Field(min_length=1, max_length=32)
    label: str | None = Field(None, max_length=200)
    config: dict[str, Any] | None = None


class ChannelView(WireModel):
    id: str
    kind: str
    channel_type: str
    namespace: str
    label: str | None = None
    enabled: bool
    created_at: datetime
    revoked_at: datetime | None = None
    token_prefix: str | None = None


def _view(row: channels.ChannelRow) -> ChannelView:
    return ChannelView(
        id=row.id,
        kind=row.kind,
        channel_type=row.channel_type,
        namespace=row.namespace,
        label=row.label,
        enabled=row.enabled,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        token_prefix=row.token_prefix,
    )


@router.get("/api/agents/{agent_id}/channels", response_model=list[ChannelView])
async def list_channels(request: Request, agent_id: str) -> list[ChannelView]:
    await access_for(request, agent_id, owner=True)
    async with platform_of(request).db.transaction() as tx:
        return [_view(r) for r in await channels.list_channels(tx, agent_id)]


@router.post("/api/agents/{agent_id}/channels", status_code=201)
async def create_channel(request: Request, agent_id: str, body: CreateChannel) -> JSONResponse:
    _, access = await access_for(request, agent_id, owner=True)
    if not NAMESPACE.fullmatch(body.namespace) or body.namespace in RESERVED:
        raise Invalid(
            "namespace must be 1-32 lowercase letters, digits, '-' or '_', and not a reserved name."
        )
    platform = platform_of(request)
    if platform.cipher is None:
        raise NotConfigured("Channel tokens need OPENHERMIT_SECRETS_KEY (they are stored encrypted).")
    token = new_channel_token()
    async with platform.db.transaction() as tx:
        if await channels.namespace_taken(tx, agent_id, body.namespace):
            raise Conflict(f"Channel namespace {body.namespace} is already in use on {agent_id}.")
        row = await channels.insert_external(
            tx,
            agent_id,
            body.namespace,
            label=body.label,
            token_prefix=lookup_prefix(token),
            ciphertext=platform.cipher.encrypt(token),
            created_by=access.user_id or access.caller.kind,
            config=body.config,
        )
    return JSONResponse({**_view(row).wire(), "token": token}, status_code=201)


@router.delete("/api/agents/{agent_id}/channels/{channel_id}")
async def delete_channel(request: Request, agent_id: str, channel_id: str) -> dict[str, bool]:
    await access_for(request, agent_id, owner=True)
    async with platform_of(request).db.transaction() as tx:
        row = await channels.revoke(tx, agent_id, channel_id)
    if row is None:
        raise NotFound(f"Channel {channel_id} not found.")
    if row.kind != "external":
        raise Invalid("Built-in channels are disabled, not deleted.")
    return {"ok": True}
