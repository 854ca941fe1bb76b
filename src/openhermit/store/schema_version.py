"""The revision this package's migrations end at, checked without loading Alembic.

A process that finds the schema already there skips Alembic altogether (about 10 MB of resident
memory and a fraction of a second at start). A new migration moves `HEAD`; a test holds it to
Alembic's own head.
"""

from __future__ import annotations

from openhermit.store.engine import Database

HEAD = "0006_memory_search"


async def is_current(db: Database) -> bool:
    """Whether the database's schema is at `HEAD` (False when it was never migrated)."""
    async with db.driver_transaction() as tx:
        if not await tx.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL"):
            return False
        versions = [row[0] for row in await tx.fetch("SELECT version_num FROM alembic_version")]
    return versions == [HEAD]
