"""A real HTTP model server for tests and benchmarks, scripted reply by reply.

It speaks the OpenAI chat-completions (`POST /v1/chat/completions`) and Anthropic messages
(`POST /v1/messages`) wire formats, streaming included, so the production client code (the
vendors' own SDKs) is what gets exercised. It records every request it receives.

    server = FakeModelServer().start()
    server.script(Reply(tool_calls=[("memory_add", {"content": "x"})]), Reply(text="done"))
    ... point an agent at server.openai_base_url or server.anthropic_base_url ...
    server.stop()
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class Reply:
    """One model response. Tool calls are `(name, arguments)` pairs."""

    text: str = ""
    thinking: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: int = 200  # non-200: an API error with this status
    delay: float = 0.0  # seconds before the first byte (for timeouts)
    hold: threading.Event | None = None  # no byte is sent until the test sets this event
    garbage: bool = False  # a stream that is not valid JSON
    hang_after_first_delta: float = 0.0  # seconds to stall mid-stream (for interrupts)
    chunk: int = 8  # characters per text delta
    # Write each delta on its own, as a model streaming in real time does; otherwise an instant
    # reply goes out in one write (a reply that stalls mid-stream is always written piece by piece).
    pieces: bool = False
    input_tokens: int = 11
    output_tokens: int = 7
    cost: float | None = None  # reported in the usage block, as OpenRouter does


@dataclass
class Received:
    api: str  # "openai" | "anthropic"
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def system_prompt(self) -> str:
        if self.api == "anthropic":
            system = self.body.get("system", "")
            return system if isinstance(system, str) else "".join(b.get("text", "") for b in system)
        return "".join(
            m.get("content", "") for m in self.body.get("messages", []) if m.get("role") == "system"
        )

    @property
    def tool_names(self) -> list[str]:
        tools = self.body.get("tools") or []
        if self.api == "anthropic":
            return [t["name"] for t in tools]
        return [t["function"]["name"] for t in tools]

    def text(self) -> str:
        """Everything the model was shown, as one string (for leak checks)."""
        return json.dumps(self.body)


def _chunks(text: str, size: int) -> Iterator[str]:
    for start in range(0, len(text), max(1, size)):
        yield text[start : start + size]


def _sse(data: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return b"%sdata: %s\n\n" % (head.encode(), orjson.dumps(data))


def _streamed(chunks: AsyncIterator[bytes], reply: Reply) -> StreamingResponse:
    """A streamed reply: piece by piece when it asks so or stalls mid-stream; otherwise in one
    write, as an instant model's stream arrives, which keeps the server's own CPU per reply low."""
    if reply.pieces or reply.hang_after_first_delta:
        return StreamingResponse(chunks, media_type="text/event-stream")

    async def whole() -> AsyncIterator[bytes]:
        yield b"".join([piece async for piece in chunks])

    return StreamingResponse(whole(), media_type="text/event-stream")


class FakeModelServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.received: list[Received] = []
        self.record = True  # keep every request in `received` (benchmarks turn this off)
        # time.monotonic() when each reply's first text delta was handed to the HTTP server.
        self.first_token_sent: list[float] = []
        self.default: Reply | Callable[[Received], Reply] = Reply(text="ok")
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # Scripting -----------------------------------------------------------------------------
    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def reset(self) -> None:
        with self._lock:
            self._replies.clear()
            self.received.clear()
            self.first_token_sent.clear()
        self.default = Reply(text="ok")

    def _next(self, received: Received) -> Reply:
        with self._lock:
            if self.record:
                self.received.append(received)
            if self._replies:
                return self._replies.popleft()
        return self.default(received) if callable(self.default) else self.default

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._replies)

    # Lifecycle -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.base_url

    def agent_model(self, api: str = "openai", **overrides: Any) -> dict[str, Any]:
        """An agent's `model` config section pointing at this server (`api`: openai | anthropic)."""
        return {
            "provider": "fake",
            "model": "fake-model",
            "base_url": self.openai_base_url if api == "openai" else self.anthropic_base_url,
            "api": "openai-completions" if api == "openai" else "anthropic-messages",
            "max_retries": 0,
            **overrides,
        }

    def start(self) -> FakeModelServer:
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._openai, methods=["POST"]),
                Route("/v1/messages", self._anthropic, methods=["POST"]),
            ]
        )
        config = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-model", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake model server did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Endpoints -----------------------------------------------------------------------------
    async def _take(self, request: Request, api: str) -> tuple[Reply, dict[str, Any]]:
        body = orjson.loads(await request.body())
        reply = self._next(Received(api=api, body=body, headers=dict(request.headers)))
        if reply.delay:
            await asyncio.sleep(reply.delay)
        while reply.hold is not None and not reply.hold.is_set():
            # The event is set from the test's thread; wait for it in short slices so a
            # worker thread is never tied up for long.
            await asyncio.to_thread(reply.hold.wait, 0.2)
        return reply, body

    async def _openai(self, request: Request) -> Response:
        reply, body = await self._take(request, "openai")
        if reply.status != 200:
            error = {"error": {"message": f"scripted failure {reply.status}", "type": "server_error"}}
            return JSONResponse(error, status_code=reply.status)
        if not body.get("stream"):
            return JSONResponse(self._openai_message(reply, body))
        return _streamed(self._openai_stream(reply, body), reply)

    def _openai_message(self, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        calls = [
            {
                "id": f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)},
            }
            for name, args in reply.tool_calls
        ]
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if calls:
            message["tool_calls"] = calls
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": {
                "prompt_tokens": reply.input_tokens,
                "completion_tokens": reply.output_tokens,
                "total_tokens": reply.input_tokens + reply.output_tokens,
            },
        }

    async def _openai_stream(self, reply: Reply, body: dict[str, Any]) -> AsyncIterator[bytes]:
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return _sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

        if reply.garbage:
            yield b"data: {this is not json\n\n"
            return
        yield chunk({"role": "assistant", "content": ""})
        for piece in _chunks(reply.thinking, reply.chunk):
            yield chunk({"reasoning": piece})
        first = True
        for piece in _chunks(reply.text, reply.chunk):
            if first:
                self.first_token_sent.append(time.monotonic())
            yield chunk({"content": piece})
            if first and reply.hang_after_first_delta:
                await asyncio.sleep(reply.hang_after_first_delta)
            first = False
        for index, (name, args) in enumerate(reply.tool_calls):
            call_id = f"call_{uuid.uuid4().hex[:12]}"
            encoded = json.dumps(args)
            half = len(encoded) // 2
            yield chunk(
                {
                    "tool_calls": [
                        {
                            "index": index,
                            "id": call_id,
                            "type": "function",
                            "function": {"name": name, "arguments": encoded[:half]},
                        }
                    ]
                }
            )
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": encoded[half:]}}]})
        yield chunk({}, "tool_calls" if reply.tool_calls else "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            usage: dict[str, Any] = {
                "prompt_tokens": reply.input_tokens,
                "completion_tokens": reply.output_tokens,
                "total_tokens": reply.input_tokens + reply.output_tokens,
            }
            if reply.cost is not None:
                usage["cost"] = reply.cost
            yield _sse({**base, "choices": [], "usage": usage})
        yield b"data: [DONE]\n\n"

    async def _anthropic(self, request: Request) -> Response:
        reply, body = await self._take(request, "anthropic")
        if reply.status != 200:
            error = {
                "type": "error",
                "error": {"type": "api_error", "message": f"scripted failure {reply.status}"},
            }
            return JSONResponse(error, status_code=reply.status)
        return _streamed(self._anthropic_stream(reply, body), reply)

    async def _anthropic_stream(self, reply: Reply, body: dict[str, Any]) -> AsyncIterator[bytes]:
        if reply.garbage:
            yield b"event: message_start\ndata: {not json\n\n"
            return
        message = {
            "id": f"msg_{uuid.uuid4().hex[:12]}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", "fake"),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": 0},
        }
        yield _sse({"type": "message_start", "message": message}, "message_start")
        index = 0
        if reply.thinking:
            yield _sse(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "thinking", "thinking": "", "signature": ""},
                },
                "content_block_start",
            )
            for piece in _chunks(reply.thinking, reply.chunk):
                yield _sse(
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "thinking_delta", "thinking": piece},
                    },
                    "content_block_delta",
                )
            yield _sse(
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "signature_delta", "signature": "fake-signature"},
                },
                "content_block_delta",
            )
            yield _sse({"type": "content_block_stop", "index": index}, "content_block_stop")
            index += 1
        if reply.text:
            yield _sse(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
                "content_block_start",
            )
            first = True
            for piece in _chunks(reply.text, reply.chunk):
                yield _sse(
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                    "content_block_delta",
                )
                if first and reply.hang_after_first_delta:
                    await asyncio.sleep(reply.hang_after_first_delta)
                first = False
            yield _sse({"type": "content_block_stop", "index": index}, "content_block_stop")
            index += 1
        for name, args in reply.tool_calls:
            yield _sse(
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {
                        "type": "tool_use",
                        "id": f"toolu_{uuid.uuid4().hex[:12]}",
                        "name": name,
                        "input": {},
                    },
                },
                "content_block_start",
            )
            yield _sse(
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": json.dumps(args)},
                },
                "content_block_delta",
            )
            yield _sse({"type": "content_block_stop", "index": index}, "content_block_stop")
            index += 1
        stop = "tool_use" if reply.tool_calls else "end_turn"
        yield _sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": reply.output_tokens},
            },
            "message_delta",
        )
        yield _sse({"type": "message_stop"}, "message_stop")
