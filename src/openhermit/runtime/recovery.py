"""Crash safety: turns whose gateway died are ended visibly, and their queues run on.

A running turn names its process (`lease_owner`) and renews a lease. A process is known to be
dead when its liveness lock is free (PostgreSQL released it with the connection); a turn is
known to be abandoned when its lease expired, whichever process owns it. Any process may end
such a turn: it stores `error` + `agent_end`, marks the turn
`error`, sets the session idle, and runs the messages queued behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from openhermit.runtime.deps import RuntimeDeps
from openhermit.runtime.fleet import Fleet
from openhermit.runtime.journal import NewEvent
from openhermit.store.notify import owner_is_alive
from openhermit.store.repos import turns

log = logging.getLogger(__name__)
LOST_MESSAGE = "The gateway running this turn stopped before it finished; the turn was ended."
SWEEP_SECONDS = 5.0
STALLED_QUEUE_SECONDS = 2.0


class Recovery:
    def __init__(self, deps: RuntimeDeps, fleet: Fleet, *, interval: float = SWEEP_SECONDS) -> None:
        self.deps = deps
        self.fleet = fleet
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> int:
        """End turns of dead processes and restart stalled queues; returns turns ended."""
        async with self.deps.db.transaction() as tx:
            running = await turns.running_turns(tx)
            alive: dict[str, bool] = {}
            for turn in running:
                owner = turn.owner or ""
                if owner and owner != self.deps.instance_id and owner not in alive:
                    alive[owner] = await owner_is_alive(tx, owner)
        # A lease runs out only when nobody renews it: its process is gone, or (for this one)
        # the turn lost its worker, e.g. when the agent was stopped between accepting a message
        # with its claim and the worker picking it up.
        dead = [
            t
            for t in running
            if t.expired or (t.owner != self.deps.instance_id and not alive.get(t.owner or "", False))
        ]
        ended = 0
        for turn in dead:
            if await self._end(turn):
                ended += 1
        async with self.deps.db.transaction() as tx:
            stalled = await turns.stalled_queues(tx, older_than_seconds=STALLED_QUEUE_SECONDS)
        for agent_id, session_id in stalled:
            runner = await self.fleet.get(agent_id)
            if runner is not None:
                runner.kick(session_id)
        return ended

    async def _end(self, turn: turns.RunningTurn) -> bool:
        tags = {"correlationId": turn.correlation_id}
        rows = [
            NewEvent("error", {**tags, "message": LOST_MESSAGE}, content=LOST_MESSAGE),
            NewEvent("agent_end", {**tags, "status": "error"}),
        ]
        result = {"text": None, "toolCalls": [], "error": LOST_MESSAGE, "status": "error"}
        ended = await self.deps.journal.end_turn(
            turn.agent_id,
            turn.session_id,
            turn.id,
            status="error",
            result=result,
            error="gateway_lost",
            rows=rows,
        )
        if ended is None:
            return False
        self.deps.journal.publish(ended.events)
        log.warning("ended turn %s of %s/%s: its gateway is gone", turn.id, turn.agent_id, turn.session_id)
        if ended.tally.waiting:
            runner = await self.fleet.get(turn.agent_id)
            if runner is not None:
                runner.kick(turn.session_id)
        return True

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="recovery")

    async def _loop(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("recovery sweep failed")
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
