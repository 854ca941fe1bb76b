"""Sandbox rows (`sandboxes`): intent only (pending → provisioned → deleted), never live state."""

from __future__ import annotations

import secrets as random
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from openhermit.errors import Conflict
from openhermit.protocol.sandboxes import AdminSandboxRecord, SandboxRecord
from openhermit.store.engine import Tx
from openhermit.store.tables.agents import Agent
from openhermit.store.tables.sandboxes import Sandbox

LIVE = Sandbox.status != "deleted"


def _record(row: Sandbox) -> SandboxRecord:
    return SandboxRecord(
        id=row.id,
        agent_id=row.agent_id,
        alias=row.alias,
        type=row.type,
        external_id=row.external_id,
        status=row.status,  # type: ignore[arg-type]
        config=row.config or {},
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_seen_at=row.last_seen_at,
    )


async def list_sandboxes(tx: Tx, agent_id: str) -> list[SandboxRecord]:
    """The agent's live sandboxes, oldest first (the first is the default)."""
    stmt = select(Sandbox).where(Sandbox.agent_id == agent_id, LIVE).order_by(Sandbox.created_at, Sandbox.id)
    return [_record(r) for r in (await tx.execute(stmt)).scalars()]


async def get_sandbox(tx: Tx, agent_id: str, alias: str) -> SandboxRecord | None:
    stmt = select(Sandbox).where(Sandbox.agent_id == agent_id, Sandbox.alias == alias, LIVE)
    row = (await tx.execute(stmt)).scalar_one_or_none()
    return _record(row) if row else None


async def runtime_state(tx: Tx, sandbox_id: str) -> dict[str, Any]:
    value = (await tx.execute(select(Sandbox.runtime_state).where(Sandbox.id == sandbox_id))).scalar()
    return dict(value or {})


async def create_sandbox(
    tx: Tx, agent_id: str, alias: str, type_name: str, config: dict[str, Any], *, single: bool = False
) -> SandboxRecord:
    """Insert a pending row; 409 when the alias is taken, or (`single`) when any live sandbox of
    this type exists on the gateway."""
    if single:
        await tx.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"sandbox:{type_name}"}
        )
        taken = await tx.execute(select(Sandbox.agent_id).where(Sandbox.type == type_name, LIVE).limit(1))
        owner = taken.scalar_one_or_none()
        if owner is not None:
            raise Conflict(f"Only one {type_name} sandbox per gateway is allowed (agent {owner} has it).")
    stmt = (
        insert(Sandbox)
        .values(
            id=f"sbx-{random.token_hex(8)}",
            agent_id=agent_id,
            alias=alias,
            type=type_name,
            config=config,
            status="pending",
        )
        .on_conflict_do_nothing(index_elements=["agent_id", "alias"], index_where=text("status <> 'deleted'"))
        .returning(Sandbox)
    )
    row = (await tx.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise Conflict(f"Agent {agent_id} already has a sandbox named {alias}.")
    return _record(row)


async def mark_provisioned(tx: Tx, sandbox_id: str, external_id: str | None) -> None:
    """After a successful `ensure`: provisioned, its external id, last seen now."""
    await tx.execute(
        update(Sandbox)
        .where(Sandbox.id == sandbox_id, LIVE)
        .values(status="provisioned", external_id=external_id, last_seen_at=datetime.now(UTC))
    )


async def soft_delete(tx: Tx, agent_id: str, alias: str) -> SandboxRecord | None:
    stmt = (
        update(Sandbox)
        .where(Sandbox.agent_id == agent_id, Sandbox.alias == alias, LIVE)
        .values(status="deleted")
        .returning(Sandbox)
    )
    row = (await tx.execute(stmt)).scalar_one_or_none()
    return _record(row) if row else None


async def list_all(tx: Tx, *, include_deleted: bool = False) -> list[AdminSandboxRecord]:
    """Every sandbox row on the gateway with its agent's name (admin view)."""
    stmt = select(Sandbox, Agent.name).join(Agent, Agent.agent_id == Sandbox.agent_id)
    if not include_deleted:
        stmt = stmt.where(LIVE)
    rows = await tx.execute(stmt.order_by(Sandbox.agent_id, Sandbox.created_at))
    return [AdminSandboxRecord(**_record(row).model_dump(), agent_name=name) for row, name in rows.all()]


async def count_live(tx: Tx, agent_id: str) -> int:
    stmt = select(func.count()).select_from(Sandbox).where(Sandbox.agent_id == agent_id, LIVE)
    return int((await tx.execute(stmt)).scalar_one())
