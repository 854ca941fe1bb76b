"""Carrying session events between gateway processes.

Stored events: the transaction that stores them also NOTIFYs `{o, a, s, from, id}`; every
other process with subscribers on that session reads the new rows by id and publishes them
locally. Token deltas are not stored: they are batched (a few milliseconds) and sent as one
NOTIFY `{o, a, s, l, d: [...]}`, and always flushed before the next stored event of the
session, so remote subscribers see the same order as local ones.

Neither is sent while no other gateway process listens (`has_peers`, see `store/notify.py`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from openhermit.protocol.events import parse_event
from openhermit.runtime.bus import Envelope, EventBus
from openhermit.store.notify import MAX_PAYLOAD_BYTES, encode

log = logging.getLogger(__name__)
DELTA_BATCH_SECONDS = 0.01
Key = tuple[str, str]


class Relay:
    def __init__(
        self,
        instance_id: str,
        bus: EventBus,
        send: Callable[[dict[str, Any]], Awaitable[None]],
        catch_up: Callable[[str, str, int], Awaitable[None]],
        peers: Callable[[], bool] = lambda: True,
    ) -> None:
        self.instance_id = instance_id
        self.has_peers = peers  # False: no other process listens, nothing needs relaying
        self.bus = bus
        self._send = send
        self._catch_up = catch_up
        self._pending: dict[Key, list[dict[str, Any]]] = {}
        self._last: dict[Key, int] = {}
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._flushing: dict[Key, asyncio.Lock] = {}
        self._catching_up: dict[Key, asyncio.Task[None]] = {}
        self._wanted: dict[Key, int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # Agents whose status or configuration changed in another process.
        self.on_agent_changed: list[Callable[[str], None]] = []
        # Interrupt requests for turns that may be running in this process.
        self.on_interrupt: list[Callable[[str, str], None]] = []

    # Outgoing ------------------------------------------------------------------------------
    def stored_message(self, agent_id: str, session_id: str) -> dict[str, Any]:
        """The notice of newly stored events; the store adds their ids (`from`, `id`)."""
        return {"o": self.instance_id, "a": agent_id, "s": session_id}

    def push_delta(self, envelope: Envelope) -> None:
        if not self.has_peers():
            return
        key = (envelope.agent_id, envelope.session_id)
        self._pending.setdefault(key, []).append(envelope.event.wire())
        self._last[key] = envelope.id
        if key not in self._timers:
            loop = asyncio.get_running_loop()
            self._timers[key] = loop.call_later(DELTA_BATCH_SECONDS, self._spawn_flush, key)

    def _spawn_flush(self, key: Key) -> None:
        task = asyncio.create_task(self.flush(*key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def flush(self, agent_id: str, session_id: str) -> None:
        """Send pending deltas of the session now (called before its next stored event)."""
        key = (agent_id, session_id)
        lock = self._flushing.setdefault(key, asyncio.Lock())
        async with lock:
            timer = self._timers.pop(key, None)
            if timer is not None:
                timer.cancel()
            pending = self._pending.pop(key, None)
            if not pending:
                return
            last = self._last.get(key, 0)
            for batch in _batches(pending):
                message = {"o": self.instance_id, "a": agent_id, "s": session_id, "l": last, "d": batch}
                try:
                    await self._send(message)
                except Exception:
                    log.warning("could not relay deltas of %s/%s", agent_id, session_id, exc_info=True)

    # Incoming ------------------------------------------------------------------------------
    def receive(self, message: dict[str, Any]) -> None:
        if message.get("o") == self.instance_id or "hello" in message or "here" in message:
            return
        if "agent" in message:
            for callback in self.on_agent_changed:
                callback(str(message["agent"]))
            return
        if "interrupt" in message:
            target = message["interrupt"]
            for interrupt in self.on_interrupt:
                interrupt(str(target.get("a")), str(target.get("s")))
            return
        agent_id, session_id = str(message.get("a")), str(message.get("s"))
        if not self.bus.has_subscribers(agent_id, session_id):
            return
        if "d" in message:
            last = int(message.get("l", 0))
            for data in message["d"]:
                try:
                    event = parse_event(data)
                except ValueError:
                    continue
                self.bus.publish(Envelope(last, agent_id, session_id, event, stored=False))
            return
        self._request_catch_up((agent_id, session_id), int(message.get("from", message.get("id", 0))))

    def _request_catch_up(self, key: Key, first_id: int) -> None:
        """Read rows from `first_id` on; one reader per session at a time, rerun if asked again."""
        self._wanted[key] = min(self._wanted.get(key, first_id), first_id)
        if key in self._catching_up:
            return
        task = asyncio.create_task(self._run_catch_up(key))
        self._catching_up[key] = task

    async def _run_catch_up(self, key: Key) -> None:
        try:
            while key in self._wanted:
                first_id = self._wanted.pop(key)
                await self._catch_up(key[0], key[1], first_id - 1)
        except Exception:
            log.exception("catching up %s/%s failed", *key)
        finally:
            self._catching_up.pop(key, None)

    async def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        tasks = [*self._tasks, *self._catching_up.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _split(event: dict[str, Any]) -> list[dict[str, Any]]:
    """A delta too large for one notification becomes several consecutive deltas."""
    text = str(event.get("text", ""))
    piece = (MAX_PAYLOAD_BYTES - 1000) // 6  # worst case: every character escaped as \\uXXXX
    if len(encode(event).encode()) <= MAX_PAYLOAD_BYTES - 400 or not text:
        return [event]
    return [{**event, "text": text[i : i + piece]} for i in range(0, len(text), piece)]


def _batches(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Group events into lists that each fit in one notification."""
    batches: list[list[dict[str, Any]]] = [[]]
    size = 200
    for event in (part for whole in events for part in _split(whole)):
        encoded = len(encode(event).encode())
        if size + encoded > MAX_PAYLOAD_BYTES and batches[-1]:
            batches.append([])
            size = 200
        batches[-1].append(event)
        size += encoded + 1
    return [b for b in batches if b]
