"""Single-use token ids (`consumed_jtis`)."""

from __future__ import annotations

import time

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert

from openhermit.store.engine import Tx
from openhermit.store.tables.users import ConsumedJti


async def consume(tx: Tx, jti: str, expires_at: int) -> bool:
    """Mark the token id used; False if it was used before. Expired ids are pruned."""
    await tx.execute(delete(ConsumedJti).where(ConsumedJti.expires_at < int(time.time())))
    result = await tx.execute(
        insert(ConsumedJti).values(jti=jti, expires_at=expires_at).on_conflict_do_nothing()
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
