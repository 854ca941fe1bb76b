"""Idempotency receipts: one per client `messageId` per session, in every mode."""

from __future__ import annotations

from dataclasses import dataclass

from openhermit.store.driver import driver
from openhermit.store.engine import DriverTx, Tx


@dataclass(frozen=True)
class Receipt:
    message_id: str
    event_id: int | None
    turn_id: int | None


async def find_receipt(tx: Tx | DriverTx, agent_id: str, session_id: str, message_id: str) -> Receipt | None:
    row = await (await driver(tx)).fetchrow(_FIND, agent_id, session_id, message_id)
    return Receipt(row["message_id"], row["event_id"], row["turn_id"]) if row else None


_FIND = """
SELECT message_id, event_id, turn_id FROM message_receipts
WHERE agent_id = $1 AND session_id = $2 AND message_id = $3
"""


async def insert_receipt(tx: Tx | DriverTx, agent_id: str, session_id: str, message_id: str) -> bool:
    """Record the message id; False when it was recorded before (a retry)."""
    found = await (await driver(tx)).fetchval(_INSERT, agent_id, session_id, message_id)
    return found is not None


_INSERT = """
INSERT INTO message_receipts (agent_id, session_id, message_id) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING RETURNING 1
"""


async def complete_receipt(
    tx: Tx | DriverTx, agent_id: str, session_id: str, message_id: str, *, event_id: int, turn_id: int | None
) -> None:
    await (await driver(tx)).execute(_COMPLETE, agent_id, session_id, message_id, event_id, turn_id)


_COMPLETE = """
UPDATE message_receipts SET event_id = $4, turn_id = $5
WHERE agent_id = $1 AND session_id = $2 AND message_id = $3
"""
