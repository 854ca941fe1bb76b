"""Policy rows per agent (`agent_policies`)."""

from __future__ import annotations

import secrets as random
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert

from openhermit.protocol.policies import Grant, PolicyRecord
from openhermit.store.engine import Tx
from openhermit.store.tables.agents import AgentPolicy


def _record(row: AgentPolicy) -> PolicyRecord:
    return PolicyRecord(
        id=row.id,
        agent_id=row.agent_id,
        resource_type=row.resource_type,
        resource_key=row.resource_key,
        effect=row.effect,  # type: ignore[arg-type]
        grants=[Grant.model_validate(g) for g in row.grants],
        scope=row.scope or {},
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def list_policies(tx: Tx, agent_id: str, resource_type: str | None = None) -> list[PolicyRecord]:
    stmt = (
        select(AgentPolicy)
        .where(AgentPolicy.agent_id == agent_id)
        .order_by(AgentPolicy.resource_type, AgentPolicy.resource_key, AgentPolicy.effect)
    )
    if resource_type is not None:
        stmt = stmt.where(AgentPolicy.resource_type == resource_type)
    return [_record(r) for r in (await tx.execute(stmt)).scalars()]


async def upsert_policy(
    tx: Tx,
    agent_id: str,
    resource_type: str,
    resource_key: str,
    effect: str,
    grants: list[dict[str, Any]],
    scope: dict[str, Any] | None,
) -> PolicyRecord:
    stmt = (
        insert(AgentPolicy)
        .values(
            id=f"pol-{random.token_hex(8)}",
            agent_id=agent_id,
            resource_type=resource_type,
            resource_key=resource_key,
            effect=effect,
            grants=grants,
            scope=scope or {},
        )
        .on_conflict_do_update(
            index_elements=["agent_id", "resource_type", "resource_key", "effect"],
            set_={"grants": grants, "scope": scope or {}, "updated_at": func.now()},
        )
        .returning(AgentPolicy)
    )
    return _record((await tx.execute(stmt)).scalar_one())


async def delete_policy(
    tx: Tx, agent_id: str, resource_type: str, resource_key: str, effect: str | None
) -> int:
    stmt = delete(AgentPolicy).where(
        AgentPolicy.agent_id == agent_id,
        AgentPolicy.resource_type == resource_type,
        AgentPolicy.resource_key == resource_key,
    )
    if effect is not None:
        stmt = stmt.where(AgentPolicy.effect == effect)
    return int((await tx.execute(stmt)).rowcount)  # type: ignore[attr-defined]
