"""WebSocket RPC at `/api/agents/{id}/ws`: request/response frames and session event streams."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import Field, ValidationError
from starlette.responses import Response

from openhermit.errors import Conflict, InboxReadOnly, Invalid, NotFound, OpenHermitError, Unauthorized
from openhermit.gateway.auth import caller_of
from openhermit.gateway.state import platform_of
from openhermit.protocol.base import StrictWireModel
from openhermit.protocol.sessions import SessionMessage, SessionSpec
from openhermit.runtime import session_ops
from openhermit.runtime.access import AgentAccess, resolve_access
from openhermit.runtime.messages import interrupt_session, post_message
from openhermit.runtime.runner import AgentRunner
from openhermit.runtime.streams import Ready, session_stream

router = APIRouter()
log = logging.getLogger(__name__)


class RpcError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class SessionRef(StrictWireModel):
    session_id: str = Field(min_length=1)


class MessageParams(SessionMessage):
    session_id: str = Field(min_length=1)


class ApproveParams(SessionRef):
    tool_call_id: str
    approved: bool


class CheckpointParams(SessionRef):
    reason: Literal["manual", "new_session", "turn_limit", "idle"] = "manual"


class SubscribeParams(SessionRef):
    last_event_id: int | None = Field(None, ge=0)


class ListParams(StrictWireModel):
    kind: str | None = None
    platform: str | None = None
    interactive: bool | None = None
    limit: int = Field(100, ge=1, le=1000)
    channel: str | None = None
    metadata: dict[str, Any] | None = None
    observe: bool | None = None
    include_inactive: bool = False


def _error_code(exc: OpenHermitError) -> str:
    if isinstance(exc, InboxReadOnly):
        return "INBOX_READ_ONLY"
    if isinstance(exc, NotFound):
        return "SESSION_NOT_FOUND"
    if isinstance(exc, Invalid):
        return "INVALID_PARAMS"
    if isinstance(exc, Unauthorized):
        return "UNAUTHORIZED"
    if isinstance(exc, Conflict):
        return "CONFLICT"
    return "INTERNAL_ERROR"


class Connection:
    """One client: its requests in order, and a task per subscribed session."""

    def __init__(self, websocket: WebSocket, runner: AgentRunner, access: AgentAccess) -> None:
        self.websocket = websocket
        self.runner = runner
        self.access = access
        self.subscriptions: dict[str, asyncio.Task[None]] = {}
        self._send_lock = asyncio.Lock()
        self.methods: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {
            "session.open": self.open,
            "session.message": self.message,
            "session.approve": self.approve,
            "session.interrupt": self.interrupt,
            "session.checkpoint": self.checkpoint,
            "session.list": self.list,
            "session.history": self.history,
            "session.delete": self.delete,
            "session.subscribe": self.subscribe,
            "session.unsubscribe": self.unsubscribe,
        }

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.websocket.send_text(json.dumps(frame))

    async def serve(self) -> None:
        try:
            while True:
                raw = await self.websocket.receive_text()
                await self.handle(raw)
        except WebSocketDisconnect:
            pass
        finally:
            for task in self.subscriptions.values():
                task.cancel()
            await asyncio.gather(*self.subscriptions.values(), return_exceptions=True)

    async def handle(self, raw: str) -> None:
        try:
            frame = json.loads(raw)
            if not isinstance(frame, dict):
                raise ValueError("a frame is a JSON object")
        except ValueError:
            await self.send(
                {
                    "kind": "response",
                    "id": "",
                    "error": {"code": "INVALID_PARAMS", "message": "Frame is not valid JSON."},
                }
            )
            return
        request_id = str(frame.get("id", ""))
        method = self.methods.get(str(frame.get("method")))
        try:
            if frame.get("kind") != "request" or method is None:
                raise RpcError("INVALID_PARAMS", f"Unknown method {frame.get('method')!r}.")
            params = frame.get("params") or {}
            if not isinstance(params, dict):
                raise RpcError("INVALID_PARAMS", "params must be an object.")
            result = await method(params)
        except RpcError as exc:
            await self.send(
                {"kind": "response", "id": request_id, "error": {"code": exc.code, "message": exc.message}}
            )
            return
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first.get("loc", ())) or "params"
            message = f"{where}: {first.get('msg', 'invalid')}"
            await self.send(
                {
                    "kind": "response",
                    "id": request_id,
                    "error": {"code": "INVALID_PARAMS", "message": message},
                }
            )
            return
        except OpenHermitError as exc:
            error = {"code": _error_code(exc), "message": exc.message}
            await self.send({"kind": "response", "id": request_id, "error": error})
            return
        except Exception:
            log.exception("websocket method %s failed", frame.get("method"))
            error = {"code": "INTERNAL_ERROR", "message": "Internal error."}
            await self.send({"kind": "response", "id": request_id, "error": error})
            return
        await self.send({"kind": "response", "id": request_id, "result": result})
        if frame.get("method") == "session.subscribe":
            self._start_stream(SubscribeParams.model_validate(params))

    # Methods -------------------------------------------------------------------------------
    async def open(self, params: dict[str, Any]) -> dict[str, Any]:
        spec = SessionSpec.model_validate(params)
        return {"sessionId": await session_ops.open_session(self.runner, spec, self.access)}

    async def message(self, params: dict[str, Any]) -> dict[str, Any]:
        body = MessageParams.model_validate(params)
        if body.append_as is not None or body.occurred_at is not None:
            raise RpcError("INVALID_PARAMS", "appendAs and occurredAt are only allowed when appending.")
        accepted = await post_message(self.runner, body.session_id, body, self.access)
        result: dict[str, Any] = {"sessionId": accepted.session_id, "triggered": accepted.triggered}
        if accepted.message_id:
            result["messageId"] = accepted.message_id
        return result

    async def approve(self, params: dict[str, Any]) -> dict[str, Any]:
        body = ApproveParams.model_validate(params)
        await session_ops.visible_session(self.runner, self.access, body.session_id)
        return {"resolved": self.runner.approve(body.session_id, body.tool_call_id, body.approved)}

    async def interrupt(self, params: dict[str, Any]) -> dict[str, Any]:
        body = SessionRef.model_validate(params)
        await session_ops.visible_session(self.runner, self.access, body.session_id)
        return {"interrupted": await interrupt_session(self.runner, body.session_id)}

    async def checkpoint(self, params: dict[str, Any]) -> dict[str, Any]:
        body = CheckpointParams.model_validate(params)
        await session_ops.visible_session(self.runner, self.access, body.session_id)
        introspector = platform_of(self.websocket).fleet.introspector(self.runner.agent_id)
        return {"checkpointed": await introspector.run(self.runner, body.session_id, body.reason)}

    async def list(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        body = ListParams.model_validate(params)
        found = await session_ops.list_sessions(
            self.runner,
            self.access,
            observe=bool(body.observe),
            kind=body.kind,
            platform=body.platform,
            interactive=body.interactive,
            limit=body.limit,
            channel=body.channel,
            metadata=body.metadata,
            include_inactive=body.include_inactive,
        )
        return [s.wire() for s in found]

    async def history(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        body = SessionRef.model_validate(params)
        return [
            entry.wire() for entry in await session_ops.history(self.runner, self.access, body.session_id)
        ]

    async def delete(self, params: dict[str, Any]) -> dict[str, Any]:
        body = SessionRef.model_validate(params)
        await session_ops.delete_session(self.runner, self.access, body.session_id)
        return {"deleted": True}

    async def subscribe(self, params: dict[str, Any]) -> dict[str, Any]:
        body = SubscribeParams.model_validate(params)
        await session_ops.visible_session(self.runner, self.access, body.session_id)
        return {"subscribed": True}

    async def unsubscribe(self, params: dict[str, Any]) -> dict[str, Any]:
        body = SessionRef.model_validate(params)
        task = self.subscriptions.pop(body.session_id, None)
        if task is None:
            raise RpcError("NOT_SUBSCRIBED", f"Not subscribed to {body.session_id}.")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return {"unsubscribed": True}

    def _start_stream(self, params: SubscribeParams) -> None:
        previous = self.subscriptions.pop(params.session_id, None)
        if previous is not None:
            previous.cancel()
        self.subscriptions[params.session_id] = asyncio.create_task(
            self._forward(params.session_id, params.last_event_id)
        )

    async def _forward(self, session_id: str, after: int | None) -> None:
        stream = session_stream(self.runner.deps, self.runner.agent_id, session_id, after=after)
        try:
            async for item in stream:
                if isinstance(item, Ready):
                    continue
                frame = {
                    "kind": "event",
                    "eventId": item.id,
                    "sessionId": session_id,
                    "event": item.event.wire(),
                }
                await self.send(frame)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            await stream.aclose()


@router.websocket("/api/agents/{agent_id}/ws")
async def rpc(websocket: WebSocket, agent_id: str) -> None:
    """Credentials are checked before the upgrade: none → 401, agent unavailable → 503."""
    caller = await caller_of(websocket)
    if caller is None:
        await websocket.send_denial_response(Response(status_code=401))
        return
    platform = platform_of(websocket)
    try:
        async with platform.db.transaction() as tx:
            access = await resolve_access(tx, caller, agent_id)
        runner = await platform.fleet.get(agent_id) if access is not None else None
    except Unauthorized:
        await websocket.send_denial_response(Response(status_code=401))
        return
    except Exception:
        log.exception("hydrating %s for a websocket failed", agent_id)
        await websocket.send_denial_response(Response(status_code=500))
        return
    if runner is None or access is None:
        await websocket.send_denial_response(Response(status_code=503))
        return
    await websocket.accept()
    runner.busy += 1
    try:
        await Connection(websocket, runner, access).serve()
    finally:
        runner.busy -= 1
