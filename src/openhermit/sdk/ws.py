"""WebSocket RPC client: `{kind: request|response|event}` frames with request ids."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import websockets

from openhermit.sdk.errors import GatewayError


class RpcError(GatewayError):
    """An error response (`INVALID_PARAMS`, `SESSION_NOT_FOUND`, …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(0, code, message)


class AgentSocket:
    """One WebSocket to one agent: call methods, and receive events of subscribed sessions.

    async with AgentSocket.connect("http://127.0.0.1:4000", "main", token) as socket:
        await socket.call("session.subscribe", sessionId="s")
        async for event in socket.events():
            ...
    """

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, base_url: str, agent_id: str, token: str) -> AsyncIterator[AgentSocket]:
        url = base_url.replace("http://", "ws://").replace("https://", "wss://").rstrip("/")
        async with websockets.connect(
            f"{url}/api/agents/{quote(agent_id, safe='')}/ws?token={quote(token)}"
        ) as conn:
            socket = cls(conn)
            try:
                yield socket
            finally:
                socket._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await socket._reader

    async def _read(self) -> None:
        async for raw in self._connection:
            frame = json.loads(raw)
            if frame.get("kind") == "event":
                await self._events.put(frame)
            elif frame.get("kind") == "response":
                future = self._pending.pop(str(frame.get("id")), None)
                if future is not None and not future.done():
                    future.set_result(frame)

    async def call(self, method: str, **params: Any) -> Any:
        """Send one request and wait for its response; raises `RpcError` on an error response."""
        request_id = str(next(self._ids))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        await self._connection.send(
            json.dumps({"kind": "request", "id": request_id, "method": method, "params": params})
        )
        frame = await future
        if "error" in frame:
            raise RpcError(frame["error"].get("code", "INTERNAL_ERROR"), frame["error"].get("message", ""))
        return frame.get("result")

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Event frames `{eventId, sessionId, event}` of every subscribed session, in order."""
        while True:
            yield await self._events.get()
