"""Encrypted agent secrets. This repository sees only ciphertext."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from openhermit.store.engine import Tx
from openhermit.store.tables.agents import AgentSecret


@dataclass(frozen=True)
class StoredSecret:
    name: str
    ciphertext: str
    pass_through: bool


async def list_secrets(tx: Tx, agent_id: str) -> list[StoredSecret]:
    rows = await tx.execute(
        select(AgentSecret.name, AgentSecret.value_ciphertext, AgentSecret.pass_through)
        .where(AgentSecret.agent_id == agent_id)
        .order_by(AgentSecret.name)
    )
    return [StoredSecret(name, ct, pt) for name, ct, pt in rows]


async def get_secret(tx: Tx, agent_id: str, name: str) -> StoredSecret | None:
    row = (
        await tx.execute(
            select(AgentSecret.name, AgentSecret.value_ciphertext, AgentSecret.pass_through).where(
                AgentSecret.agent_id == agent_id, AgentSecret.name == name
            )
        )
    ).first()
    return StoredSecret(*row) if row else None


async def put_secret(tx: Tx, agent_id: str, name: str, ciphertext: str, pass_through: bool | None) -> None:
    values = {"agent_id": agent_id, "name": name, "value_ciphertext": ciphertext}
    changes: dict[str, object] = {"value_ciphertext": ciphertext, "updated_at": func.now()}
    if pass_through is not None:
        values["pass_through"] = pass_through
        changes["pass_through"] = pass_through
    stmt = insert(AgentSecret).values(**values)
    await tx.execute(stmt.on_conflict_do_update(index_elements=["agent_id", "name"], set_=changes))


async def set_pass_through(tx: Tx, agent_id: str, name: str, pass_through: bool) -> bool:
    result = await tx.execute(
        update(AgentSecret)
        .where(AgentSecret.agent_id == agent_id, AgentSecret.name == name)
        .values(pass_through=pass_through, updated_at=func.now())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_secret(tx: Tx, agent_id: str, name: str) -> bool:
    result = await tx.execute(
        delete(AgentSecret).where(AgentSecret.agent_id == agent_id, AgentSecret.name == name)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def any_secret(tx: Tx) -> tuple[str, str, str] | None:
    """One stored secret (agent, name, ciphertext), to check that the configured key fits."""
    row = (
        await tx.execute(
            select(AgentSecret.agent_id, AgentSecret.name, AgentSecret.value_ciphertext).limit(1)
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None
