"""The MCP servers of one agent: which are enabled (read from the database each time), their
connections, and their tools as `mcp__<server>__<tool>`."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict

from openhermit.protocol.capabilities import McpServerState
from openhermit.runtime.deps import RuntimeDeps
from openhermit.runtime.mcp.templates import MissingSecret, expand
from openhermit.runtime.models.base import ToolSpec
from openhermit.runtime.tools.base import OWNER_USER, Tool, ToolContext, ToolInput, ToolOutcome
from openhermit.store.repos import mcp_servers
from openhermit.store.repos.mcp_servers import McpServerRow

if TYPE_CHECKING:
    from openhermit.runtime.mcp.connection import McpConnection

log = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def tool_name(server_id: str, tool: str) -> str:
    return f"mcp__{server_id}__{_UNSAFE.sub('_', tool)}"[:128]


class McpInput(ToolInput):
    model_config = ConfigDict(extra="allow")


class McpTool(Tool):
    """A tool of a connected MCP server; its schema is the server's."""

    Input = McpInput
    default_grants = OWNER_USER

    def __init__(self, connection: McpConnection, tool: Any) -> None:
        self.connection = connection
        self.remote_name = str(tool.name)
        self.name = tool_name(connection.server_id, self.remote_name)  # type: ignore[misc]
        self.description = (tool.description or f"{self.remote_name} (MCP server {connection.server_id})")[  # type: ignore[misc]
            :1024
        ]
        schema = dict(tool.input_schema or {})
        schema.setdefault("type", "object")
        schema.setdefault("properties", {})
        self._spec = ToolSpec(name=self.name, description=self.description, parameters=schema)

    def spec(self) -> ToolSpec:
        return self._spec

    async def run(self, ctx: ToolContext, args: Any) -> ToolOutcome:
        return await self.connection.call(self.remote_name, dict(args.model_extra or {}))


def server_view_fields(row: McpServerRow) -> dict[str, Any]:
    """The fields of `McpServerView` for a row: header and env keys, never their values."""
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "transport": row.transport,
        "url": row.url,
        "command": row.command,
        "args": row.args,
        "header_keys": sorted(row.headers),
        "env_keys": sorted(row.env),
        "metadata": row.metadata,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


class McpHub:
    def __init__(self, agent_id: str, deps: RuntimeDeps) -> None:
        self.agent_id = agent_id
        self.deps = deps
        self._connections: dict[str, tuple[str, McpConnection]] = {}
        self._problems: dict[str, str] = {}  # servers that cannot start (a missing secret)
        self._rows: list[McpServerRow] = []
        self._closing: set[asyncio.Task[None]] = set()
        self.closed = False

    async def refresh(self, secrets: Mapping[str, str] | None = None) -> dict[str, Tool]:
        """Re-read the enabled servers, start or stop connections to match (in the background),
        and return the tools of those connected now."""
        async with self.deps.db.transaction() as tx:
            rows = await mcp_servers.enabled_servers(tx, self.agent_id)
        if secrets is None:
            secrets = await self.deps.secrets.values(self.agent_id)
        self.reconcile(rows, secrets)
        return self.tools()

    def reconcile(self, rows: list[McpServerRow], secrets: Mapping[str, str]) -> None:
        if self.closed:
            return  # the runner was evicted; a late refresh must not open connections
        self._rows = rows
        self._problems = {}
        wanted: dict[str, Any] = {}
        for row in rows:
            try:
                wanted[row.id] = expand(row, secrets)
            except MissingSecret as exc:
                self._problems[row.id] = str(exc)
        settings = self.deps.settings
        for server_id in list(self._connections):
            fingerprint, connection = self._connections[server_id]
            if server_id not in wanted or wanted[server_id].fingerprint != fingerprint:
                del self._connections[server_id]
                self._close_later(connection)
        for server_id, server in wanted.items():
            if server_id in self._connections:
                continue
            # The MCP SDK is imported with the first enabled server: a gateway without any does
            # not carry it (tens of MB of resident memory).
            from openhermit.runtime.mcp.connection import McpConnection

            connection = McpConnection(
                server,
                connect_timeout=settings.mcp_connect_timeout_seconds,
                call_timeout=settings.mcp_call_timeout_seconds,
                retry_base=settings.mcp_retry_base_seconds,
                retry_max=settings.mcp_retry_max_seconds,
                ping_interval=settings.mcp_ping_interval_seconds,
            )
            self._connections[server_id] = (server.fingerprint, connection)
            connection.start()

    def _close_later(self, connection: McpConnection) -> None:
        task = asyncio.get_running_loop().create_task(connection.close())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    def tools(self) -> dict[str, Tool]:
        found: dict[str, Tool] = {}
        for _fingerprint, connection in self._connections.values():
            if connection.status == "connected":
                for tool in connection.tools:
                    mcp_tool = McpTool(connection, tool)
                    found[mcp_tool.name] = mcp_tool
        return found

    def states(self) -> list[McpServerState]:
        """The enabled servers (as last read) with this process's connection to each."""
        states = []
        for row in self._rows:
            state = McpServerState(**server_view_fields(row))
            entry = self._connections.get(row.id)
            if row.id in self._problems:
                state.status, state.last_error = "error", self._problems[row.id]
            elif entry is not None:
                connection = entry[1]
                state.status, state.last_error = connection.status, connection.last_error
                state.connected_at = connection.connected_at
                state.tools = [tool_name(row.id, str(t.name)) for t in connection.tools]
            states.append(state)
        return states

    async def close(self) -> None:
        self.closed = True
        connections = [c for _f, c in self._connections.values()]
        self._connections.clear()
        await asyncio.gather(*(c.close() for c in connections), *self._closing, return_exceptions=True)
