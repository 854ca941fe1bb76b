"""Cross-process signals through PostgreSQL: LISTEN/NOTIFY, and process liveness.

Every gateway process keeps one dedicated connection that
- LISTENs on the `openhermit` channel and hands each notification to the registered handlers;
- holds a session-level advisory lock named after the process (`liveness_key`). When the
  process dies, PostgreSQL drops the connection and the lock with it, so any peer can tell at
  once that the owner of a running turn is gone (`owner_is_alive`);
- knows whether other gateway processes listen on the same database (`has_peers`): it counts
  their listening connections every few seconds. A starting process says hello and waits (a
  moment at most) until each peer it counted has answered, so by the time it serves requests
  every running peer knows of it. A lone gateway skips the notifications only peers would read.

`NOTIFY` sent inside a transaction is delivered when it commits, in commit order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy import text

from openhermit.store.driver import driver
from openhermit.store.engine import DriverTx, Tx, to_libpq_url

CHANNEL = "openhermit"
MAX_PAYLOAD_BYTES = 7900  # PostgreSQL's limit is 8000
APPLICATION_NAME = "openhermit-listen"
PEER_CHECK_SECONDS = 5.0
HELLO_WAIT_SECONDS = 2.0
_OTHER_LISTENERS = """
SELECT count(*) FROM pg_stat_activity
WHERE application_name = $1 AND datname = current_database() AND pid <> pg_backend_pid()
"""
log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], None]


async def notify(tx: Tx | DriverTx, message: dict[str, Any]) -> None:
    """Queue a notification in the caller's transaction (delivered at commit)."""
    await (await driver(tx)).execute("SELECT pg_notify($1, $2)", CHANNEL, encode(message))


def encode(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


async def owner_is_alive(tx: Tx, owner: str) -> bool:
    """Whether the process named `owner` still holds its liveness lock."""
    acquired = (
        await tx.execute(
            text("SELECT pg_try_advisory_xact_lock(hashtextextended(:owner, 0))"), {"owner": owner}
        )
    ).scalar_one()
    return not acquired


class Listener:
    """The process's LISTEN connection; reconnects with backoff if it drops."""

    def __init__(self, url: str, instance_id: str, *, peer_check_seconds: float = PEER_CHECK_SECONDS) -> None:
        self._url = to_libpq_url(url)
        self._peer_check_seconds = peer_check_seconds
        self._peer_listeners = 1  # until counted: assume peers, so nothing is skipped
        self._peer_heard_at = float("-inf")  # monotonic time of the last message from a peer
        self._peer_watch: asyncio.Task[None] | None = None
        self._answers: asyncio.Queue[str] = asyncio.Queue()  # peers that answered our hello
        self._tasks: set[asyncio.Task[None]] = set()
        self._instance_id = instance_id
        self._handlers: list[Handler] = []
        self._conn: asyncpg.Connection | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self._ready = asyncio.Event()
        self._reconnect_handlers: list[Callable[[], None]] = []
        self._send_lock = asyncio.Lock()

    def add_handler(self, handler: Handler) -> None:
        self._handlers.append(handler)

    def on_reconnect(self, callback: Callable[[], None]) -> None:
        """Called after a reconnect: notifications may have been missed, so catch up."""
        self._reconnect_handlers.append(callback)

    @property
    def has_peers(self) -> bool:
        """Whether another gateway process may be listening: one was counted at the last check,
        or one spoke within two check intervals (a peer that just started says hello before
        the next count can see it)."""
        recently = time.monotonic() - self._peer_heard_at < 2 * self._peer_check_seconds
        return self._peer_listeners > 0 or recently

    async def start(self) -> None:
        await self._connect()
        await self._count_peers()
        await self._say_hello()
        self._supervisor = asyncio.create_task(self._supervise(), name="notify-listener")
        self._peer_watch = asyncio.create_task(self._watch_peers(), name="notify-peers")

    async def _say_hello(self) -> None:
        """Tell running peers about this process; wait until those counted have answered."""
        await self.send({"o": self._instance_id, "hello": True})
        answered: set[str] = set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(HELLO_WAIT_SECONDS):
                while len(answered) < self._peer_listeners:
                    answered.add(await self._answers.get())

    def _answer(self, peer: str) -> None:
        task = asyncio.get_running_loop().create_task(self.send({"o": self._instance_id, "here": peer}))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _count_peers(self) -> None:
        try:
            await self._ready.wait()
            assert self._conn is not None
            async with self._send_lock:
                self._peer_listeners = int(await self._conn.fetchval(_OTHER_LISTENERS, APPLICATION_NAME))
        except Exception:  # cannot tell (connection lost, no right to read pg_stat_activity)
            self._peer_listeners = 1

    async def _watch_peers(self) -> None:
        while True:
            await asyncio.sleep(self._peer_check_seconds)
            await self._count_peers()

    async def _connect(self) -> None:
        conn = await asyncpg.connect(
            self._url, timeout=10, server_settings={"application_name": APPLICATION_NAME}
        )
        await conn.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", self._instance_id)
        await conn.add_listener(CHANNEL, self._dispatch)
        conn.add_termination_listener(lambda _: self._lost.set())
        self._conn = conn
        self._lost.clear()
        self._ready.set()

    async def _supervise(self) -> None:
        delay = 0.2
        while True:
            await self._lost.wait()
            self._ready.clear()
            log.warning("notification connection lost; reconnecting")
            while True:
                try:
                    await self._connect()
                    break
                except (OSError, asyncpg.PostgresError) as exc:
                    log.warning("reconnect failed (%s); retrying in %.1fs", exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)
            delay = 0.2
            for callback in self._reconnect_handlers:
                callback()
            with contextlib.suppress(Exception):
                await self._say_hello()

    def _dispatch(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            log.warning("ignoring malformed notification %r", payload[:200])
            return
        origin = message.get("o")
        if origin not in (None, self._instance_id):
            self._peer_heard_at = time.monotonic()
            if message.get("hello"):
                self._answer(str(origin))
            elif message.get("here") == self._instance_id:
                self._answers.put_nowait(str(origin))
        for handler in self._handlers:
            try:
                handler(message)
            except Exception:
                log.exception("notification handler failed")

    async def send(self, message: dict[str, Any]) -> None:
        """Notify outside any transaction (delivered at once)."""
        await self._ready.wait()
        assert self._conn is not None
        async with self._send_lock:  # one operation at a time on a connection
            await self._conn.execute("SELECT pg_notify($1, $2)", CHANNEL, encode(message))

    async def stop(self) -> None:
        for task in (self._supervisor, self._peer_watch, *self._tasks):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=5)
            self._conn = None
