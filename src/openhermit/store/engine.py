"""The database handle: one bounded connection pool per process, transactions for callers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from openhermit.errors import ConfigError
from openhermit.protocol import json_text

Tx = AsyncSession
"""A unit of work: repositories take one, never commit; the caller owns it."""

DriverTx = asyncpg.Connection
"""A unit of work made only of driver statements (`store/driver.py`): the pooled connection
itself, in a transaction, without an ORM session around it."""


def to_async_url(url: str) -> str:
    """Normalise `postgres://` and `postgresql://` URLs to the asyncpg driver."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def to_libpq_url(url: str) -> str:
    """The same URL without a driver suffix, for asyncpg and the PostgreSQL tools."""
    return make_url(to_async_url(url)).set(drivername="postgresql").render_as_string(hide_password=False)


def describe_target(url: str) -> str:
    """Where a URL points, for error messages (never the password)."""
    parsed = make_url(to_async_url(url))
    host = parsed.host or parsed.query.get("host") or "localhost"
    return f"{host}:{parsed.port or 5432}/{parsed.database or ''}"


@dataclass
class Database:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    url: str

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """A session in a transaction: committed on success, rolled back on error."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def driver_transaction(self) -> AsyncIterator[DriverTx]:
        """A transaction on a pooled connection for the hot path's driver statements: committed
        on success, rolled back on error, at a third of an ORM session's cost."""
        async with self._checkout() as pooled:
            raw: asyncpg.Connection = pooled.driver_connection
            try:
                async with raw.transaction():
                    yield raw
            finally:
                if raw.is_in_transaction():  # the rollback itself was cancelled: do not reuse
                    await greenlet_spawn(pooled.invalidate)  # closes it: that can await

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[DriverTx]:
        """A pooled connection outside any transaction: each driver statement commits on its own.
        For work that is one statement, it saves the round trips of BEGIN and COMMIT."""
        async with self._checkout() as pooled:
            yield pooled.driver_connection

    @asynccontextmanager
    async def _checkout(self) -> AsyncIterator[PoolProxiedConnection]:
        """A connection straight from the pool, returned to it afterwards (closed instead once
        invalidated). `engine.connect()` wraps the same checkout in a `Connection` that the
        driver statements never use, and costs three greenlet switches instead of two."""
        pooled = await greenlet_spawn(self.engine.sync_engine.raw_connection)
        try:
            yield pooled
        finally:
            # Shielded, as `AsyncConnection` does: a cancelled caller must not keep the slot.
            await asyncio.shield(greenlet_spawn(pooled.close))

    async def ping(self) -> None:
        """Raise `ConfigError` with one clear line when the server cannot be reached."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ConfigError(
                f"DATABASE_URL: cannot connect to {describe_target(self.url)} ({reason})"
            ) from None
        except Exception as exc:  # SQLAlchemy wraps driver errors
            cause = exc.__cause__ or exc
            reason = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
            raise ConfigError(
                f"DATABASE_URL: cannot connect to {describe_target(self.url)} ({reason})"
            ) from None

    async def dispose(self) -> None:
        await self.engine.dispose()


def open_database(url: str, *, pool_size: int = 10, application_name: str = "openhermit") -> Database:
    """One bounded pool: at most `pool_size` connections, however many agents run."""
    engine = create_async_engine(
        to_async_url(url),
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=30,
        pool_recycle=1800,
        connect_args={"timeout": 10, "server_settings": {"application_name": application_name}},
        json_serializer=json_text.dumps,
        json_deserializer=json_text.loads,
    )
    event.listen(engine.sync_engine, "checkout", _refuse_open_transaction)
    return Database(engine=engine, sessionmaker=async_sessionmaker(engine, expire_on_commit=False), url=url)


def _refuse_open_transaction(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Never hand out a connection a transaction was left open on.

    A task cancelled while its BEGIN is under way leaves asyncpg's transaction block behind
    (`_top_xact`, in a failed state) while the server does begin; neither asyncpg nor the pool's
    reset ends it. Every later transaction on that connection would then run as a savepoint
    inside it and seem to commit, and its writes would vanish with the connection. Raising
    `DisconnectionError` makes the pool close this connection (the server rolls back) and hand
    out another.
    """
    raw = dbapi_connection.driver_connection
    if raw._top_xact is not None or raw.is_in_transaction():
        raise DisconnectionError("a transaction was left open on this pooled connection")


async def ensure_database(url: str) -> None:
    """Create the URL's database if it does not exist (connecting to `postgres` to do so)."""
    parsed = make_url(to_async_url(url))
    name = parsed.database or "postgres"
    admin_url = to_libpq_url(parsed.set(database="postgres").render_as_string(hide_password=False))
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            quoted = '"' + name.replace('"', '""') + '"'
            with suppress(asyncpg.DuplicateDatabaseError):  # another process created it first
                await conn.execute(f"CREATE DATABASE {quoted}")
    finally:
        await conn.close()
