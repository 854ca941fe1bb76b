"""The event log (`session_events`): append-only, read by id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from openhermit.store.engine import Tx
from openhermit.store.tables.sessions import SessionEvent


@dataclass(frozen=True)
class StoredEvent:
    id: int
    agent_id: str
    session_id: str
    ts: datetime
    event_type: str
    payload: dict[str, Any]
    content: str | None
    user_id: str | None


async def append_event(
    tx: Tx,
    agent_id: str,
    session_id: str,
    event_type: str,
    payload: dict[str, Any],
    *,
    content: str | None = None,
    user_id: str | None = None,
    turn_id: int | None = None,
) -> StoredEvent:
    stmt = (
        insert(SessionEvent)
        .values(
            agent_id=agent_id,
            session_id=session_id,
            event_type=event_type,
            payload=payload,
            content=content,
            user_id=user_id,
            turn_id=turn_id,
        )
        .returning(SessionEvent.id, SessionEvent.ts)
    )
    event_id, ts = (await tx.execute(stmt)).one()
    return StoredEvent(event_id, agent_id, session_id, ts, event_type, payload, content, user_id)


async def list_events(
    tx: Tx, agent_id: str, session_id: str, *, after: int = 0, limit: int = 1000
) -> list[StoredEvent]:
    """Events of a session with `id > after`, oldest first."""
    rows = await tx.execute(
        select(SessionEvent)
        .where(
            SessionEvent.agent_id == agent_id,
            SessionEvent.session_id == session_id,
            SessionEvent.id > after,
        )
        .order_by(SessionEvent.id)
        .limit(limit)
    )
    return [
        StoredEvent(r.id, r.agent_id, r.session_id, r.ts, r.event_type, r.payload, r.content, r.user_id)
        for r in rows.scalars()
    ]


async def count_events(tx: Tx) -> int:
    return int((await tx.execute(select(func.count()).select_from(SessionEvent))).scalar_one())
