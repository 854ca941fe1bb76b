from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from openhermit.errors import ConfigError
from openhermit.store import migrate, schema_version
from openhermit.store.bootstrap import migrate_in_child
from openhermit.store.engine import Database, open_database
from openhermit.store.tables import metadata


def test_single_head_which_the_start_up_check_knows() -> None:
    assert migrate.heads() == [schema_version.HEAD]


async def _tables(db: Database) -> set[str]:
    async with db.transaction() as tx:
        rows = await tx.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        return {r[0] for r in rows}


async def test_upgrade_downgrade_upgrade_without_drift(empty_db_url: str) -> None:
    db = open_database(empty_db_url, pool_size=2)
    try:
        assert not await schema_version.is_current(db)  # never migrated: no alembic_version
        await migrate.upgrade(db)
        assert await schema_version.is_current(db)
        assert await migrate.current_revision(db) == migrate.heads()[0]
        assert set(metadata.tables) <= await _tables(db)
        assert await migrate.schema_drift(db) == []

        await migrate.downgrade(db, "0004_agent_revision")
        assert not await schema_version.is_current(db)  # behind: the gateway start upgrades it
        await migrate.downgrade(db, "base")
        assert await migrate.current_revision(db) is None
        assert await _tables(db) <= {"alembic_version"}

        await migrate.upgrade(db)
        assert await migrate.schema_drift(db) == []
    finally:
        await db.dispose()


async def test_upgrade_twice_is_a_no_op(db: Database) -> None:
    before = await migrate.current_revision(db)
    await migrate.upgrade(db)
    assert await migrate.current_revision(db) == before


async def test_memories_have_generated_fts_vector_with_gin_index(db: Database) -> None:
    async with db.transaction() as tx:
        kind = (
            await tx.execute(
                text(
                    "SELECT attgenerated::text FROM pg_attribute WHERE attrelid = 'memories'::regclass "
                    "AND attname = 'content_tsv'"
                )
            )
        ).scalar_one()
        index = (
            await tx.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_memories_fts'"))
        ).scalar_one()
    assert kind == "s"  # stored generated column
    assert "USING gin" in index


async def test_real_column_types(db: Database) -> None:
    async with db.transaction() as tx:
        rows = await tx.execute(
            text(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'public' "
                "AND column_name IN ('created_at', 'payload', 'interactive', 'id') "
                "AND table_name IN ('agents', 'session_events', 'sessions')"
            )
        )
        types = {(t, c): d for t, c, d in rows}
    assert types[("agents", "created_at")] == "timestamp with time zone"
    assert types[("session_events", "payload")] == "jsonb"
    assert types[("session_events", "id")] == "bigint"
    assert types[("sessions", "interactive")] == "boolean"


_OPEN_STORE = """
import asyncio, sys
from pathlib import Path
from openhermit.config import Settings
from openhermit.store.bootstrap import open_store

async def main() -> None:
    handle = await open_store(Settings(home=Path(sys.argv[2]), database_url=sys.argv[1]))
    await handle.close()
    print("alembic" in sys.modules)

asyncio.run(main())
"""


async def test_a_new_database_is_migrated_in_a_child_process(empty_db_url: str, tmp_path: Path) -> None:
    # A process of its own, as a gateway: it opens the store on a database with no schema.
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", _OPEN_STORE, empty_db_url, str(tmp_path / "home")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"  # the schema was migrated, and Alembic never loaded here
    db = open_database(empty_db_url, pool_size=1)
    try:
        assert await schema_version.is_current(db)
        assert await migrate.schema_drift(db) == []
    finally:
        await db.dispose()


async def test_a_failed_migration_says_why(empty_db_url: str) -> None:
    db = open_database(empty_db_url, pool_size=1)
    try:
        async with db.transaction() as tx:  # a revision this build does not know (a newer one's)
            await tx.execute(text("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)"))
            await tx.execute(text("INSERT INTO alembic_version VALUES ('9999_from_a_newer_build')"))
    finally:
        await db.dispose()
    with pytest.raises(ConfigError) as failed:
        await migrate_in_child(empty_db_url)
    assert "migrating the database schema failed" in failed.value.message
    assert "9999_from_a_newer_build" in failed.value.message
