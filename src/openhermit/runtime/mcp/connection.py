"""One agent's connection to one MCP server, kept up by a background task.

The task connects (status `connecting`), lists the tools (`connected`), then waits; a failed
call or ping marks the connection `error` with the message, and the task reconnects with
exponential backoff. Nothing here blocks a turn: a turn uses whatever is connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from datetime import UTC, datetime
from typing import Any

import anyio
import httpx2
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from mcp import Client
from openhermit.protocol.capabilities import McpStatus
from openhermit.runtime.mcp.templates import ExpandedServer, redact
from openhermit.runtime.tools.base import ToolOutcome

# Errors that concern one call, not the connection.
_CALL_ERRORS = (-32600, -32601, -32602)


def describe(exc: BaseException) -> str:
    """A one-line message for an exception, unwrapping task-group exception groups."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return "the server did not answer in time"
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if not isinstance(exc, MCPError) else text


class McpConnection:
    def __init__(
        self,
        server: ExpandedServer,
        *,
        connect_timeout: float,
        call_timeout: float,
        retry_base: float,
        retry_max: float,
        ping_interval: float,
    ) -> None:
        self.server = server
        self.status: McpStatus = "connecting"
        self.last_error: str | None = None
        self.connected_at: datetime | None = None
        self.tools: list[Any] = []  # mcp `Tool` objects of the current connection
        self._connect_timeout = connect_timeout
        self._call_timeout = call_timeout
        self._retry_base = retry_base
        self._retry_max = retry_max
        self._ping_interval = ping_interval
        self._client: Client | None = None
        self._broken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def server_id(self) -> str:
        return self.server.row.id

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"mcp:{self.server_id}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        self._task = None
        self._client = None
        self.tools = []
        self.status = "disconnected"

    def _fail(self, message: str) -> None:
        self.status = "error"
        self.tools = []  # none is offered or listed once broken, not only after the session closed
        self.last_error = redact(message, self.server.secrets)
        self._broken.set()

    # The connection task ---------------------------------------------------------------------
    def _transport(self, stack: contextlib.AsyncExitStack) -> Any:
        row = self.server.row
        if row.transport == "stdio":
            params = StdioServerParameters(
                command=row.command or "", args=row.args, env=self.server.env or None
            )
            errlog = stack.enter_context(open(os.devnull, "w"))  # noqa: SIM115 - closed by the stack
            return stdio_client(params, errlog=errlog)
        timeout = httpx2.Timeout(self._connect_timeout, read=self._call_timeout)
        http = httpx2.AsyncClient(headers=self.server.headers, timeout=timeout)
        return streamable_http_client(row.url or "", http_client=http), http

    async def _session(self, stack: contextlib.AsyncExitStack) -> Client:
        transport = self._transport(stack)
        if isinstance(transport, tuple):
            transport, http = transport
            await stack.enter_async_context(http)
        client = Client(transport, read_timeout_seconds=self._connect_timeout, cache=None)
        return await stack.enter_async_context(client)

    async def _run(self) -> None:
        delay = self._retry_base
        while True:
            self.status = "connecting"
            self._broken.clear()
            try:
                async with contextlib.AsyncExitStack() as stack:
                    # Requests (the handshake and the listing included) time out after
                    # `read_timeout_seconds`; the session must be entered and left in this task.
                    client = await self._session(stack)
                    listed = await client.list_tools()
                    self.tools = list(listed.tools)
                    self._client = client
                    self.status, self.last_error = "connected", None
                    self.connected_at = datetime.now(UTC)
                    delay = self._retry_base
                    await self._watch(client)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                if self.status != "error":  # a failed call already said what went wrong
                    self._fail(f"could not connect: {describe(exc)}")
            self._client = None
            self.tools = []
            if self.status != "error":
                self._fail("the connection was lost")
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._retry_max)

    async def _watch(self, client: Client) -> None:
        """Wait until a call fails, pinging now and then to notice a server that went away."""
        while not self._broken.is_set():
            try:
                await asyncio.wait_for(self._broken.wait(), self._ping_interval)
            except TimeoutError:
                try:
                    with anyio.fail_after(self._connect_timeout):
                        await client.send_ping()
                except Exception as exc:
                    self._fail(f"the server stopped answering pings: {describe(exc)}")

    # Calls -----------------------------------------------------------------------------------
    async def call(self, tool: str, arguments: dict[str, Any]) -> ToolOutcome:
        client = self._client
        if client is None or self.status != "connected":
            if self.status == "connecting":
                text = f"MCP server {self.server_id} is still connecting. Try again in a moment."
            else:
                text = f"MCP server {self.server_id} is not connected ({self.status}: {self.last_error})."
            return ToolOutcome(text=text, is_error=True)
        try:
            with anyio.fail_after(self._call_timeout):
                result = await client.call_tool(tool, arguments, read_timeout_seconds=self._call_timeout)
        except MCPError as exc:
            message = redact(describe(exc), self.server.secrets)
            if exc.code not in _CALL_ERRORS:
                self._fail(f"calling {tool} failed: {message}")
            return ToolOutcome(text=f"MCP server {self.server_id}: {message}", is_error=True)
        except Exception as exc:
            self._fail(f"calling {tool} failed: {describe(exc)}")
            return ToolOutcome(text=f"MCP server {self.server_id}: {self.last_error}", is_error=True)
        return ToolOutcome(
            text=redact(_result_text(result), self.server.secrets),
            is_error=bool(getattr(result, "is_error", False)),
        )


def _result_text(result: Any) -> str:
    parts = []
    for block in getattr(result, "content", None) or []:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(block.text)
        elif kind == "resource" and getattr(block.resource, "text", None) is not None:
            parts.append(block.resource.text)
        else:
            parts.append(f"[{kind or 'content'} omitted]")
    structured = getattr(result, "structured_content", None)
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False))
    return "\n".join(parts) or "(no output)"
