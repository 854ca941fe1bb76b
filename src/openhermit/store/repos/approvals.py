"""Approval requests (`approval_requests`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, update

from openhermit.protocol.policies import ApprovalRecord
from openhermit.store.engine import Tx
from openhermit.store.tables.approvals import ApprovalRequest


def _record(row: ApprovalRequest) -> ApprovalRecord:
    return ApprovalRecord.model_validate(row, from_attributes=True)


async def create(
    tx: Tx,
    agent_id: str,
    session_id: str,
    requester_id: str,
    resource_type: str,
    resource_key: str,
    scope: dict[str, Any],
    ttl_minutes: int = 60,
) -> ApprovalRecord:
    row = ApprovalRequest(
        id=str(uuid.uuid4()),
        agent_id=agent_id,
        session_id=session_id,
        requester_id=requester_id,
        resource_type=resource_type,
        resource_key=resource_key,
        scope=scope,
        ttl_minutes=ttl_minutes,
    )
    tx.add(row)
    await tx.flush()
    await tx.refresh(row)
    return _record(row)


async def expire_stale(tx: Tx, agent_id: str) -> None:
    await tx.execute(
        update(ApprovalRequest)
        .where(
            ApprovalRequest.agent_id == agent_id,
            ApprovalRequest.status == "pending",
            ApprovalRequest.created_at + func.make_interval(0, 0, 0, 0, 0, ApprovalRequest.ttl_minutes)
            < func.now(),
        )
        .values(status="expired", resolved_at=func.now())
    )


async def list_requests(tx: Tx, agent_id: str, status: str | None = None) -> list[ApprovalRecord]:
    await expire_stale(tx, agent_id)
    stmt = (
        select(ApprovalRequest)
        .where(ApprovalRequest.agent_id == agent_id)
        .order_by(ApprovalRequest.short_id.desc())
    )
    if status is not None:
        stmt = stmt.where(ApprovalRequest.status == status)
    return [_record(r) for r in (await tx.execute(stmt)).scalars()]


async def get_request(
    tx: Tx, agent_id: str, *, request_id: str | None = None, short_id: int | None = None
) -> ApprovalRecord | None:
    await expire_stale(tx, agent_id)
    stmt = select(ApprovalRequest).where(ApprovalRequest.agent_id == agent_id)
    stmt = (
        stmt.where(ApprovalRequest.id == request_id)
        if request_id
        else stmt.where(ApprovalRequest.short_id == short_id)
    )
    row = (await tx.execute(stmt.with_for_update())).scalar_one_or_none()
    return _record(row) if row else None


async def resolve(
    tx: Tx, request_id: str, *, status: str, resolution: str | None, reviewer: str, reason: str | None
) -> None:
    await tx.execute(
        update(ApprovalRequest)
        .where(ApprovalRequest.id == request_id)
        .values(
            status=status, resolution=resolution, resolved_by=reviewer, reason=reason, resolved_at=func.now()
        )
    )


async def approved_for(
    tx: Tx, agent_id: str, requester_id: str, resource_type: str, resource_key: str
) -> str | None:
    """An approved, once-only request not yet used: its id (the caller marks it used)."""
    found = await tx.execute(
        select(ApprovalRequest.id)
        .where(
            ApprovalRequest.agent_id == agent_id,
            ApprovalRequest.requester_id == requester_id,
            ApprovalRequest.resource_type == resource_type,
            ApprovalRequest.resource_key == resource_key,
            ApprovalRequest.status == "approved",
            ApprovalRequest.resolution == "once",
        )
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return found.scalar_one_or_none()
