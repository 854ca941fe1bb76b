"""Channel rows of an agent; external rows carry an encrypted channel token."""

from __future__ import annotations

import secrets as random
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from openhermit.store.engine import Tx
from openhermit.store.tables.channels import AgentChannel


@dataclass(frozen=True)
class ChannelRow:
    id: str
    agent_id: str
    kind: str
    channel_type: str
    namespace: str
    label: str | None
    enabled: bool
    config: dict[str, Any]
    token_prefix: str | None
    token_ciphertext: str | None
    created_at: datetime
    revoked_at: datetime | None


def _row(r: AgentChannel) -> ChannelRow:
    return ChannelRow(
        r.id,
        r.agent_id,
        r.kind,
        r.channel_type,
        r.namespace,
        r.label,
        r.enabled,
        r.config,
        r.token_prefix,
        r.token_ciphertext,
        r.created_at,
        r.revoked_at,
    )


async def insert_external(
    tx: Tx,
    agent_id: str,
    namespace: str,
    *,
    label: str | None,
    token_prefix: str,
    ciphertext: str,
    created_by: str | None,
    config: dict[str, Any] | None = None,
) -> ChannelRow:
    stmt = (
        insert(AgentChannel)
        .values(
            id=f"chr-{random.token_hex(8)}",
            agent_id=agent_id,
            kind="external",
            channel_type=namespace,
            namespace=namespace,
            label=label,
            enabled=True,
            config=config or {},
            token_prefix=token_prefix,
            token_ciphertext=ciphertext,
            created_by=created_by,
        )
        .returning(AgentChannel)
    )
    return _row((await tx.execute(stmt)).scalar_one())


async def list_channels(tx: Tx, agent_id: str) -> list[ChannelRow]:
    rows = await tx.execute(
        select(AgentChannel).where(AgentChannel.agent_id == agent_id).order_by(AgentChannel.created_at)
    )
    return [_row(r) for r in rows.scalars()]


async def candidates(tx: Tx, token_prefix: str) -> list[ChannelRow]:
    """Live external rows whose token starts like the presented one."""
    rows = await tx.execute(
        select(AgentChannel).where(
            AgentChannel.token_prefix == token_prefix,
            AgentChannel.revoked_at.is_(None),
            AgentChannel.kind == "external",
        )
    )
    return [_row(r) for r in rows.scalars()]


async def namespace_taken(tx: Tx, agent_id: str, namespace: str) -> bool:
    found = await tx.execute(
        select(AgentChannel.id).where(
            AgentChannel.agent_id == agent_id,
            AgentChannel.namespace == namespace,
            AgentChannel.revoked_at.is_(None),
        )
    )
    return found.first() is not None


async def revoke(tx: Tx, agent_id: str, channel_id: str) -> ChannelRow | None:
    """Soft-revoke an external channel (its token stops working); built-in rows are returned as is."""
    row = await tx.get(AgentChannel, channel_id)
    if row is None or row.agent_id != agent_id:
        return None
    current = _row(row)
    if current.kind != "external" or current.revoked_at is not None:
        return current
    updated = await tx.execute(
        update(AgentChannel)
        .where(AgentChannel.id == channel_id)
        .values(revoked_at=func.now(), enabled=False)
        .returning(AgentChannel)
        .execution_options(populate_existing=True)
    )
    return _row(updated.scalar_one())


async def touch(tx: Tx, channel_id: str) -> None:
    await tx.execute(
        update(AgentChannel).where(AgentChannel.id == channel_id).values(last_used_at=func.now())
    )
