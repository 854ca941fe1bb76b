"""Instructions: named prompt sections per agent, and fleet-wide fan-out."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import delete, func, literal, select
from sqlalchemy.dialects.postgresql import insert

from openhermit.protocol.agents import Instruction as InstructionModel
from openhermit.store.engine import Tx
from openhermit.store.tables.agents import Agent, Instruction

FanoutMode = Literal["set", "append", "remove"]


async def list_instructions(tx: Tx, agent_id: str) -> list[InstructionModel]:
    rows = await tx.execute(
        select(Instruction).where(Instruction.agent_id == agent_id).order_by(Instruction.key)
    )
    return [InstructionModel(key=r.key, content=r.content, updated_at=r.updated_at) for r in rows.scalars()]


async def get_instruction(tx: Tx, agent_id: str, key: str) -> InstructionModel | None:
    row = await tx.get(Instruction, (agent_id, key))
    return InstructionModel(key=row.key, content=row.content, updated_at=row.updated_at) if row else None


async def put_instruction(tx: Tx, agent_id: str, key: str, content: str) -> None:
    stmt = insert(Instruction).values(agent_id=agent_id, key=key, content=content)
    await tx.execute(
        stmt.on_conflict_do_update(
            index_elements=["agent_id", "key"], set_={"content": content, "updated_at": func.now()}
        )
    )


async def delete_instruction(tx: Tx, agent_id: str, key: str) -> bool:
    result = await tx.execute(
        delete(Instruction).where(Instruction.agent_id == agent_id, Instruction.key == key)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def fanout(tx: Tx, mode: FanoutMode, key: str, content: str = "") -> list[str]:
    """Apply one change to the instruction `key` of every agent, in one statement.

    `set` replaces, `append` adds a paragraph (creating the key where missing), `remove`
    deletes it. Returns the ids of the agents that changed.
    """
    if mode == "remove":
        result = await tx.execute(
            delete(Instruction).where(Instruction.key == key).returning(Instruction.agent_id)
        )
        return sorted(result.scalars())
    source = select(Agent.agent_id, literal(key), literal(content))
    stmt = insert(Instruction).from_select(["agent_id", "key", "content"], source)
    if mode == "set":
        new_content = stmt.excluded.content
    else:
        new_content = func.concat_ws("\n\n", func.nullif(Instruction.content, ""), stmt.excluded.content)
    stmt = stmt.on_conflict_do_update(
        index_elements=["agent_id", "key"], set_={"content": new_content, "updated_at": func.now()}
    ).returning(Instruction.agent_id)
    return sorted((await tx.execute(stmt)).scalars())
