"""Users, identities and per-agent memberships."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from openhermit.protocol.base import WireModel

Role = Literal["owner", "user", "guest"]


class UserRecord(WireModel):
    user_id: str
    name: str | None = None
    merged_into: str | None = None
    created_at: datetime
    updated_at: datetime


class Identity(WireModel):
    user_id: str
    channel: str
    channel_user_id: str
    created_at: datetime


class Membership(WireModel):
    user_id: str
    agent_id: str
    role: Role
    created_at: datetime
