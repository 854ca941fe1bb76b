"""Writing session events: commit the rows, then publish what clients see."""

from __future__ import annotations

from typing import Any

from openhermit.protocol.events import OutboundEvent
from openhermit.runtime.bus import Envelope, EventBus
from openhermit.runtime.relay import Relay
from openhermit.runtime.rendering import outbound_for
from openhermit.store.engine import Database, DriverTx, Tx
from openhermit.store.repos import events, turns
from openhermit.store.repos.events import EventDraft as NewEvent
from openhermit.store.repos.events import StoredEvent

LAST_IDS_KEPT = 65_536


class Journal:
    def __init__(self, db: Database, bus: EventBus, *, last_ids_kept: int = LAST_IDS_KEPT) -> None:
        self.db = db
        self.bus = bus
        self.relay: Relay | None = None  # set when other gateway processes may be listening
        # The last stored id published per session, for the most recently active sessions only:
        # a long-running gateway sees ever more sessions. A forgotten session's next turn
        # publishes its `agent_start` before any delta, which records it again.
        self._last_id: dict[tuple[str, str], int] = {}
        self._last_ids_kept = last_ids_kept

    async def write(
        self, tx: Tx | DriverTx, agent_id: str, session_id: str, rows: list[NewEvent], turn_id: int | None
    ) -> list[StoredEvent]:
        """Insert rows in the caller's transaction; call `publish` after it commits.

        Other processes are notified at commit; pending deltas of the session go out first.
        """
        announce = await self.announcement(agent_id, session_id)
        return await events.append_events(tx, agent_id, session_id, rows, turn_id=turn_id, announce=announce)

    async def announcement(self, agent_id: str, session_id: str) -> dict[str, Any] | None:
        """The notice to store with the session's next rows, None without peers to tell; any
        pending deltas of the session are sent to them first. For callers that insert rows
        themselves (as part of a larger statement), then `publish` them."""
        relay = self.relay if self.relay is not None and self.relay.has_peers() else None
        if relay is None:
            return None
        await relay.flush(agent_id, session_id)
        return relay.stored_message(agent_id, session_id)

    async def end_turn(
        self,
        agent_id: str,
        session_id: str,
        turn_id: int,
        *,
        status: str,
        result: dict[str, Any],
        error: str | None,
        rows: list[NewEvent],
    ) -> turns.Ended | None:
        """End a running turn and store its last rows (`turns.end_running`): one statement, so no
        transaction around it. None when a peer ended it first; call `publish` with the rows."""
        announce = await self.announcement(agent_id, session_id)
        async with self.db.driver_connection() as conn:
            return await turns.end_running(
                conn,
                agent_id,
                session_id,
                turn_id,
                status=status,
                result=result,
                error=error,
                rows=rows,
                announce=announce,
            )

    def last_id(self, agent_id: str, session_id: str) -> int:
        return self._last_id.get((agent_id, session_id), 0)

    def publish(self, stored: list[StoredEvent]) -> None:
        for row in stored:
            key = (row.agent_id, row.session_id)
            self._last_id[key] = max(self._last_id.pop(key, 0), row.id)  # now the most recent
            if len(self._last_id) > self._last_ids_kept:
                del self._last_id[next(iter(self._last_id))]  # the least recently published
            event = outbound_for(row)
            if event is not None:
                self.bus.publish(Envelope(row.id, row.agent_id, row.session_id, event, True, row.turn_id))

    async def record(
        self, agent_id: str, session_id: str, rows: list[NewEvent], turn_id: int | None = None
    ) -> list[StoredEvent]:
        """Store rows (one statement, so no transaction around it), then publish them."""
        async with self.db.driver_connection() as conn:
            stored = await self.write(conn, agent_id, session_id, rows, turn_id)
        self.publish(stored)
        return stored

    def flashed(self, agent_id: str, session_id: str, event_type: str) -> bool:
        """Whether an unstored event of this type would reach anyone: a subscriber in this
        process that takes it, or a peer process. Token deltas nobody reads are not built."""
        return self.bus.wanted(agent_id, session_id, event_type) or (
            self.relay is not None and self.relay.has_peers()
        )

    def flash(self, agent_id: str, session_id: str, event: OutboundEvent, turn_id: int | None = None) -> None:
        """Publish an event that is not stored (token deltas), tagged with the last stored id."""
        last = self._last_id.get((agent_id, session_id), 0)
        envelope = Envelope(last, agent_id, session_id, event, False, turn_id)
        self.bus.publish(envelope)
        if self.relay is not None:
            self.relay.push_delta(envelope)

    async def catch_up(self, agent_id: str, session_id: str, after: int) -> None:
        """Publish rows stored by another process (ids above `after`) to local subscribers."""
        while True:
            async with self.db.transaction() as tx:
                rows = await events.list_events(tx, agent_id, session_id, after=after, limit=500)
            if not rows:
                return
            self.publish(rows)
            after = rows[-1].id
