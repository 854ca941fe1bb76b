"""Idempotency receipts of messages stored without a turn (append/inject)."""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert

from openhermit.store.engine import Tx
from openhermit.store.tables.sessions import MessageReceipt


async def insert_receipt(tx: Tx, agent_id: str, session_id: str, message_id: str) -> bool:
    """Record the message id; False when it was recorded before (a retry)."""
    stmt = (
        insert(MessageReceipt)
        .values(agent_id=agent_id, session_id=session_id, message_id=message_id)
        .on_conflict_do_nothing()
    )
    return bool((await tx.execute(stmt)).rowcount)  # type: ignore[attr-defined]
