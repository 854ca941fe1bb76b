"""Sessions: rows of `sessions`."""

from __future__ import annotations

from typing import Any, NamedTuple

import asyncpg
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from openhermit.protocol.sessions import (
    SessionRecord,
    SessionSource,
    SessionSpec,
    SessionStatus,
    SessionSummary,
)
from openhermit.store.driver import as_entity, driver
from openhermit.store.engine import DriverTx, Tx
from openhermit.store.like import ESCAPE, escape_like
from openhermit.store.repos.agents import SETUP_REVISION_COLUMNS, as_revision
from openhermit.store.repos.events import SINCE_INTROSPECTION, StoredEvent, prefixed_event
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
            concurrency=spec.concurrency,
            user_ids=user_ids or [],
        )
        .on_conflict_do_nothing()
    )
    return bool((await tx.execute(stmt)).rowcount)  # type: ignore[attr-defined]


def _record(row: Session) -> SessionRecord:
    return SessionRecord(
        agent_id=row.agent_id,
        session_id=row.session_id,
        source=SessionSource.model_validate(
            row.source or {"kind": row.source_kind, "interactive": row.interactive}
        ),
        type=row.type,  # type: ignore[arg-type]
        status=row.status,  # type: ignore[arg-type]
        created_at=row.created_at,
        last_activity_at=row.last_activity_at,
        message_count=row.message_count,
        completed_turn_count=row.completed_turn_count,
        description=row.description,
        description_source=row.description_source,
        last_message_preview=row.last_message_preview,
        working_memory=row.working_memory,
        custom_instruction=row.custom_instruction,
        concurrency=row.concurrency,  # type: ignore[arg-type]
        metadata=row.metadata_ or {},
        user_ids=list(row.user_ids or []),
    )


async def get_record(tx: Tx | DriverTx, agent_id: str, session_id: str) -> SessionRecord | None:
    row = await (await driver(tx)).fetchrow(_GET, agent_id, session_id)
    return _record(as_entity(Session, row)) if row else None


_GET = "SELECT * FROM sessions WHERE agent_id = $1 AND session_id = $2"


class Started(NamedTuple):
    session: SessionRecord
    setup_revision: tuple[int, int] | None  # the agent's setup revision (`agents.setup_revision`)


def session_columns(source: str, prefix: str) -> str:
    """The session columns of `source`, named `prefix` + column name (`started`)."""
    return ", ".join(f"{source}.{c.name} AS {prefix}{c.name}" for c in Session.__table__.columns)


def started(row: asyncpg.Record, prefix: str = "") -> Started:
    """What `START_RUNNING` returned (its session columns named `prefix` + column name)."""
    session = _record(as_entity(Session, row, prefix))
    return Started(session, as_revision(row["agent_revision"], row["fleet_revision"]))


def started_update(assignments: str, condition: str | None = None) -> str:
    """An UPDATE of the session $2 of agent $1 (`condition` holding) that returns what `started`
    reads: the session as updated and its agent's setup revision."""
    where = f" AND {condition}" if condition else ""
    return (
        f"UPDATE sessions SET {assignments}"
        f" FROM (SELECT {SETUP_REVISION_COLUMNS}) AS revision (agent_revision, fleet_revision)"
        f" WHERE agent_id = $1 AND session_id = $2{where}"
        " RETURNING sessions.*, revision.agent_revision, revision.fleet_revision"
    )


START_RUNNING = started_update(
    "status = 'running'",
    "EXISTS (SELECT 1 FROM turns WHERE agent_id = $1 AND session_id = $2 AND status = 'queued')",
)
"""Mark the session `running` if a turn of it is queued, taking its lock; the session and its
agent's setup revision (`started`). No row, and no lock, when nothing is queued."""


class ToIntrospect(NamedTuple):
    session: SessionRecord
    setup_revision: tuple[int, int] | None  # the agent's setup revision (`agents.setup_revision`)
    fresh: list[StoredEvent]  # the rows introspection has not seen yet, in id order


async def to_introspect(tx: Tx | DriverTx, agent_id: str, session_id: str) -> ToIntrospect | None:
    """What introspecting the session starts from, in one statement (None: no such session)."""
    rows = await (await driver(tx)).fetch(_TO_INTROSPECT, agent_id, session_id)
    if not rows:
        return None
    first = rows[0]
    fresh = [prefixed_event(row) for row in rows if row["event_id"] is not None]
    return ToIntrospect(
        _record(as_entity(Session, first)),
        as_revision(first["agent_revision"], first["fleet_revision"]),
        fresh,
    )


_TO_INTROSPECT = f"""
SELECT s.*, revision.agent_revision, revision.fleet_revision, fresh.*
FROM sessions s
CROSS JOIN (SELECT {SETUP_REVISION_COLUMNS}) AS revision (agent_revision, fleet_revision)
LEFT JOIN LATERAL ({SINCE_INTROSPECTION}) AS fresh ON true
WHERE s.agent_id = $1 AND s.session_id = $2
ORDER BY fresh.event_id
"""


class Locked(NamedTuple):
    session: SessionRecord
    concurrency: str | None  # the session's policy, else its agent's configured one (None: neither)


async def lock_session(tx: Tx | DriverTx, agent_id: str, session_id: str) -> Locked | None:
    """Read the session, with the concurrency policy that applies to it, and hold its row lock
    until the transaction ends.

    Accepting a message takes this lock first, so per session the order of turns, the order
    of stored messages and the concurrency-policy check all agree.
    """
    row = await (await driver(tx)).fetchrow(LOCK, agent_id, session_id)
    return Locked(_record(as_entity(Session, row)), row["applied_concurrency"]) if row else None


LOCK = """
SELECT s.*, s.xmin AS row_version, coalesce(
  s.concurrency, (SELECT a.config_json ->> 'concurrency' FROM agents a WHERE a.agent_id = s.agent_id)
) AS applied_concurrency
FROM sessions s WHERE s.agent_id = $1 AND s.session_id = $2 FOR UPDATE
"""
"""`lock_session`'s statement; with the version of the row it locked (`row_version`), the latest
one even when the statement had to wait for the lock."""


def unchanged_while_locking(locked: str) -> str:
    """SQL: whether the session row ($1, $2) that `locked` holds (its `row_version`, read again
    once the lock was granted) is the version the statement's snapshot saw. False when another
    transaction changed the session while the statement waited for its lock: what it read of
    the session's turns may then be out of date."""
    return f"{locked}.row_version = (SELECT xmin FROM sessions WHERE agent_id = $1 AND session_id = $2)"


async def get_session(tx: Tx, agent_id: str, session_id: str) -> SessionSummary | None:
    row = await tx.get(Session, (agent_id, session_id))
    return _summary(row) if row else None


async def list_sessions(
    tx: Tx,
    agent_id: str,
    *,
    kind: str | None = None,
    platform: str | None = None,
    interactive: bool | None = None,
    channel: str | None = None,
    limit: int = 100,
    include_inactive: bool = False,
    metadata: dict[str, Any] | None = None,
    participant: str | None = None,
    not_participant: str | None = None,
    id_prefix: str | None = None,
) -> list[SessionSummary]:
    stmt = (
        select(Session)
        .where(Session.agent_id == agent_id, Session.session_id != "inbox")
        .order_by(Session.last_activity_at.desc())
        .limit(limit)
    )
    if kind is not None:
        stmt = stmt.where(Session.source_kind == kind)
    if platform is not None:
        stmt = stmt.where(Session.source_platform == platform)
    if interactive is not None:
        stmt = stmt.where(Session.interactive.is_(interactive))
    if channel is not None:
        stmt = stmt.where(Session.session_id.like(f"{escape_like(channel)}:%", escape=ESCAPE))
    if not include_inactive:
        stmt = stmt.where(Session.status != "inactive")
    if participant is not None:
        stmt = stmt.where(Session.user_ids.contains([participant]))
    if not_participant is not None:
        stmt = stmt.where(
            ~Session.user_ids.contains([not_participant]), func.jsonb_array_length(Session.user_ids) > 0
        )
    if id_prefix is not None:
        stmt = stmt.where(Session.session_id.like(f"{escape_like(id_prefix)}%", escape=ESCAPE))
    if metadata:
        stmt = stmt.where(Session.metadata_.contains(metadata))
    return [_summary(row) for row in (await tx.execute(stmt)).scalars()]


async def set_session_status(tx: Tx, agent_id: str, session_id: str, status: SessionStatus) -> None:
    await tx.execute(
        update(Session)
        .where(Session.agent_id == agent_id, Session.session_id == session_id)
        .values(status=status)
    )


async def touch_session(tx: Tx | DriverTx, agent_id: str, session_id: str) -> None:
    """Mark activity in the session now."""
    await (await driver(tx)).execute(_TOUCH, agent_id, session_id)


_TOUCH = "UPDATE sessions SET last_activity_at = now() WHERE agent_id = $1 AND session_id = $2"


async def count_sessions(tx: Tx) -> int:
    return int((await tx.execute(select(func.count()).select_from(Session))).scalar_one())


class MessageCount(NamedTuple):
    """An accepted user message, as its session counts it."""

    preview: str  # the session's `last_message_preview`
    fallback_description: str  # the session's description until one is set


async def record_user_message(tx: Tx | DriverTx, agent_id: str, session_id: str, count: MessageCount) -> None:
    """Count an accepted message; the first one also becomes the fallback description."""
    await (await driver(tx)).execute(_RECORD_USER_MESSAGE, agent_id, session_id, *count)


def count_message_set(first: int) -> str:
    """The assignments that count a message on its session (`record_user_message`), with the
    `MessageCount` from parameter `$first` on."""
    return (
        f"message_count = message_count + 1, last_activity_at = now(), last_message_preview = ${first}, "
        f"description = coalesce(description, ${first + 1}), "
        "description_source = coalesce(description_source, 'fallback')"
    )


_RECORD_USER_MESSAGE = f"UPDATE sessions SET {count_message_set(3)} WHERE agent_id = $1 AND session_id = $2"


class TurnTally(NamedTuple):
    completed: int  # the session's completed-turn count
    waiting: bool  # other turns of the session are (or may be) still queued or running


async def set_working_memory(tx: Tx, agent_id: str, session_id: str, content: str) -> None:
    await tx.execute(
        update(Session)
        .where(Session.agent_id == agent_id, Session.session_id == session_id)
        .values(working_memory=content, working_memory_updated_at=func.now())
    )


async def set_description(tx: Tx, agent_id: str, session_id: str, description: str, source: str) -> None:
    await tx.execute(
        update(Session)
        .where(Session.agent_id == agent_id, Session.session_id == session_id)
        .values(description=description, description_source=source)
    )


async def delete_session(tx: Tx, agent_id: str, session_id: str) -> bool:
    """Remove the session row; its events stay in the log."""
    result = await tx.execute(
        delete(Session).where(Session.agent_id == agent_id, Session.session_id == session_id)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def add_participant(tx: Tx | DriverTx, agent_id: str, session_id: str, user_id: str) -> None:
    """Add a user to the session's participants (once)."""
    await (await driver(tx)).execute(_ADD_PARTICIPANT, agent_id, session_id, user_id)


_ADD_PARTICIPANT = """
UPDATE sessions SET user_ids = user_ids || jsonb_build_array($3::text)
WHERE agent_id = $1 AND session_id = $2 AND NOT user_ids @> jsonb_build_array($3::text)
"""
