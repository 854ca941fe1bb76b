"""OpenAI-compatible chat completions (OpenAI, OpenRouter, vLLM, Ollama, ...) via the `openai` SDK."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import openai
from openai._models import FinalRequestOptions
from openai.types.chat import ChatCompletion

from openhermit.protocol.json_text import dumps
from openhermit.protocol.usage import Usage, UsageCost
from openhermit.runtime.models.base import (
    ChatMessage,
    Endpoint,
    Finish,
    ModelError,
    ModelRequest,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    ToolCallPart,
    ToolSpec,
    VendorClient,
    describe_failure,
    sdk_options,
)
from openhermit.runtime.models.encoded_tools import EncodedTools

_EFFORT = {"minimal": "minimal", "low": "low", "medium": "medium", "high": "high"}


def _message(message: ChatMessage) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.text}
    if message.role == "assistant":
        out: dict[str, Any] = {"role": "assistant", "content": message.text or None}
        if message.tool_calls:
            out["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                }
                for c in message.tool_calls
            ]
        return out
    if message.images:
        parts: list[dict[str, Any]] = [{"type": "text", "text": message.text}]
        parts += [
            {"type": "image_url", "image_url": {"url": f"data:{i.mime_type};base64,{i.base64}"}}
            for i in message.images
        ]
        return {"role": "user", "content": parts}
    return {"role": "user", "content": message.text}


def _usage(reported: dict[str, Any]) -> Usage:
    """Token counts of a chunk's `usage` (OpenRouter adds the request's `cost`)."""
    cached = (reported.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
    return Usage(
        input=(reported.get("prompt_tokens") or 0) - cached,
        output=reported.get("completion_tokens") or 0,
        cache_read=cached,
        total_tokens=reported.get("total_tokens") or 0,
        cost=UsageCost(total=float(reported.get("cost") or 0)),
    )


def _tool(spec: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": spec.name, "description": spec.description, "parameters": spec.parameters},
    }


class OpenAIChatClient(VendorClient):
    api = "openai-completions"

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint, openai.AsyncOpenAI(**sdk_options(endpoint, openai.DefaultAioHttpClient())))
        self._tools = EncodedTools(_tool)
        # Every request's options, but its body; `post` would build them anew from the model's
        # defaults each time (deep-copying them). `request` copies what it is given per attempt.
        self._options = FinalRequestOptions.construct(
            method="post", url="/chat/completions", security={"bearer_auth": True}
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        messages = [{"role": "system", "content": request.system}, *map(_message, request.messages)]
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": request.max_tokens,
        }
        if request.thinking in _EFFORT:
            kwargs["reasoning_effort"] = _EFFORT[request.thinking]
        body = dumps(kwargs)
        if request.tools:  # spliced in as cached JSON text: `body` is a non-empty object
            body = f'{body[:-1]},"tools":{self._tools.json(request.tools)}}}'
        text: list[str] = []
        thinking: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        finish_reason = "stop"
        usage = Usage()
        try:
            # The low-level request sends our body, already JSON (`create` would walk it against
            # the SDK's TypedDicts and encode the tool list anew on every call), and
            # `AsyncStream[object]` hands each chunk over as the decoded JSON instead of building
            # typed objects from it: together they were most of the SDK's cost per turn.
            # Transport, auth, retries and error mapping stay the SDK's.
            stream = await self._client.request(
                ChatCompletion,
                self._options.model_copy(update={"content": body.encode()}),
                stream=True,
                stream_cls=openai.AsyncStream[object],
            )
            async for chunk in stream:
                if not isinstance(chunk, dict):
                    raise ValueError(f"a chunk is {type(chunk).__name__}, not an object")
                if reported := chunk.get("usage"):
                    usage = _usage(reported)
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta") or {}
                    reasoning = delta.get("reasoning") or delta.get("reasoning_content")
                    if reasoning:
                        thinking.append(reasoning)
                        yield ThinkingDelta(reasoning)
                    if content := delta.get("content"):
                        text.append(content)
                        yield TextDelta(content)
                    for call in delta.get("tool_calls") or ():
                        slot = calls.setdefault(call.get("index", 0), {"id": "", "name": "", "arguments": ""})
                        if call.get("id"):
                            slot["id"] = call["id"]
                        function = call.get("function") or {}
                        slot["name"] += function.get("name") or ""
                        slot["arguments"] += function.get("arguments") or ""
                    if choice.get("finish_reason"):
                        finish_reason = choice["finish_reason"]
        except openai.APIError as exc:
            raise ModelError(describe_failure(exc)) from exc
        except (json.JSONDecodeError, ValueError) as exc:
            raise ModelError(f"malformed response from the model endpoint ({describe_failure(exc)})") from exc
        parsed = []
        for index in sorted(calls):
            slot = calls[index]
            try:
                arguments = json.loads(slot["arguments"] or "{}")
            except json.JSONDecodeError:
                arguments = {"_raw": slot["arguments"]}
            parsed.append(
                ToolCallPart(id=slot["id"] or f"call_{index}", name=slot["name"], arguments=arguments)
            )
        yield Finish(
            text="".join(text),
            tool_calls=parsed,
            stop_reason="toolUse" if parsed else ("length" if finish_reason == "length" else "stop"),
            usage=usage,
            thinking="".join(thinking) or None,
        )
