"""Hot-path statements sent straight to the driver belong to the caller's transaction."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text

from openhermit.store.driver import driver
from openhermit.store.engine import Database, to_libpq_url
from tests.polling import eventually


class _Abort(Exception):
    pass


async def _count(db: Database, table: str) -> int:
    async with db.transaction() as tx:
        return int((await tx.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_a_driver_statement_first_in_a_transaction_is_rolled_back_with_it(db: Database) -> None:
    before = await _count(db, "meta")

    async def insert_then_fail() -> None:
        async with db.transaction() as tx:
            connection = await driver(tx)
            await connection.execute("INSERT INTO meta (key, value) VALUES ('driver-test', '{}')")
            assert connection.is_in_transaction()
            raise _Abort

    with pytest.raises(_Abort):
        await insert_then_fail()
    assert await _count(db, "meta") == before


async def test_driver_and_orm_statements_commit_together(db: Database) -> None:
    async with db.transaction() as tx:
        await (await driver(tx)).execute("INSERT INTO meta (key, value) VALUES ('driver-a', '{}')")
        await tx.execute(text("INSERT INTO meta (key, value) VALUES ('driver-b', '{}')"))
        assert await driver(tx) is await driver(tx)
    async with db.transaction() as tx:
        keys = (
            await tx.execute(text("SELECT key FROM meta WHERE key LIKE 'driver-%' ORDER BY key"))
        ).scalars()
        assert list(keys) == ["driver-a", "driver-b"]


async def test_a_driver_transaction_commits_or_rolls_back_as_a_whole(db: Database) -> None:
    async def insert_then_fail() -> None:
        async with db.driver_transaction() as tx:
            await tx.execute("INSERT INTO meta (key, value) VALUES ('raw-failed', '{}')")
            raise _Abort

    with pytest.raises(_Abort):
        await insert_then_fail()
    async with db.driver_transaction() as tx:
        await tx.execute("INSERT INTO meta (key, value) VALUES ('raw-a', '{}')")
        await tx.execute("INSERT INTO meta (key, value) VALUES ('raw-b', '{}')")
    async with db.transaction() as tx:
        keys = (await tx.execute(text("SELECT key FROM meta WHERE key LIKE 'raw-%' ORDER BY key"))).scalars()
        assert list(keys) == ["raw-a", "raw-b"]


async def test_a_connection_returns_to_the_pool_outside_any_transaction(db: Database) -> None:
    """A failed statement aborts the transaction; the next user of the connection starts clean."""
    with pytest.raises(Exception, match="relation"):
        async with db.driver_transaction() as tx:
            await tx.execute("SELECT * FROM no_such_table")
    for _ in range(db.engine.pool.size() + 1):  # every pooled connection, whichever comes back
        async with db.driver_transaction() as tx:
            assert await tx.fetchval("SELECT 1") == 1
        async with db.transaction() as orm:
            assert (await orm.execute(text("SELECT 1"))).scalar_one() == 1


async def test_a_connection_a_transaction_was_left_open_on_is_never_reused(db: Database, db_url: str) -> None:
    """A task cancelled while its BEGIN is under way leaves the driver's transaction block open
    on its pooled connection. Transactions given that connection would run inside it and seem
    to commit, their writes lost; the pool must close it instead."""
    async with db.engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        left_open = raw.transaction()
        await left_open.start()  # and never ended, as after a cancelled BEGIN
    watcher = await asyncpg.connect(to_libpq_url(db_url))
    try:
        for i in range(12):  # more than the pool holds: every pooled connection is handed out
            key = f"after-open-{i}"
            async with db.driver_transaction() as tx:
                await tx.execute(f"INSERT INTO meta (key, value) VALUES ('{key}', '{{}}')")
            assert await watcher.fetchval("SELECT count(*) FROM meta WHERE key = $1", key) == 1
            async with db.transaction() as orm:
                await orm.execute(text(f"UPDATE meta SET value = '{{\"n\": {i}}}' WHERE key = '{key}'"))
            assert await watcher.fetchval("SELECT value ->> 'n' FROM meta WHERE key = $1", key) == str(i)
    finally:
        await watcher.close()


async def test_callers_cancelled_mid_statement_give_every_connection_back(db: Database) -> None:
    """Requests cancelled while their statements run (clients that went away, turns stopped)
    must not keep pool slots: with the pool bounded, each lost slot is lost for good."""
    size = db.engine.pool.size()
    started = asyncio.Semaphore(0)

    async def slow(in_transaction: bool) -> None:
        context = db.driver_transaction() if in_transaction else db.driver_connection()
        async with context as conn:
            started.release()
            await conn.execute("SELECT pg_sleep(30)")

    tasks = [asyncio.create_task(slow(i % 2 == 0)) for i in range(size * 2)]  # half of them wait
    for _ in range(size):
        await asyncio.wait_for(started.acquire(), 10)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await eventually(lambda: _checked_out(db), lambda n: n == 0, what="every connection back in the pool")

    async def fast(i: int) -> int:
        async with db.driver_transaction() as tx:
            await asyncio.sleep(0.05)  # all of them at once: every slot is needed
            return int(await tx.fetchval("SELECT $1::int", i))

    assert await asyncio.wait_for(asyncio.gather(*(fast(i) for i in range(size))), 10) == list(range(size))


async def _checked_out(db: Database) -> int:
    return db.engine.pool.checkedout()  # type: ignore[attr-defined]
