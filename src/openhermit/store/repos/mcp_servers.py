"""The MCP server registry (`mcp_servers`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert

from openhermit.protocol.capabilities import McpServerDefinition
from openhermit.store.engine import Tx
from openhermit.store.repos.assignments import enabled_ids, remove_resource
from openhermit.store.tables.capabilities import AgentMcpServer, McpServer


@dataclass(frozen=True)
class McpServerRow:
    """A registry row as stored: header and env values are templates (`${{SECRET}}`)."""

    id: str
    name: str
    description: str
    transport: str
    url: str | None
    headers: dict[str, str] = field(default_factory=dict)
    command: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


def _row(row: McpServer) -> McpServerRow:
    return McpServerRow(
        id=row.id,
        name=row.name,
        description=row.description,
        transport=row.transport,
        url=row.url,
        headers=dict(row.headers or {}),
        command=row.command,
        args=[str(a) for a in row.args or []],
        env=dict(row.env or {}),
        metadata=dict(row.metadata_ or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def list_servers(tx: Tx) -> list[McpServerRow]:
    return [_row(r) for r in (await tx.execute(select(McpServer).order_by(McpServer.id))).scalars()]


async def get_server(tx: Tx, server_id: str) -> McpServerRow | None:
    row = await tx.get(McpServer, server_id, populate_existing=True)
    return _row(row) if row is not None else None


async def upsert_server(tx: Tx, body: McpServerDefinition) -> tuple[McpServerRow, bool]:
    """Create or replace the entry; returns it and whether it is new."""
    existed = await tx.get(McpServer, body.id) is not None
    values = {
        "id": body.id,
        "name": body.name,
        "description": body.description,
        "transport": body.transport or "http",
        "url": body.url,
        "headers": body.headers or {},
        "command": body.command,
        "args": body.args or [],
        "env": body.env or {},
        "metadata_": body.metadata or {},
    }
    stmt = insert(McpServer).values(**values)
    replaced = {k.rstrip("_"): stmt.excluded[k.rstrip("_")] for k in values if k != "id"}
    await tx.execute(
        stmt.on_conflict_do_update(index_elements=["id"], set_={**replaced, "updated_at": func.now()})
    )
    found = await get_server(tx, body.id)
    assert found is not None
    return found, not existed


async def delete_server(tx: Tx, server_id: str) -> bool:
    await remove_resource(tx, AgentMcpServer, server_id)
    result = await tx.execute(delete(McpServer).where(McpServer.id == server_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def enabled_servers(tx: Tx, agent_id: str) -> list[McpServerRow]:
    ids = await enabled_ids(tx, AgentMcpServer, agent_id)
    if not ids:
        return []
    rows = (await tx.execute(select(McpServer).where(McpServer.id.in_(ids)).order_by(McpServer.id))).scalars()
    return [_row(r) for r in rows]
