"""Hot-path statements sent straight to the driver belong to the caller's transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from openhermit.store.driver import driver
from openhermit.store.engine import Database


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
