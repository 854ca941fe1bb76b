"""Agents: rows of `agents`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from openhermit.errors import Conflict
from openhermit.protocol.agents import AgentRecord, AgentStatus
from openhermit.store.driver import driver
from openhermit.store.engine import DriverTx, Tx
from openhermit.store.tables.agents import Agent


def _record(row: Agent) -> AgentRecord:
    return AgentRecord(
        agent_id=row.agent_id,
        name=row.name,
        workspace_dir=row.workspace_dir,
        config=row.config_json or {},
        security=row.security_json or {},
        status=row.status,  # type: ignore[arg-type]
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def insert_agent(
    tx: Tx,
    agent_id: str,
    *,
    workspace_dir: str,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    security: dict[str, Any] | None = None,
) -> AgentRecord:
    """Insert a new agent; `Conflict` if the id is taken."""
    stmt = (
        insert(Agent)
        .values(
            agent_id=agent_id,
            name=name,
            workspace_dir=workspace_dir,
            config_json=config or {},
            security_json=security or {},
        )
        .on_conflict_do_nothing()
        .returning(Agent)
    )
    row = (await tx.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise Conflict(f"Agent {agent_id} already exists.")
    return _record(row)


async def get_agent(tx: Tx, agent_id: str) -> AgentRecord | None:
    row = await tx.get(Agent, agent_id)
    return _record(row) if row else None


async def setup_revision(tx: Tx | DriverTx, agent_id: str) -> tuple[int, int] | None:
    """The agent's revision and the fleet's (None when the agent does not exist).

    The agent's moves with every change of its row, instructions, policies, secrets, sandboxes
    and skill or MCP assignments; the fleet's with the skill and MCP registries and `*` rows.
    """
    row = await (await driver(tx)).fetchrow(_SETUP_REVISION, agent_id)
    return (int(row[0]), int(row[1])) if row else None


_SETUP_REVISION = """
SELECT a.revision, coalesce((SELECT (m.value ->> 'n')::bigint FROM meta m WHERE m.key = 'fleet_revision'), 0)
FROM agents a WHERE a.agent_id = $1
"""


async def configured_concurrency(tx: Tx, agent_id: str) -> str | None:
    """The `concurrency` of the agent's configuration, if it sets one."""
    return await (await driver(tx)).fetchval(  # type: ignore[no-any-return]
        "SELECT config_json ->> 'concurrency' FROM agents WHERE agent_id = $1", agent_id
    )


async def list_agents(tx: Tx, *, status: AgentStatus | None = None) -> list[AgentRecord]:
    stmt = select(Agent).order_by(Agent.agent_id)
    if status is not None:
        stmt = stmt.where(Agent.status == status)
    return [_record(row) for row in (await tx.execute(stmt)).scalars()]


async def count_agents(tx: Tx) -> int:
    return int((await tx.execute(select(func.count()).select_from(Agent))).scalar_one())


async def update_agent(
    tx: Tx,
    agent_id: str,
    *,
    status: AgentStatus | None = None,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    security: dict[str, Any] | None = None,
) -> bool:
    changes: dict[str, Any] = {"updated_at": func.now()}
    if status is not None:
        changes["status"] = status
    if name is not None:
        changes["name"] = name
    if config is not None:
        changes["config_json"] = config
    if security is not None:
        changes["security_json"] = security
    result = await tx.execute(update(Agent).where(Agent.agent_id == agent_id).values(**changes))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_agent(tx: Tx, agent_id: str) -> bool:
    """Delete the agent and, by cascade, everything scoped to it."""
    result = await tx.execute(delete(Agent).where(Agent.agent_id == agent_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]
