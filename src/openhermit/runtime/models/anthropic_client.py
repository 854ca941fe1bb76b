"""Anthropic messages API via the `anthropic` SDK, streaming with thinking and tool use."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic

from openhermit.protocol.usage import Usage
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
    VendorClient,
    describe_failure,
    sdk_options,
)

_BUDGET = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384}


def _messages(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Anthropic wants tool results inside user turns and strictly alternating roles."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool":
            block: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.text,
                "is_error": message.is_error,
            }
            role, blocks = "user", [block]
        elif message.role == "assistant":
            blocks = []
            if message.thinking and message.thinking_signature:
                blocks.append(
                    {
                        "type": "thinking",
                        "thinking": message.thinking,
                        "signature": message.thinking_signature,
                    }
                )
            if message.text:
                blocks.append({"type": "text", "text": message.text})
            blocks += [
                {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                for c in message.tool_calls
            ]
            role = "assistant"
            if not blocks:
                continue
        else:
            role, blocks = "user", [{"type": "text", "text": message.text or "(empty)"}]
            blocks += [
                {"type": "image", "source": {"type": "base64", "media_type": i.mime_type, "data": i.base64}}
                for i in message.images
            ]
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out


class AnthropicClient(VendorClient):
    api = "anthropic-messages"

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(
            endpoint, anthropic.AsyncAnthropic(**sdk_options(endpoint, anthropic.DefaultAioHttpClient()))
        )

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "system": request.system,
            "messages": _messages(request.messages),
            "max_tokens": request.max_tokens,
            "stream": True,
        }
        if request.tools:
            kwargs["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in request.tools
            ]
        if request.thinking in _BUDGET:
            budget = min(_BUDGET[request.thinking], max(1024, request.max_tokens - 1))
            kwargs["thinking"] = {"type": "enabled", "budget_tokens": budget}
        text: list[str] = []
        thinking: list[str] = []
        signature = ""
        tools: dict[int, dict[str, Any]] = {}
        stop_reason = "end_turn"
        usage = Usage()
        try:
            stream = await self._client.messages.create(**kwargs)
            async for event in stream:
                if event.type == "message_start":
                    u = event.message.usage
                    usage = Usage(
                        input=u.input_tokens,
                        cache_read=u.cache_read_input_tokens or 0,
                        cache_write=u.cache_creation_input_tokens or 0,
                    )
                elif event.type == "content_block_start" and event.content_block.type == "tool_use":
                    block = event.content_block
                    tools[event.index] = {"id": block.id, "name": block.name, "json": ""}
                elif event.type == "content_block_delta":
                    delta = event.delta
                    if delta.type == "text_delta":
                        text.append(delta.text)
                        yield TextDelta(delta.text)
                    elif delta.type == "thinking_delta":
                        thinking.append(delta.thinking)
                        yield ThinkingDelta(delta.thinking)
                    elif delta.type == "signature_delta":
                        signature += delta.signature
                    elif delta.type == "input_json_delta" and event.index in tools:
                        tools[event.index]["json"] += delta.partial_json
                elif event.type == "message_delta":
                    stop_reason = event.delta.stop_reason or stop_reason
                    usage.output = event.usage.output_tokens
        except anthropic.APIError as exc:
            raise ModelError(describe_failure(exc)) from exc
        except (json.JSONDecodeError, ValueError) as exc:
            raise ModelError(f"malformed response from the model endpoint ({describe_failure(exc)})") from exc
        usage.total_tokens = usage.input + usage.output + usage.cache_read + usage.cache_write
        calls = []
        for index in sorted(tools):
            slot = tools[index]
            try:
                arguments = json.loads(slot["json"] or "{}")
            except json.JSONDecodeError:
                arguments = {"_raw": slot["json"]}
            calls.append(ToolCallPart(id=slot["id"], name=slot["name"], arguments=arguments))
        yield Finish(
            text="".join(text),
            tool_calls=calls,
            stop_reason={"tool_use": "toolUse", "max_tokens": "length"}.get(stop_reason, "stop"),
            usage=usage,
            thinking="".join(thinking) or None,
            thinking_signature=signature or None,
        )
