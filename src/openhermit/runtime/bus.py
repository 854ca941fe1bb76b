"""In-process fan-out of session events to subscribers (SSE, WebSocket, waiting requests).

Stored events are published after their row is committed, with the row id; token deltas are
published without a row and carry the id of the last stored event of the session. A
subscriber that falls `capacity` events behind is closed; it resumes by id from the log.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass

from openhermit.protocol.events import OutboundEvent


@dataclass(frozen=True)
class Envelope:
    id: int
    agent_id: str
    session_id: str
    event: OutboundEvent
    stored: bool
    turn_id: int | None = None


class Subscription:
    def __init__(
        self, bus: EventBus, key: tuple[str, str], capacity: int, types: frozenset[str] | None = None
    ) -> None:
        self._bus = bus
        self._key = key
        self._types = types
        self._queue: asyncio.Queue[Envelope | None] = asyncio.Queue(capacity)
        self.overflowed = False
        self.last_stored_id = 0  # stored events at or below this id were delivered already

    def _offer(self, envelope: Envelope) -> None:
        if self.overflowed or envelope.id < self.last_stored_id:
            return
        if envelope.stored:
            if envelope.id == self.last_stored_id:
                return
            self.last_stored_id = envelope.id
        if not self.accepts(envelope.event.type):
            return
        try:
            self._queue.put_nowait(envelope)
        except asyncio.QueueFull:
            self.overflowed = True
            self._queue.get_nowait()
            self._queue.put_nowait(None)

    def accepts(self, event_type: str) -> bool:
        """Whether events of this type are queued for this subscriber."""
        return self._types is None or event_type in self._types

    async def get(self) -> Envelope | None:
        """The next envelope; None when closed (overflow)."""
        return await self._queue.get()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Envelope:
        """The next envelope in order; the iteration ends when the subscription is closed.

        A plain iterator, not an async generator: a caller that stops early (a `wait` request
        at `agent_end`) leaves no generator behind for the event loop to finalise in a task."""
        if self.overflowed and self._queue.empty():  # cut off, and its end handed out already
            raise StopAsyncIteration
        envelope = await self._queue.get()
        if envelope is None:
            raise StopAsyncIteration
        return envelope

    async def batches(self) -> AsyncIterator[list[Envelope]]:
        """The envelopes in order, each step handing over all that are already queued (at least
        one): a stream writes them to its client at once, not one write per token."""
        while True:
            envelope = await self._queue.get()
            if envelope is None:
                return
            batch = [envelope]
            while not self._queue.empty():
                envelope = self._queue.get_nowait()
                if envelope is None:
                    yield batch
                    return
                batch.append(envelope)
            yield batch

    def close(self) -> None:
        self._bus._remove(self._key, self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._subscribers: dict[tuple[str, str], set[Subscription]] = defaultdict(set)

    def subscribe(
        self, agent_id: str, session_id: str, *, types: frozenset[str] | None = None
    ) -> Subscription:
        """The session's events from now on; with `types`, only events of those types, so a
        caller waiting for a turn's outcome is not woken by every token the model streams."""
        key = (agent_id, session_id)
        subscription = Subscription(self, key, self._capacity, types)
        self._subscribers[key].add(subscription)
        return subscription

    def publish(self, envelope: Envelope) -> None:
        for subscription in tuple(self._subscribers.get((envelope.agent_id, envelope.session_id), ())):
            subscription._offer(envelope)

    def wanted(self, agent_id: str, session_id: str, event_type: str) -> bool:
        """Whether a subscriber of the session takes events of this type."""
        for subscription in self._subscribers.get((agent_id, session_id), ()):
            if subscription.accepts(event_type):
                return True
        return False

    def has_subscribers(self, agent_id: str, session_id: str) -> bool:
        return bool(self._subscribers.get((agent_id, session_id)))

    def subscribed_sessions(self) -> list[tuple[str, str]]:
        return [key for key, subs in self._subscribers.items() if subs]

    def subscriber_count(self, agent_id: str) -> int:
        return sum(len(subs) for (agent, _), subs in self._subscribers.items() if agent == agent_id)

    def _remove(self, key: tuple[str, str], subscription: Subscription) -> None:
        subs = self._subscribers.get(key)
        if subs is not None:
            subs.discard(subscription)
            if not subs:
                del self._subscribers[key]
