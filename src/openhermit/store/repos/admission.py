"""Admitting a message into an idle session in one statement that commits on its own.

The statement locks the session, and only if nothing of it is queued or running does it queue
the message's turn already running, count the message, store it with the turn's
`agent_start`, record its `messageId` receipt and read the session's context. Otherwise it
writes nothing, and the caller accepts the message the general way (`runtime/messages.py`).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from openhermit.store.driver import driver, to_json
from openhermit.store.engine import DriverTx
from openhermit.store.repos import events, sessions, turns
from openhermit.store.repos.events import Context, EventDraft, StoredEvent
from openhermit.store.repos.sessions import Started
from openhermit.store.repos.turns import Lease, TurnRow


class Admitted(NamedTuple):
    started: Started  # the session, now running with the message counted, and the setup revision
    turn: TurnRow  # running under the lease
    stored: list[StoredEvent]  # the rows as stored, in order
    context: Context  # the session's context with them


async def admit(
    conn: DriverTx,
    agent_id: str,
    session_id: str,
    *,
    message_id: str | None,
    request: dict[str, Any],
    counting: sessions.MessageCount,
    lease: Lease,
    participant: str | None,
    rows: list[EventDraft],
    announce: dict[str, Any] | None,
    kept: tuple[datetime, Context] | None,
) -> Admitted | None:
    """Admit a message into the idle session; None, and nothing written, when it is not idle,
    does not exist, or does not list `participant` (if given) among its participants, or when
    `message_id` was seen before. `rows` (the message's row, then `agent_start`) are stored
    with the turn's id; the receipt names the first. `announce`: the notice for other
    processes (`events.append_events`). `kept`: the session's context as kept, with the
    creation time of the session it was read from; when that is this session's, only the
    later rows are read, else every row, and the context is built afresh.

    The queue is read by the statement's snapshot, taken before the lock. The turn starts
    only if the session row the lock found is the version that snapshot saw: every writer that
    queues or starts a turn, ends a running one, records a receipt or stores a context row
    outside a turn changes that row while holding its lock, so an unchanged row means nothing
    the statement read has changed since. (Cancelling a queued turn does not, and can only make the
    statement see a turn that is no longer queued: it then writes nothing.)"""
    params: list[Any] = [agent_id, session_id, message_id, to_json(request), *counting, participant, *lease]
    params += [*events.draft_params(rows), *events.notice_params(announce)]
    if kept is not None:
        params += [kept[0], kept[1].last_id]
    sql = _admit_sql(len(rows), announce is not None, kept is not None)
    found = await (await driver(conn)).fetch(sql, *params)
    turn = turns.prefixed_turn(found[0]) if found else None
    if turn is None:
        return None
    assigned = [(r["event_id"], r["event_ts"]) for r in found if r["fresh"]]
    stored = events.stored_events(agent_id, session_id, turn.id, rows, assigned)
    earlier = [events.prefixed_event(r) for r in found if r["fresh"] is False]
    started = sessions.started(found[0], "started_")
    known = kept[1] if kept is not None and kept[0] == started.session.created_at else None
    context = (known or Context(None, [])).extended([*earlier, *stored])
    return Admitted(started, turn, stored, context)


_FIRST_ROW = 10  # the rows' parameters from $10 on; before them, those of `turns.queue_sql`
# with $7 the participant


@cache
def _admit_sql(count: int, announce: bool, since: bool) -> str:
    after_rows = _FIRST_ROW + 4 * count
    sent = f", {events.announcing_cte('inserted', after_rows, after_rows + 1)}" if announce else ""
    kept = after_rows + (2 if announce else 0)  # the kept context's creation time and last id
    after = f"CASE WHEN locked.created_at = ${kept}::timestamptz THEN ${kept + 1}::bigint ELSE 0 END"
    ctes, read = events.context_read_sql(f"(SELECT {after} FROM locked)" if since else None)
    queued = turns.queue_sql("idle WHERE start", count_when="EXISTS (SELECT 1 FROM turn)")
    inserted = events.insert_rows_sql(
        count,
        _FIRST_ROW,
        "EXISTS (SELECT 1 FROM turn)",
        returning=events.EVENT_COLUMNS,
        turn="(SELECT id FROM turn)",
    )
    return f"""
WITH locked AS ({sessions.LOCK}),
idle AS (
  SELECT {sessions.unchanged_while_locking("locked")}
    AND ($7::text IS NULL OR locked.user_ids ? $7::text)
    AND NOT EXISTS (
      SELECT 1 FROM turns WHERE agent_id = $1 AND session_id = $2 AND status IN ('queued', 'running')
    )
    AND ($3::text IS NULL OR NOT EXISTS (
      SELECT 1 FROM message_receipts WHERE agent_id = $1 AND session_id = $2 AND message_id = $3::text
    )) AS start
  FROM locked
), {queued}, inserted AS ({inserted}), receipt AS (
  INSERT INTO message_receipts (agent_id, session_id, message_id, event_id, turn_id)
  SELECT $1, $2, $3, min(inserted.id), (SELECT id FROM turn) FROM inserted
  WHERE $3::text IS NOT NULL HAVING count(*) > 0
){sent}{ctes}, admitted AS (
  SELECT false AS fresh, earlier.* FROM ({read}) AS earlier WHERE EXISTS (SELECT 1 FROM turn)
  UNION ALL SELECT true, inserted.* FROM inserted{", sent" if announce else ""}
)
SELECT counted.agent_revision, counted.fleet_revision, {sessions.session_columns("counted", "started_")},
  {turns.turn_columns("turn")}, admitted.fresh, {events.prefixed_columns("admitted")}
FROM locked LEFT JOIN counted ON true LEFT JOIN turn ON true LEFT JOIN admitted ON true
ORDER BY admitted.id
"""
