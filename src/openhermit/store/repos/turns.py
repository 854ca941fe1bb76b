"""Turns: the per-session queue of messages that run the model, with leases.

One turn per session may be `running`: a partial unique index enforces it in PostgreSQL,
so the rule holds across every gateway process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

import asyncpg
from sqlalchemy import func, select, text, update

from openhermit.store.driver import as_entity, driver, to_json
from openhermit.store.engine import DriverTx, Tx
from openhermit.store.repos import events, sessions
from openhermit.store.repos.events import EventDraft, StoredEvent
from openhermit.store.repos.sessions import Started, TurnTally
from openhermit.store.tables.sessions import Turn

TERMINAL = ("completed", "error", "interrupted", "cancelled")


class SessionBusy(Exception):
    """Another turn of the session is running; the caller's transaction is spoilt and must end."""


@dataclass(frozen=True)
class TurnRow:
    id: int
    agent_id: str
    session_id: str
    message_id: str | None
    status: str
    request: dict[str, Any]
    result: dict[str, Any] | None
    created_at: datetime
    interrupt_requested: bool = False


def turn_columns(source: str) -> str:
    """The turn columns of `source`, named `turn_` + column name (`prefixed_turn`)."""
    return ", ".join(f"{source}.{c.name} AS turn_{c.name}" for c in Turn.__table__.columns)


def prefixed_turn(row: asyncpg.Record) -> TurnRow | None:
    """The turn of a row with `turn_columns`, None when they are null (no turn)."""
    return _row(as_entity(Turn, row, "turn_")) if row["turn_id"] is not None else None


def _row(turn: Turn) -> TurnRow:
    """A turn from an ORM row, or from a driver row through `as_entity`."""
    return TurnRow(
        turn.id,
        turn.agent_id,
        turn.session_id,
        turn.message_id,
        turn.status,
        turn.request,
        turn.result,
        turn.created_at,
        turn.interrupt_requested,
    )


class Lease(NamedTuple):
    owner: str  # the gateway process that runs the turn
    seconds: float


class Queued(NamedTuple):
    turn: TurnRow | None  # None: a turn with this `message_id` exists already
    started: Started | None  # the turn started at once: the session, now running, and its
    # agent's setup revision (as `claim_next` gives them)


async def queue_turn(
    tx: Tx | DriverTx,
    agent_id: str,
    session_id: str,
    *,
    message_id: str | None,
    request: dict[str, Any],
    counting: sessions.MessageCount,
    start: Lease | None = None,
) -> Queued:
    """Queue a turn and count its message on the session (`sessions.record_user_message`), in
    one statement. With `start`, a turn that would be first in an empty queue is instead marked
    running at once under that lease, and the session with it: what `claim_next` would do next,
    without its round trip and its second write of both rows.

    The caller holds the session's lock (`sessions.lock_session`), so the statement reads every
    queued and running turn of the session, and the one-running-turn index cannot be hit."""
    lease = start or Lease("", 0.0)
    params = [agent_id, session_id, message_id, to_json(request), *counting, start is not None, *lease]
    row = await (await driver(tx)).fetchrow(_QUEUE, *params)
    if row is None:  # no such session
        return Queued(None, None)
    turn = prefixed_turn(row)
    began = turn is not None and turn.status == "running"
    return Queued(turn, sessions.started(row) if began else None)


def queue_sql(source: str, count_when: str | None = None) -> str:
    """CTEs `turn` and `counted`: the turn inserted from `source` (a row source with a boolean
    `start`), running under the lease when `start`, else queued; the message counted on the
    session (if `count_when` holds), marked running if its turn started (what `started` reads).
    Parameters: $1 agent, $2 session, $3 message id, $4 request, $5 $6 the `MessageCount`,
    $8 $9 the `Lease`."""
    counted = sessions.started_update(
        f"{sessions.count_message_set(5)},"
        " status = CASE WHEN (SELECT status FROM turn) = 'running' THEN 'running' ELSE sessions.status END",
        count_when,
    )
    return f"""turn AS (
  INSERT INTO turns (agent_id, session_id, message_id, request, status, lease_owner, started_at,
    lease_expires_at)
  SELECT $1, $2, $3, $4, CASE WHEN start THEN 'running' ELSE 'queued' END,
    CASE WHEN start THEN $8 END, CASE WHEN start THEN now() END,
    CASE WHEN start THEN now() + make_interval(secs => $9) END
  FROM {source}
  ON CONFLICT (agent_id, session_id, message_id) WHERE message_id IS NOT NULL DO NOTHING
  RETURNING *
), counted AS ({counted})"""


_QUEUE = f"""
WITH first AS (
  SELECT $7::bool AND NOT EXISTS (
    SELECT 1 FROM turns WHERE agent_id = $1 AND session_id = $2 AND status IN ('queued', 'running')
  ) AS start
), {queue_sql("first")}
SELECT counted.*, {turn_columns("turn")}
FROM counted LEFT JOIN turn ON true
"""


async def get_turn(tx: Tx, turn_id: int) -> TurnRow | None:
    turn = await tx.get(Turn, turn_id)
    return _row(turn) if turn else None


class Claim(NamedTuple):
    started: Started  # the session, now marked running, and its agent's setup revision
    turn: TurnRow | None  # None: a turn of the session runs already


async def claim_next(tx: Tx | DriverTx, agent_id: str, session_id: str, *, lease: Lease) -> Claim | None:
    """Mark the session running and its oldest queued turn `running`, in one statement that
    takes the session's lock first (`sessions.START_RUNNING`). None, and no lock, when nothing
    is queued; no turn when one runs already (`SessionBusy` if a claimer that waited for the
    lock raced another one)."""
    try:
        row = await (await driver(tx)).fetchrow(
            _CLAIM, agent_id, session_id, lease.owner, float(lease.seconds)
        )
    except asyncpg.UniqueViolationError:
        raise SessionBusy(f"{agent_id}/{session_id}") from None  # running here or on another gateway
    if row is None:
        return None
    return Claim(sessions.started(row), prefixed_turn(row))


# The turn is locked only once joined with the session row `started` updated, so the session's
# lock is taken first, as by every other writer of both. Holding it, the NOT EXISTS is exact:
# with a turn running nothing is claimed, and no unique violation aborts the caller's
# transaction (which may be the one accepting a message). A claimer that had to wait for the
# lock reads turns as they were when it began, and may then hit the unique index instead.
_CLAIM = f"""
WITH started AS ({sessions.START_RUNNING}),
claimed AS (
  UPDATE turns SET status = 'running', lease_owner = $3, started_at = now(),
    lease_expires_at = now() + make_interval(secs => $4)
  WHERE id = (
    SELECT t.id FROM turns t, started
    WHERE t.agent_id = $1 AND t.session_id = $2 AND t.status = 'queued'
      AND NOT EXISTS (
        SELECT 1 FROM turns r WHERE r.agent_id = $1 AND r.session_id = $2 AND r.status = 'running'
      )
    ORDER BY t.id LIMIT 1 FOR UPDATE OF t SKIP LOCKED
  )
  RETURNING *
)
SELECT started.*, {turn_columns("claimed")}
FROM started LEFT JOIN claimed ON true
"""


async def has_queued(tx: Tx | DriverTx, agent_id: str, session_id: str) -> bool:
    """Whether a turn of the session is queued or running."""
    found = await (await driver(tx)).fetchval(_HAS_QUEUED, agent_id, session_id)
    return found is not None


_HAS_QUEUED = """
SELECT 1 FROM turns WHERE agent_id = $1 AND session_id = $2 AND status IN ('queued', 'running') LIMIT 1
"""


async def cancel_queued(tx: Tx | DriverTx, agent_id: str, session_id: str) -> list[int]:
    rows = await (await driver(tx)).fetch(_CANCEL_QUEUED, agent_id, session_id)
    return [row[0] for row in rows]


_CANCEL_QUEUED = """
UPDATE turns SET status = 'cancelled', finished_at = now()
WHERE agent_id = $1 AND session_id = $2 AND status = 'queued'
RETURNING id
"""


async def cancel_turn(tx: Tx, turn_id: int) -> bool:
    """Cancel one turn that is still queued; False when it started or ended."""
    result = await tx.execute(
        update(Turn)
        .where(Turn.id == turn_id, Turn.status == "queued")
        .values(status="cancelled", finished_at=func.now())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def renew_leases(tx: Tx | DriverTx, turn_ids: list[int], *, owner: str, lease_seconds: float) -> int:
    """Extend the leases of those turns that still run under `owner`; how many were."""
    status = await (await driver(tx)).execute(_RENEW, turn_ids, owner, float(lease_seconds))
    return int(status.split()[-1])


_RENEW = """
UPDATE turns SET lease_expires_at = now() + make_interval(secs => $3)
WHERE id = ANY($1::bigint[]) AND status = 'running' AND lease_owner = $2
"""


@dataclass(frozen=True)
class RunningTurn:
    id: int
    agent_id: str
    session_id: str
    owner: str | None
    expired: bool
    correlation_id: str | None


async def running_turns(tx: Tx) -> list[RunningTurn]:
    rows = await tx.execute(
        select(
            Turn.id,
            Turn.agent_id,
            Turn.session_id,
            Turn.lease_owner,
            func.coalesce(Turn.lease_expires_at < func.now(), True),
            Turn.request["correlationId"].as_string(),
        ).where(Turn.status == "running")
    )
    return [RunningTurn(*row) for row in rows]


class Ended(NamedTuple):
    tally: TurnTally
    events: list[StoredEvent]  # the rows stored with the turn's end


async def end_running(
    tx: Tx | DriverTx,
    agent_id: str,
    session_id: str,
    turn_id: int,
    *,
    status: str,
    result: dict[str, Any] | None,
    error: str | None,
    rows: list[EventDraft],
    announce: dict[str, Any] | None = None,
) -> Ended | None:
    """Finish a turn that is still running, count it on its session and store `rows` (its last
    events), all in one statement, so on a connection outside a transaction it is one round trip
    and one commit. None, and nothing changed, when the turn is no longer running (a peer ended
    it). `announce`: the notice for other processes (`events.append_events`).

    The session is counted `running` while other turns of it wait, else `idle`. A statement
    that had to wait for the session's lock reads turns as they were when it began, so it can
    miss a turn queued meanwhile (by another gateway, whose transaction held the lock): then the
    session row it locked is newer than the one it read, and the tally says others may wait
    (`TurnTally.waiting`), for the caller to claim what is queued now.
    """
    if not rows:
        raise ValueError("a turn's end stores at least one row")
    stored = None if result is None else to_json(result)
    params = [agent_id, session_id, turn_id, status, stored, error, *events.draft_params(rows)]
    params += events.notice_params(announce)
    found = await (await driver(tx)).fetch(_end_running_sql(len(rows), announce is not None), *params)
    if not found or found[0]["ended"] is None:
        return None
    first_row = found[0]
    waiting = first_row["status"] == "running" or bool(first_row["raced"])
    tally = TurnTally(int(first_row["completed"] or 0), waiting)
    assigned = [(r["id"], r["ts"]) for r in found if r["id"] is not None]
    return Ended(tally, events.stored_events(agent_id, session_id, turn_id, rows, assigned))


@cache
def _end_running_sql(count: int, announce: bool) -> str:
    # Locks are taken in the order every other writer of both takes them: the session, then its
    # turns. Each step reads the one before it, which orders them, and nothing changes unless
    # the turn was still running once the session's lock was held. `raced`: another
    # transaction changed the session while this statement waited for its lock, maybe queueing
    # a turn the tally's snapshot cannot see.
    first = 7  # $7 on: the rows' parameters, then the notice's two
    notice = events.announcing_cte("inserted", first + 4 * count, first + 1 + 4 * count)
    sent = f", {notice}" if announce else ""
    return f"""
WITH locked AS (
  SELECT xmin AS row_version FROM sessions WHERE agent_id = $1 AND session_id = $2 FOR UPDATE
), ended AS (
  UPDATE turns SET status = $4, result = $5, error = $6, finished_at = now(), lease_expires_at = NULL
  WHERE id = $3 AND status = 'running' AND EXISTS (SELECT 1 FROM locked)
  RETURNING id
), tally AS (
  UPDATE sessions SET completed_turn_count = completed_turn_count + 1, last_activity_at = now(),
    status = CASE WHEN EXISTS (
      SELECT 1 FROM turns WHERE agent_id = $1 AND session_id = $2
        AND status IN ('queued', 'running') AND id <> $3
    ) THEN 'running' ELSE 'idle' END
  WHERE agent_id = $1 AND session_id = $2 AND EXISTS (SELECT 1 FROM ended)
  RETURNING completed_turn_count, status
), inserted AS ({events.insert_rows_sql(count, first, "EXISTS (SELECT 1 FROM ended)")}){sent}
SELECT (SELECT id FROM ended) AS ended, (SELECT completed_turn_count FROM tally) AS completed,
  (SELECT status FROM tally) AS status, inserted.id, inserted.ts,
  (SELECT NOT {sessions.unchanged_while_locking("locked")} FROM locked) AS raced
FROM (SELECT 1) AS one LEFT JOIN inserted ON true{" LEFT JOIN sent ON true" if announce else ""}
"""


async def stalled_queues(tx: Tx, *, older_than_seconds: float) -> list[tuple[str, str]]:
    """Sessions with a queued turn waiting longer than given and no running turn."""
    rows = await tx.execute(
        text(
            "SELECT DISTINCT q.agent_id, q.session_id FROM turns q WHERE q.status = 'queued' "
            "AND q.created_at < now() - make_interval(secs => :age) AND NOT EXISTS ("
            "SELECT 1 FROM turns r WHERE r.agent_id = q.agent_id AND r.session_id = q.session_id "
            "AND r.status = 'running')"
        ),
        {"age": older_than_seconds},
    )
    return [(a, s) for a, s in rows]


async def request_interrupt(tx: Tx | DriverTx, agent_id: str, session_id: str) -> bool:
    """Flag the session's running turn for interruption; False when none runs."""
    found = await (await driver(tx)).fetchval(_REQUEST_INTERRUPT, agent_id, session_id)
    return found is not None


_REQUEST_INTERRUPT = """
UPDATE turns SET interrupt_requested = true
WHERE agent_id = $1 AND session_id = $2 AND status = 'running'
RETURNING 1
"""
