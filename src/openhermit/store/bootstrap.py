"""Open the store a process should use: the embedded server or `DATABASE_URL`, migrated."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import time
from dataclasses import dataclass

from openhermit.config import ENV_NAMES, Settings, inherited_environment
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
            await migrate_in_child(url)
    except BaseException:
        await db.dispose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
        raise
    elapsed = time.perf_counter() - started
    log.info("store ready in %.2fs (%s)", elapsed, "embedded" if embedded else "DATABASE_URL")
    return StoreHandle(db=db, embedded=embedded, start_seconds=elapsed)


async def migrate_in_child(url: str) -> None:
    """Bring the schema at `url` to head in a child process (`python -m openhermit.store.migrate`),
    which reads it as its `DATABASE_URL` (an argument would show its password in the process list).

    What a migration loads stays out of the long-lived process that asked: Alembic, Mako and the
    state a run leaves behind held about 9 MB of a gateway's resident memory until it stopped.
    Raises `ConfigError` with the child's last line of error output when it fails."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "openhermit.store.migrate",
        env={**inherited_environment(), ENV_NAMES["database_url"][0]: url},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _, errors = await child.communicate()
    finally:
        if child.returncode is None:  # cancelled while it ran
            child.kill()
            await child.wait()
    if child.returncode != 0:
        lines = errors.decode(errors="replace").strip().splitlines()
        reason = lines[-1] if lines else f"exit status {child.returncode}"
        raise ConfigError(f"migrating the database schema failed: {reason}")
