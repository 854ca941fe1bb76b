"""The model loop: stream a reply, run the tools it asks for, repeat until it answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from openhermit.runtime.models.base import (
    ChatMessage,
    Finish,
    ModelClient,
    ModelRequest,
    TextDelta,
    ThinkingDelta,
    ToolCallPart,
)
from openhermit.runtime.tools.base import Tool, ToolContext, ToolFailed, ToolOutcome, execute

MAX_CONSECUTIVE_TOOL_FAILURES = 15


class TurnAborted(Exception):
    """The turn cannot go on (for example, too many tool failures in a row)."""

    def __init__(self, message: str, result: LoopResult) -> None:
        super().__init__(message)
        self.result = result


class TurnSink(Protocol):
    """Where the loop reports what happens; the runner stores and publishes it."""

    def text_delta(self, text: str) -> None: ...

    def thinking_delta(self, text: str) -> None: ...

    async def assistant(self, finish: Finish, *, final: bool) -> None: ...

    async def tool_call(self, call: ToolCallPart) -> None: ...

    async def tool_result(self, call: ToolCallPart, outcome: ToolOutcome) -> str:
        """Store the result; return the text the model sees (possibly shortened)."""
        ...


# Asked before a tool runs: None = no approval needed, True/False = the decision.
ApprovalGate = Callable[[ToolCallPart], Awaitable[bool | None]]


@dataclass
class LoopResult:
    text: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost: float = 0.0
    steps: int = 0


async def run_loop(
    client: ModelClient,
    request: ModelRequest,
    tools: dict[str, Tool],
    ctx: ToolContext,
    sink: TurnSink,
    *,
    approval: ApprovalGate | None = None,
    max_tool_calls: int | None = None,
) -> LoopResult:
    result = LoopResult(text="")
    failures = 0
    calls_made = 0
    messages: list[ChatMessage] = list(request.messages)
    while True:
        result.steps += 1
        finish: Finish | None = None
        step = ModelRequest(request.system, messages, request.tools, request.max_tokens, request.thinking)
        async for event in client.stream(step):
            if isinstance(event, TextDelta):
                sink.text_delta(event.text)
            elif isinstance(event, ThinkingDelta):
                sink.thinking_delta(event.text)
            else:
                finish = event
        assert finish is not None, "a model stream ends with Finish"
        usage = finish.usage
        result.input_tokens += usage.input
        result.output_tokens += usage.output
        result.cache_read_tokens += usage.cache_read
        result.cache_write_tokens += usage.cache_write
        result.cost += usage.cost.total
        budget_left = max_tool_calls is None or calls_made < max_tool_calls
        final = not finish.tool_calls or not budget_left
        if final and not finish.text and finish.thinking:
            finish.text = finish.thinking  # a thinking-only answer is still an answer
        await sink.assistant(finish, final=final)
        messages.append(
            ChatMessage(
                role="assistant",
                text=finish.text,
                tool_calls=finish.tool_calls,
                thinking=finish.thinking,
                thinking_signature=finish.thinking_signature,
            )
        )
        if final:
            result.text = finish.text
            return result
        for call in finish.tool_calls:
            calls_made += 1
            await sink.tool_call(call)
            outcome = await _run_one(call, tools, ctx, approval)
            shown = await sink.tool_result(call, outcome)
            result.tool_calls.append(
                {
                    "tool": call.name,
                    "args": call.arguments,
                    "isError": outcome.is_error,
                    "text": outcome.text,
                    "details": outcome.details,
                }
            )
            messages.append(
                ChatMessage(
                    role="tool",
                    text=shown,
                    tool_call_id=call.id,
                    tool_name=call.name,
                    is_error=outcome.is_error,
                )
            )
            failures = failures + 1 if outcome.is_error else 0
            if failures >= MAX_CONSECUTIVE_TOOL_FAILURES:
                raise TurnAborted(f"{failures} consecutive tool calls failed; the turn was stopped.", result)


async def _run_one(
    call: ToolCallPart, tools: dict[str, Tool], ctx: ToolContext, approval: ApprovalGate | None
) -> ToolOutcome:
    tool = tools.get(call.name)
    if tool is None:
        return ToolOutcome(text=f"Unknown tool {call.name}.", is_error=True)
    if approval is not None:
        try:
            decision = await approval(call)
        except ToolFailed as exc:
            return ToolOutcome(text=str(exc), is_error=True)
        if decision is False:
            return ToolOutcome(text=f"The call to {call.name} was not approved.", is_error=True)
    return await execute(tool, ctx, call.arguments)
