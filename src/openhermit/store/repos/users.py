"""Users, their channel identities and their per-agent roles."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from openhermit.protocol.users import Identity, Membership, Role, UserRecord
from openhermit.store.engine import Tx
from openhermit.store.tables.users import User, UserAgent, UserIdentity


async def insert_user(tx: Tx, user_id: str, name: str | None = None) -> UserRecord:
    row = (await tx.execute(insert(User).values(user_id=user_id, name=name).returning(User))).scalar_one()
    return UserRecord.model_validate(row, from_attributes=True)


async def get_user(tx: Tx, user_id: str) -> UserRecord | None:
    row = await tx.get(User, user_id)
    return UserRecord.model_validate(row, from_attributes=True) if row else None


async def link_identity(tx: Tx, user_id: str, channel: str, channel_user_id: str) -> Identity:
    stmt = (
        insert(UserIdentity)
        .values(user_id=user_id, channel=channel, channel_user_id=channel_user_id)
        .on_conflict_do_update(index_elements=["channel", "channel_user_id"], set_={"user_id": user_id})
        .returning(UserIdentity)
    )
    return Identity.model_validate((await tx.execute(stmt)).scalar_one(), from_attributes=True)


async def find_identity(tx: Tx, channel: str, channel_user_id: str) -> Identity | None:
    row = await tx.get(UserIdentity, (channel, channel_user_id))
    return Identity.model_validate(row, from_attributes=True) if row else None


async def set_role(tx: Tx, user_id: str, agent_id: str, role: Role) -> Membership:
    stmt = (
        insert(UserAgent)
        .values(user_id=user_id, agent_id=agent_id, role=role)
        .on_conflict_do_update(index_elements=["user_id", "agent_id"], set_={"role": role})
        .returning(UserAgent)
    )
    return Membership.model_validate((await tx.execute(stmt)).scalar_one(), from_attributes=True)


async def count_users(tx: Tx) -> int:
    return int((await tx.execute(select(func.count()).select_from(User))).scalar_one())
