"""Per-agent (or `*`) assignments of skills and MCP servers; a per-agent row overrides `*`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from openhermit.protocol.capabilities import McpAssignment, SkillAssignment
from openhermit.store.engine import Tx
from openhermit.store.tables.capabilities import AgentMcpServer, AgentSkill

EVERY_AGENT = "*"
Table = type[AgentSkill] | type[AgentMcpServer]


def _column(table: Table) -> Any:
    return table.skill_id if table is AgentSkill else table.mcp_server_id


async def set_enabled(tx: Tx, table: Table, agent_id: str, resource_id: str, enabled: bool) -> None:
    column = _column(table)
    stmt = insert(table).values({"agent_id": agent_id, column.key: resource_id, "enabled": enabled})
    await tx.execute(
        stmt.on_conflict_do_update(index_elements=["agent_id", column.key], set_={"enabled": enabled})
    )


async def list_assignments(
    tx: Tx, table: Table, resource_id: str | None = None
) -> list[SkillAssignment] | list[McpAssignment]:
    column = _column(table)
    stmt = select(table).order_by(column, table.agent_id)
    if resource_id is not None:
        stmt = stmt.where(column == resource_id)
    model = SkillAssignment if table is AgentSkill else McpAssignment
    return [
        model.model_validate(
            {
                "agent_id": row.agent_id,
                column.key: getattr(row, column.key),
                "enabled": row.enabled,
                "created_at": row.created_at,
            }
        )
        for row in (await tx.execute(stmt)).scalars()
    ]


async def enabled_ids(tx: Tx, table: Table, agent_id: str) -> list[str]:
    """Ids enabled for the agent: its own row if there is one, else the `*` row."""
    column = _column(table)
    rows = (
        await tx.execute(
            select(table.agent_id, column, table.enabled).where(table.agent_id.in_([agent_id, EVERY_AGENT]))
        )
    ).all()
    decided: dict[str, bool] = {}
    for _agent, resource_id, enabled in sorted(rows, key=lambda r: r[0] != EVERY_AGENT):
        decided[resource_id] = enabled  # the agent's own row comes last and wins
    return sorted(rid for rid, enabled in decided.items() if enabled)


async def remove_resource(tx: Tx, table: Table, resource_id: str) -> None:
    await tx.execute(delete(table).where(_column(table) == resource_id))


async def agents_with_resource(tx: Tx, table: Table, resource_id: str) -> list[str]:
    """Agent ids (or `*`) with a row for the resource."""
    rows = await tx.execute(select(table.agent_id).where(_column(table) == resource_id))
    return sorted(rows.scalars())
