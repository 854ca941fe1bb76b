"""Schema migrations, run from the installed package (no alembic.ini needed)."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from openhermit.config import load_settings
from openhermit.errors import ConfigError
from openhermit.store.engine import Database, open_database
from openhermit.store.tables import metadata


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", "openhermit.store:migrations")
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def heads() -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config()).get_heads())


async def _with_connection(db: Database, action: str, revision: str) -> None:
    config = alembic_config()

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)

    async with db.engine.connect() as conn:
        await conn.run_sync(run)
        await conn.commit()


async def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema to `revision`; safe to call from several processes at once."""
    await _with_connection(db, "upgrade", revision)


async def downgrade(db: Database, revision: str) -> None:
    await _with_connection(db, "downgrade", revision)


async def current_revision(db: Database) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with db.engine.connect() as conn:
        return await conn.run_sync(read)


async def schema_drift(db: Database) -> list[Any]:
    """Differences between the ORM tables and the live schema (empty when in sync)."""

    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_server_default": True})
        return list(compare_metadata(context, metadata))

    async with db.engine.connect() as conn:
        return await conn.run_sync(compare)


async def _upgrade_url(url: str) -> None:
    db = open_database(url, pool_size=1, application_name="openhermit-migrate")
    try:
        await upgrade(db)
    finally:
        await db.dispose()


def main() -> None:
    """`python -m openhermit.store.migrate`: bring the schema at `DATABASE_URL` to head."""
    url = load_settings().database_url
    if not url:
        raise ConfigError("DATABASE_URL: not set; it names the database to migrate")
    asyncio.run(_upgrade_url(url))


if __name__ == "__main__":
    main()
