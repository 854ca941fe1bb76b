"""Users, their channel identities and their per-agent roles."""

from __future__ import annotations

import secrets as random
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from openhermit.errors import NotFound
from openhermit.protocol.users import Identity, Membership, Role, UserRecord
from openhermit.store.engine import Tx
from openhermit.store.tables.agents import Agent
from openhermit.store.tables.sessions import SessionEvent
from openhermit.store.tables.users import User, UserAgent, UserIdentity


def new_user_id() -> str:
    return f"usr-{random.token_hex(6)}"


async def insert_user(tx: Tx, user_id: str, name: str | None = None) -> UserRecord:
    row = (await tx.execute(insert(User).values(user_id=user_id, name=name).returning(User))).scalar_one()
    return UserRecord.model_validate(row, from_attributes=True)


async def get_user(tx: Tx, user_id: str) -> UserRecord | None:
    row = await tx.get(User, user_id)
    return UserRecord.model_validate(row, from_attributes=True) if row else None


async def require_user(tx: Tx, user_id: str) -> UserRecord:
    """The user, or `NotFound` (404) when no user has this id."""
    found = await get_user(tx, user_id)
    if found is None:
        raise NotFound(f"User {user_id} not found.")
    return found


async def set_name(tx: Tx, user_id: str, name: str) -> None:
    await tx.execute(update(User).where(User.user_id == user_id).values(name=name, updated_at=func.now()))


async def find_identity(tx: Tx, channel: str, channel_user_id: str) -> Identity | None:
    row = await tx.get(UserIdentity, (channel, channel_user_id))
    return Identity.model_validate(row, from_attributes=True) if row else None


async def resolve(tx: Tx, channel: str, channel_user_id: str) -> str | None:
    """The user behind an identity, following merges."""
    identity = await find_identity(tx, channel, channel_user_id)
    if identity is None:
        return None
    user_id = identity.user_id
    for _ in range(8):
        merged = (
            await tx.execute(select(User.merged_into).where(User.user_id == user_id))
        ).scalar_one_or_none()
        if not merged:
            break
        user_id = merged
    return user_id


async def ensure_user(
    tx: Tx, channel: str, channel_user_id: str, display_name: str | None = None
) -> tuple[str, bool]:
    """The user of an identity, created (with the identity) on first sight. Returns (id, created)."""
    found = await resolve(tx, channel, channel_user_id)
    if found is not None:
        if display_name:
            await set_name(tx, found, display_name)
        return found, False
    user_id = new_user_id()
    await insert_user(tx, user_id, display_name)
    await tx.execute(
        insert(UserIdentity).values(user_id=user_id, channel=channel, channel_user_id=channel_user_id)
    )
    return user_id, True


async def identities_of(tx: Tx, user_id: str) -> list[Identity]:
    rows = await tx.execute(
        select(UserIdentity).where(UserIdentity.user_id == user_id).order_by(UserIdentity.created_at)
    )
    return [Identity.model_validate(r, from_attributes=True) for r in rows.scalars()]


async def _drop_if_orphan(tx: Tx, user_id: str, heir: str) -> bool:
    """A user left without identities is folded into `heir` (events reassigned) and deleted."""
    left = (
        await tx.execute(
            select(func.count()).select_from(UserIdentity).where(UserIdentity.user_id == user_id)
        )
    ).scalar_one()
    if left:
        return False
    await tx.execute(update(SessionEvent).where(SessionEvent.user_id == user_id).values(user_id=heir))
    await tx.execute(delete(UserAgent).where(UserAgent.user_id == user_id))
    await tx.execute(delete(User).where(User.user_id == user_id))
    return True


async def link_identity(tx: Tx, user_id: str, channel: str, channel_user_id: str) -> Identity:
    """Attach the identity to the user; a previous owner left with none is removed."""
    previous = await find_identity(tx, channel, channel_user_id)
    stmt = (
        insert(UserIdentity)
        .values(user_id=user_id, channel=channel, channel_user_id=channel_user_id)
        .on_conflict_do_update(index_elements=["channel", "channel_user_id"], set_={"user_id": user_id})
        .returning(UserIdentity)
    )
    linked = Identity.model_validate((await tx.execute(stmt)).scalar_one(), from_attributes=True)
    if previous is not None and previous.user_id != user_id:
        await _drop_if_orphan(tx, previous.user_id, user_id)
    return linked


async def unlink_identity(tx: Tx, channel: str, channel_user_id: str) -> bool:
    result = await tx.execute(
        delete(UserIdentity).where(
            UserIdentity.channel == channel, UserIdentity.channel_user_id == channel_user_id
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def merge(tx: Tx, source: str, target: str) -> None:
    """Move identities, memberships (target's own win) and event authorship; delete the source."""
    await tx.execute(update(UserIdentity).where(UserIdentity.user_id == source).values(user_id=target))
    kept = select(UserAgent.agent_id).where(UserAgent.user_id == target)
    await tx.execute(
        update(UserAgent)
        .where(UserAgent.user_id == source, UserAgent.agent_id.not_in(kept))
        .values(user_id=target)
    )
    await tx.execute(delete(UserAgent).where(UserAgent.user_id == source))
    await tx.execute(update(SessionEvent).where(SessionEvent.user_id == source).values(user_id=target))
    await tx.execute(delete(User).where(User.user_id == source))


# Memberships --------------------------------------------------------------------------------
async def set_role(tx: Tx, user_id: str, agent_id: str, role: Role) -> Membership:
    stmt = (
        insert(UserAgent)
        .values(user_id=user_id, agent_id=agent_id, role=role)
        .on_conflict_do_update(index_elements=["user_id", "agent_id"], set_={"role": role})
        .returning(UserAgent)
    )
    return Membership.model_validate((await tx.execute(stmt)).scalar_one(), from_attributes=True)


async def add_role_if_absent(tx: Tx, user_id: str, agent_id: str, role: Role) -> None:
    await tx.execute(
        insert(UserAgent).values(user_id=user_id, agent_id=agent_id, role=role).on_conflict_do_nothing()
    )


async def role_of(tx: Tx, user_id: str, agent_id: str) -> Role | None:
    found = await tx.execute(
        select(UserAgent.role).where(UserAgent.user_id == user_id, UserAgent.agent_id == agent_id)
    )
    return found.scalar_one_or_none()  # type: ignore[return-value]


async def remove_member(tx: Tx, user_id: str, agent_id: str) -> bool:
    result = await tx.execute(
        delete(UserAgent).where(UserAgent.user_id == user_id, UserAgent.agent_id == agent_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def owner_of(tx: Tx, agent_id: str) -> str | None:
    found = await tx.execute(
        select(UserAgent.user_id).where(UserAgent.agent_id == agent_id, UserAgent.role == "owner").limit(1)
    )
    return found.scalar_one_or_none()


@dataclass(frozen=True)
class MemberView:
    user_id: str
    role: str
    created_at: datetime
    display_name: str | None
    identities: list[Identity]


async def members(tx: Tx, agent_id: str) -> list[MemberView]:
    rows = (
        await tx.execute(
            select(UserAgent.user_id, UserAgent.role, UserAgent.created_at, User.name)
            .join(User, User.user_id == UserAgent.user_id, isouter=True)
            .where(UserAgent.agent_id == agent_id)
            .order_by(UserAgent.created_at)
        )
    ).all()
    return [MemberView(u, r, c, n, await identities_of(tx, u)) for u, r, c, n in rows]


async def memberships_of(tx: Tx, user_id: str) -> list[tuple[str, str, str | None, str]]:
    """(agent id, role, agent name, agent status) for each agent the user belongs to."""
    rows = await tx.execute(
        select(UserAgent.agent_id, UserAgent.role, Agent.name, Agent.status)
        .join(Agent, Agent.agent_id == UserAgent.agent_id)
        .where(UserAgent.user_id == user_id)
        .order_by(UserAgent.agent_id)
    )
    return [(a, r, n, s) for a, r, n, s in rows]


@dataclass(frozen=True)
class UserSummary:
    user_id: str
    name: str | None
    created_at: datetime
    updated_at: datetime
    identity_count: int
    agent_count: int


async def list_users(tx: Tx) -> list[UserSummary]:
    identities = (
        select(func.count())
        .select_from(UserIdentity)
        .where(UserIdentity.user_id == User.user_id)
        .scalar_subquery()
    )
    agents_n = (
        select(func.count()).select_from(UserAgent).where(UserAgent.user_id == User.user_id).scalar_subquery()
    )
    rows = await tx.execute(
        select(User.user_id, User.name, User.created_at, User.updated_at, identities, agents_n).order_by(
            User.created_at
        )
    )
    return [UserSummary(*row) for row in rows]


async def count_users(tx: Tx) -> int:
    return int((await tx.execute(select(func.count()).select_from(User))).scalar_one())
