"""Sessions: rows of `sessions`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from openhermit.protocol.sessions import SessionSource, SessionSpec, SessionStatus, SessionSummary
from openhermit.store.engine import Tx
from openhermit.store.tables.sessions import Session


def _summary(row: Session) -> SessionSummary:
    return SessionSummary(
        session_id=row.session_id,
        source=SessionSource.model_validate(
            row.source or {"kind": row.source_kind, "interactive": row.interactive}
        ),
        created_at=row.created_at,
        last_activity_at=row.last_activity_at,
        message_count=row.message_count,
        description=row.description,
        last_message_preview=row.last_message_preview,
        status=row.status,  # type: ignore[arg-type]
        metadata=row.metadata_ or None,
        user_ids=list(row.user_ids or []) or None,
    )


async def insert_session(
    tx: Tx, agent_id: str, spec: SessionSpec, *, user_ids: list[str] | None = None
) -> bool:
    """Create the session; False when it already exists (the existing row is kept)."""
    stmt = (
        insert(Session)
        .values(
            agent_id=agent_id,
            session_id=spec.session_id,
            source_kind=spec.source.kind,
            source_platform=spec.source.platform,
            source=spec.source.wire(),
            interactive=spec.source.interactive,
            metadata_=spec.metadata or {},
            type=spec.source.type or "direct",
            custom_instruction=spec.custom_instruction,
            user_ids=user_ids or [],
        )
        .on_conflict_do_nothing()
    )
    return bool((await tx.execute(stmt)).rowcount)  # type: ignore[attr-defined]


async def get_session(tx: Tx, agent_id: str, session_id: str) -> SessionSummary | None:
    row = await tx.get(Session, (agent_id, session_id))
    return _summary(row) if row else None


async def list_sessions(
    tx: Tx,
    agent_id: str,
    *,
    kind: str | None = None,
    limit: int = 100,
    include_inactive: bool = False,
    metadata: dict[str, Any] | None = None,
) -> list[SessionSummary]:
    stmt = (
        select(Session)
        .where(Session.agent_id == agent_id, Session.session_id != "inbox")
        .order_by(Session.last_activity_at.desc())
        .limit(limit)
    )
    if kind is not None:
        stmt = stmt.where(Session.source_kind == kind)
    if not include_inactive:
        stmt = stmt.where(Session.status != "inactive")
    if metadata:
        stmt = stmt.where(Session.metadata_.contains(metadata))
    return [_summary(row) for row in (await tx.execute(stmt)).scalars()]


async def set_session_status(tx: Tx, agent_id: str, session_id: str, status: SessionStatus) -> None:
    await tx.execute(
        update(Session)
        .where(Session.agent_id == agent_id, Session.session_id == session_id)
        .values(status=status)
    )


async def touch_session(tx: Tx, agent_id: str, session_id: str, at: datetime | None = None) -> None:
    await tx.execute(
        update(Session)
        .where(Session.agent_id == agent_id, Session.session_id == session_id)
        .values(last_activity_at=at or func.now())
    )


async def count_sessions(tx: Tx) -> int:
    return int((await tx.execute(select(func.count()).select_from(Session))).scalar_one())
