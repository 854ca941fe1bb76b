"""Idempotency receipts: one per client `messageId` per session, in every mode."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert

from openhermit.store.engine import Tx
from openhermit.store.tables.sessions import MessageReceipt


@dataclass(frozen=True)
class Receipt:
    message_id: str
    event_id: int | None
    turn_id: int | None


async def find_receipt(tx: Tx, agent_id: str, session_id: str, message_id: str) -> Receipt | None:
    row = await tx.get(MessageReceipt, (agent_id, session_id, message_id))
    return Receipt(row.message_id, row.event_id, row.turn_id) if row else None


async def insert_receipt(tx: Tx, agent_id: str, session_id: str, message_id: str) -> bool:
    """Record the message id; False when it was recorded before (a retry)."""
    stmt = (
        insert(MessageReceipt)
        .values(agent_id=agent_id, session_id=session_id, message_id=message_id)
        .on_conflict_do_nothing()
    )
    return bool((await tx.execute(stmt)).rowcount)  # type: ignore[attr-defined]


async def complete_receipt(
    tx: Tx, agent_id: str, session_id: str, message_id: str, *, event_id: int, turn_id: int | None
) -> None:
    await tx.execute(
        update(MessageReceipt)
        .where(
            MessageReceipt.agent_id == agent_id,
            MessageReceipt.session_id == session_id,
            MessageReceipt.message_id == message_id,
        )
        .values(event_id=event_id, turn_id=turn_id)
    )
