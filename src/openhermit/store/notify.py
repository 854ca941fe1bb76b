"""Cross-process signals through PostgreSQL: LISTEN/NOTIFY, and process liveness.

Every gateway process keeps one dedicated connection that
- LISTENs on the `openhermit` channel and hands each notification to the registered handlers;
- holds a session-level advisory lock named after the process (`liveness_key`). When the
  process dies, PostgreSQL drops the connection and the lock with it, so any peer can tell at
  once that the owner of a running turn is gone (`owner_is_alive`).

`NOTIFY` sent inside a transaction is delivered when it commits, in commit order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy import text

from openhermit.store.driver import driver
from openhermit.store.engine import DriverTx, Tx, to_libpq_url

CHANNEL = "openhermit"
MAX_PAYLOAD_BYTES = 7900  # PostgreSQL's limit is 8000
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

    def __init__(self, url: str, instance_id: str) -> None:
        self._url = to_libpq_url(url)
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

    async def start(self) -> None:
        await self._connect()
        self._supervisor = asyncio.create_task(self._supervise(), name="notify-listener")

    async def _connect(self) -> None:
        conn = await asyncpg.connect(
            self._url, timeout=10, server_settings={"application_name": "openhermit-listen"}
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

    def _dispatch(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            log.warning("ignoring malformed notification %r", payload[:200])
            return
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
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close(timeout=5)
            self._conn = None
