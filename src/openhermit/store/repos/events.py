"""The event log (`session_events`): append-only, read by id."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from sys import intern
from typing import Any, NamedTuple

import asyncpg
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert

from openhermit.store.driver import driver, to_json
from openhermit.store.engine import DriverTx, Tx
from openhermit.store.notify import CHANNEL
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
    turn_id: int | None = None


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
    return StoredEvent(event_id, agent_id, session_id, ts, event_type, payload, content, user_id, turn_id)


@dataclass(frozen=True)
class EventDraft:
    """A row to insert into the log (its id and time come from the database)."""

    event_type: str
    payload: dict[str, Any]
    content: str | None = None
    user_id: str | None = None


async def append_events(
    tx: Tx | DriverTx,
    agent_id: str,
    session_id: str,
    drafts: list[EventDraft],
    *,
    turn_id: int | None = None,
    announce: dict[str, Any] | None = None,
) -> list[StoredEvent]:
    """Insert several rows in one statement; ids follow the order of `drafts`.

    With `announce`, the same statement also queues a notification (delivered at commit):
    `announce` with the first and last new ids added as `from` and `id`.
    """
    if not drafts:
        return []
    params = [agent_id, session_id, turn_id, *draft_params(drafts), *notice_params(announce)]
    sql = insert_rows_sql(len(drafts), 4) if announce is None else _insert_announcing_sql(len(drafts))
    rows = await (await driver(tx)).fetch(sql, *params)
    return stored_events(agent_id, session_id, turn_id, drafts, [(r[0], r[1]) for r in rows])


def draft_params(drafts: list[EventDraft]) -> list[Any]:
    """The parameters of `insert_rows_sql`'s rows, four per draft."""
    params: list[Any] = []
    for d in drafts:
        params += [d.event_type, to_json(d.payload), d.content, d.user_id]
    return params


def stored_events(
    agent_id: str,
    session_id: str,
    turn_id: int | None,
    drafts: list[EventDraft],
    assigned: list[tuple[int, datetime]],
) -> list[StoredEvent]:
    """The drafts as stored, given the (id, ts) pairs an insert returned in any order: identity
    values follow the order of the inserted rows."""
    return [
        StoredEvent(
            event_id, agent_id, session_id, ts, d.event_type, d.payload, d.content, d.user_id, turn_id
        )
        for (event_id, ts), d in zip(sorted(assigned), drafts, strict=True)
    ]


@cache
def insert_rows_sql(
    count: int, first: int, when: str | None = None, returning: str = "id, ts", turn: str = "$3::bigint"
) -> str:
    """An INSERT of `count` rows returning (id, ts): $1 agent, $2 session, the turn id `turn`
    ($3 unless given), and four parameters per row from `$first` on (`draft_params`); only if
    the condition `when` holds."""
    rows = [
        f"(${first + 4 * i}::text, ${first + 1 + 4 * i}::jsonb, ${first + 2 + 4 * i}::text,"
        f" ${first + 3 + 4 * i}::text)"
        for i in range(count)
    ]
    return (
        "INSERT INTO session_events (agent_id, session_id, event_type, payload, content, user_id, turn_id)"
        f" SELECT $1::text, $2::text, v.event_type, v.payload, v.content, v.user_id, {turn}"
        f" FROM (VALUES {', '.join(rows)}) AS v(event_type, payload, content, user_id)"
        f"{f' WHERE {when}' if when else ''} RETURNING {returning}"
    )


def announcing_cte(inserted: str, channel: int, message: int) -> str:
    """A CTE `sent` that queues one notice of the rows of the CTE `inserted` (none when it is
    empty): the message parameter with the first and last new ids added as `from` and `id`."""
    return (
        f"sent AS (SELECT pg_notify(${channel}::text, (${message}::jsonb"
        f" || jsonb_build_object('from', min(id), 'id', max(id)))::text) FROM {inserted}"
        " HAVING count(*) > 0)"
    )


@cache
def _insert_announcing_sql(count: int) -> str:
    """The insert and one `pg_notify` in a single round trip (joining `sent`, one row, keeps the
    inserted rows and makes PostgreSQL evaluate it)."""
    return (
        f"WITH inserted AS ({insert_rows_sql(count, 4)}),"
        f" {announcing_cte('inserted', 4 + 4 * count, 5 + 4 * count)}"
        " SELECT inserted.id, inserted.ts FROM inserted, sent"
    )


COLUMNS = (
    SessionEvent.id,
    SessionEvent.agent_id,
    SessionEvent.session_id,
    SessionEvent.ts,
    SessionEvent.event_type,
    SessionEvent.payload,
    SessionEvent.content,
    SessionEvent.user_id,
    SessionEvent.turn_id,
)


async def list_events(
    tx: Tx, agent_id: str, session_id: str, *, after: int = 0, limit: int = 1000
) -> list[StoredEvent]:
    """Events of a session with `id > after`, oldest first (plain rows: this is the replay path)."""
    rows = await tx.execute(
        select(*COLUMNS)
        .where(
            SessionEvent.agent_id == agent_id,
            SessionEvent.session_id == session_id,
            SessionEvent.id > after,
        )
        .order_by(SessionEvent.id)
        .limit(limit)
    )
    return [StoredEvent(*row) for row in rows]


async def count_events(tx: Tx) -> int:
    return int((await tx.execute(select(func.count()).select_from(SessionEvent))).scalar_one())


HISTORY_TYPES = ("tool_call", "tool_result", "introspection_start", "introspection_end")
CONTEXT_TYPES = ("user", "assistant", "tool_result")


def _stored(r: SessionEvent) -> StoredEvent:
    return StoredEvent(
        r.id, r.agent_id, r.session_id, r.ts, r.event_type, r.payload, r.content, r.user_id, r.turn_id
    )


async def list_history(tx: Tx, agent_id: str, session_id: str, *, limit: int = 10_000) -> list[StoredEvent]:
    """Rows a transcript shows: those with content, and tool/introspection rows, in log order.

    The id is the order: timestamps come from transaction start and may interleave.
    """
    rows = await tx.execute(
        select(SessionEvent)
        .where(
            SessionEvent.agent_id == agent_id,
            SessionEvent.session_id == session_id,
            or_(SessionEvent.content.is_not(None), SessionEvent.event_type.in_(HISTORY_TYPES)),
        )
        .order_by(SessionEvent.id)
        .limit(limit)
    )
    return [_stored(r) for r in rows.scalars()]


class Context(NamedTuple):
    """What a model context is rebuilt from."""

    compaction: StoredEvent | None  # the last compaction, if any
    history: list[StoredEvent]  # the rows it did not summarise (from its `upToEventId` on)
    last_id: int = 0  # the highest id among the rows it was read from

    def extended(self, rows: Iterable[StoredEvent]) -> Context:
        """This context with later rows (in id order) applied: context rows are added (not
        introspection's), and a compaction drops the rows it summarised. Never changes `self`."""
        compaction, history, last_id = self.compaction, list(self.history), self.last_id
        for row in rows:
            last_id = max(last_id, row.id)
            if row.event_type == "context_compaction":
                compaction = row
                start = row.payload.get("upToEventId") or row.id
                history = [kept for kept in history if kept.id >= start]
            elif row.event_type in CONTEXT_TYPES and not row.payload.get("introspection"):
                history.append(row)  # introspection's own rows are never part of a context
        return Context(compaction, history, last_id)


async def context_events(tx: Tx | DriverTx, agent_id: str, session_id: str) -> Context:
    """The session's context, in one statement."""
    rows = await (await driver(tx)).fetch(_CONTEXT, agent_id, session_id)
    return Context(None, []).extended(map(context_event, rows))


async def append_with_context(
    tx: Tx | DriverTx,
    agent_id: str,
    session_id: str,
    drafts: list[EventDraft],
    *,
    turn_id: int | None,
    announce: dict[str, Any] | None = None,
    known: Context | None = None,
) -> tuple[list[StoredEvent], Context]:
    """`append_events` and then `context_events`, in one statement: the rows as stored, and the
    context with them. With `known`, the session's context as read before, only the rows
    stored since (ids above its `last_id`) are read, and applied to it.

    `known` is complete only if no context row with a lower id can commit later: every writer
    of a session's context rows holds the session's lock (messages) or runs its turn (answers,
    tool results, compactions), and the caller holds the lock with no turn running.
    """
    params = [agent_id, session_id, turn_id, *draft_params(drafts), *notice_params(announce)]
    if known is not None:
        params.append(known.last_id)
    sql = _append_with_context_sql(len(drafts), announce is not None, known is not None)
    rows = await (await driver(tx)).fetch(sql, *params)
    assigned = [(r["id"], r["ts"]) for r in rows if r["fresh"]]
    stored = stored_events(agent_id, session_id, turn_id, drafts, assigned)
    # The statement's reads do not see its own rows; all they see was committed before, with
    # lower ids, so the new rows go last.
    earlier = [context_event(row[1:]) for row in rows if not row["fresh"]]
    return stored, (known or Context(None, [])).extended([*earlier, *stored])


EVENT_COLUMNS = ", ".join(c.name for c in COLUMNS)
# Bookkeeping in a row's payload that no model context reads (which request, which model, at
# what cost): context reads leave it out, so kept contexts hold and decode less (an answer's
# `usage` block alone is three dictionaries).
_NOT_IN_CONTEXT = ("correlationId", "final", "model", "provider", "stopReason", "usage")
_CONTEXT_COLUMNS = ", ".join(
    f"payload - '{{{','.join(_NOT_IN_CONTEXT)}}}'::text[] AS payload" if c.name == "payload" else c.name
    for c in COLUMNS
)


def context_event(values: Sequence[Any]) -> StoredEvent:
    """A row of `EVENT_COLUMNS` read for a model context as a `StoredEvent` whose repeated
    strings (agent, session, type, user) are shared: kept contexts hold thousands of rows that
    name the same few."""
    event_id, agent_id, session_id, ts, event_type, payload, content, user_id, turn_id = values
    user = intern(user_id) if user_id is not None else None
    return StoredEvent(
        event_id,
        intern(agent_id),
        intern(session_id),
        ts,
        intern(event_type),
        payload,
        content,
        user,
        turn_id,
    )


_CONTEXT_TYPES = ", ".join(f"'{t}'" for t in CONTEXT_TYPES)
_CONTEXT_ROWS = f"""
compaction AS (
  SELECT {_CONTEXT_COLUMNS} FROM session_events
  WHERE agent_id = $1 AND session_id = $2 AND event_type = 'context_compaction'
  ORDER BY id DESC LIMIT 1
), context AS (
  SELECT * FROM compaction
  UNION ALL
  SELECT {_CONTEXT_COLUMNS} FROM session_events
  WHERE agent_id = $1 AND session_id = $2 AND event_type IN ({_CONTEXT_TYPES})
    AND id >= coalesce((SELECT coalesce((payload ->> 'upToEventId')::bigint, id) FROM compaction), 0)
)"""
_CONTEXT = f"WITH {_CONTEXT_ROWS} SELECT * FROM context ORDER BY id"


def notice_params(announce: dict[str, Any] | None) -> list[Any]:
    """The notice's parameters (`announcing_cte`): its channel and message, none without one."""
    return [CHANNEL, to_json(announce)] if announce is not None else []


def context_read_sql(after: str | None) -> tuple[str, str]:
    """Reading a session's context ($1 agent, $2 session) inside a larger statement: the CTEs it
    needs (empty, or starting with a comma) and a SELECT of `EVENT_COLUMNS` (bookkeeping left out
    of the payload: read the rows with `context_event`). With `after`, an
    SQL expression for a known context's last id: only the rows after it that change a context
    (`Context.extended` applies them; after 0, every such row, from which `extended` builds the
    whole context)."""
    if after is None:
        return f", {_CONTEXT_ROWS[1:]}", "SELECT * FROM context"
    return "", (
        f"SELECT {_CONTEXT_COLUMNS} FROM session_events"
        f" WHERE agent_id = $1 AND session_id = $2 AND id > {after}"
        f" AND event_type IN ({_CONTEXT_TYPES}, 'context_compaction')"
    )


@cache
def _append_with_context_sql(count: int, announce: bool, since: bool) -> str:
    inserted = insert_rows_sql(count, 4, returning=EVENT_COLUMNS)
    sent = f", {announcing_cte('inserted', 4 + 4 * count, 5 + 4 * count)}" if announce else ""
    ctes, read = context_read_sql(f"${4 + 4 * count + (2 if announce else 0)}::bigint" if since else None)
    return (
        f"WITH inserted AS ({inserted}){sent}{ctes}"
        f" SELECT false AS fresh, * FROM ({read}) AS earlier"
        f" UNION ALL SELECT true, inserted.* FROM inserted{', sent' if announce else ''} ORDER BY id"
    )


_PREFIXED = tuple(f"event_{c.name}" for c in COLUMNS)
_PREFIXED_COLUMNS = ", ".join(f"{c.name} AS {name}" for c, name in zip(COLUMNS, _PREFIXED, strict=True))
SINCE_INTROSPECTION = f"""
SELECT {_PREFIXED_COLUMNS} FROM session_events
WHERE agent_id = $1 AND session_id = $2 AND event_type IN ('user', 'assistant', 'error')
  AND content IS NOT NULL
  AND id > coalesce((
    SELECT max(id) FROM session_events
    WHERE agent_id = $1 AND session_id = $2 AND event_type = 'introspection_end'
  ), 0)
"""
"""User, assistant and error rows not yet seen by introspection, of the session $2 of agent $1,
their columns named `event_` + column name (`prefixed_event`)."""


def prefixed_columns(source: str) -> str:
    """The event columns of `source` (rows of `EVENT_COLUMNS`), named as `prefixed_event` reads them."""
    return ", ".join(f"{source}.{c.name} AS {name}" for c, name in zip(COLUMNS, _PREFIXED, strict=True))


def prefixed_event(row: asyncpg.Record) -> StoredEvent:
    """A row of `SINCE_INTROSPECTION`, or of `prefixed_columns`."""
    return context_event([row[name] for name in _PREFIXED])


async def last_event_id(tx: Tx, agent_id: str, session_id: str) -> int:
    found = (
        await tx.execute(
            select(func.max(SessionEvent.id)).where(
                SessionEvent.agent_id == agent_id, SessionEvent.session_id == session_id
            )
        )
    ).scalar_one()
    return int(found or 0)


async def first_event_of_turn(tx: Tx, turn_id: int) -> int | None:
    found = (
        await tx.execute(select(func.min(SessionEvent.id)).where(SessionEvent.turn_id == turn_id))
    ).scalar_one()
    return int(found) if found is not None else None


async def backlog_start(tx: Tx, agent_id: str, session_id: str, count: int) -> int:
    """The cursor after which the session's last `count` events lie."""
    found = (
        await tx.execute(
            select(SessionEvent.id)
            .where(SessionEvent.agent_id == agent_id, SessionEvent.session_id == session_id)
            .order_by(SessionEvent.id.desc())
            .offset(count - 1)
            .limit(1)
        )
    ).scalar_one_or_none()
    return int(found) - 1 if found is not None else 0
