"""Gateway-wide key/value settings (`meta`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert

from openhermit.store.engine import Tx
from openhermit.store.tables.meta import Meta


async def get_meta(tx: Tx, key: str) -> dict[str, Any] | None:
    return (await tx.execute(select(Meta.value).where(Meta.key == key))).scalar_one_or_none()


async def put_meta(tx: Tx, key: str, value: dict[str, Any]) -> None:
    stmt = insert(Meta).values(key=key, value=value)
    await tx.execute(
        stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value, "updated_at": func.now()})
    )


async def put_meta_if_absent(tx: Tx, key: str, value: dict[str, Any]) -> bool:
    """Insert unless the key exists; True when this call wrote it."""
    result = await tx.execute(insert(Meta).values(key=key, value=value).on_conflict_do_nothing())
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def take_meta(tx: Tx, key: str) -> dict[str, Any] | None:
    """Read and delete a key (single use)."""
    row = await tx.execute(delete(Meta).where(Meta.key == key).returning(Meta.value))
    return row.scalar_one_or_none()
