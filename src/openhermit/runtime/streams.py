"""A session's event stream for clients: replay from the log by id, then live, exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from openhermit.runtime.bus import Envelope
from openhermit.runtime.deps import RuntimeDeps
from openhermit.runtime.rendering import outbound_for
from openhermit.store.repos import events

REPLAY_PAGE = 1000
BACKLOG_EVENTS = 100


@dataclass(frozen=True)
class Ready:
    """Sent once the replay is done: live events follow."""

    session_id: str
    next_event_id: int


async def session_stream(
    deps: RuntimeDeps,
    agent_id: str,
    session_id: str,
    *,
    after: int | None = None,
    until_turn: int | None = None,
) -> AsyncIterator[Envelope | Ready]:
    """Every event with an id above `after`, then live events, none twice and none missing.

    Without a cursor (or with one beyond anything this session has, as after a reset) the
    replay starts with the session's last 100 events.

    The live subscription starts before the replay reads the log, so nothing committed in
    between is lost; stored events already replayed are skipped when they arrive live. With
    `until_turn`, the stream ends after that turn's `agent_end`. A subscriber that falls too
    far behind is cut off (the stream ends); it resumes with the last id it received.
    """
    subscription = deps.bus.subscribe(agent_id, session_id)
    try:
        async with deps.db.transaction() as tx:
            newest = await events.last_event_id(tx, agent_id, session_id)
            if after is None or after > newest:
                after = await events.backlog_start(tx, agent_id, session_id, BACKLOG_EVENTS)
        last = after
        while True:
            async with deps.db.transaction() as tx:
                rows = await events.list_events(tx, agent_id, session_id, after=last, limit=REPLAY_PAGE)
            for row in rows:
                last = row.id
                event = outbound_for(row)
                if event is None:
                    continue
                yield Envelope(row.id, agent_id, session_id, event, True, row.turn_id)
                if until_turn is not None and row.turn_id == until_turn and event.type == "agent_end":
                    return
            if len(rows) < REPLAY_PAGE:
                break
        yield Ready(session_id, last + 1)
        async for envelope in subscription:
            if envelope.id < last or (envelope.stored and envelope.id == last):
                continue
            if envelope.stored:
                last = envelope.id
            yield envelope
            if (
                until_turn is not None
                and envelope.turn_id == until_turn
                and envelope.event.type == "agent_end"
            ):
                return
    finally:
        subscription.close()
