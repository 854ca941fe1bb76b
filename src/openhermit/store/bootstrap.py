"""Open the store a process should use: the embedded server or `DATABASE_URL`, migrated."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from openhermit.config import Settings
from openhermit.errors import ConfigError
from openhermit.store import schema_version
from openhermit.store.embedded import EmbeddedPostgres
from openhermit.store.engine import Database, ensure_database, open_database

log = logging.getLogger(__name__)


@dataclass
class StoreHandle:
    db: Database
    embedded: EmbeddedPostgres | None
    start_seconds: float

    async def close(self) -> None:
        await self.db.dispose()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)


async def open_store(settings: Settings, *, run_migrations: bool = True) -> StoreHandle:
    """Connect (starting the embedded server when `DATABASE_URL` is unset) and migrate.

    Raises `ConfigError` with one clear line when the database cannot be used.
    """
    started = time.perf_counter()
    embedded: EmbeddedPostgres | None = None
    if settings.database_url:
        url = settings.database_url
    else:
        embedded = EmbeddedPostgres(settings.pgdata)
        try:
            url = await asyncio.to_thread(embedded.start)
        except Exception as exc:
            raise ConfigError(
                f"embedded PostgreSQL in {settings.pgdata} failed to start ({exc}); "
                "set DATABASE_URL to use another server"
            ) from None
        await ensure_database(url)
    db = open_database(url, pool_size=settings.db_pool_size)
    try:
        await db.ping()
        if run_migrations and not await schema_version.is_current(db):
            from openhermit.store import migrate  # Alembic is loaded only when there is work for it

            await migrate.upgrade(db)
    except BaseException:
        await db.dispose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
        raise
    elapsed = time.perf_counter() - started
    log.info("store ready in %.2fs (%s)", elapsed, "embedded" if embedded else "DATABASE_URL")
    return StoreHandle(db=db, embedded=embedded, start_seconds=elapsed)
