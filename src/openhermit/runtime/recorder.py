"""The runner's `TurnSink`: stores each step of a turn and publishes it."""

from __future__ import annotations

from typing import Any

from openhermit.protocol.events import TextDelta, ThinkingDelta
from openhermit.runtime.context import shrink_tool_result
from openhermit.runtime.journal import Journal, NewEvent
from openhermit.runtime.metrics import RuntimeMetrics
from openhermit.runtime.models.base import Finish, ToolCallPart
from openhermit.runtime.tools.base import ToolOutcome


class TurnRecorder:
    def __init__(
        self,
        journal: Journal,
        metrics: RuntimeMetrics,
        *,
        agent_id: str,
        session_id: str,
        turn_id: int | None,
        correlation_id: str | None,
        workspace_dir: str,
        provider: str,
        model: str,
        introspection: bool = False,
        defer_final: list[NewEvent] | None = None,
    ) -> None:
        self.journal = journal
        self.metrics = metrics
        self.agent_id = agent_id
        self.session_id = session_id
        self.turn_id = turn_id
        self.correlation_id = correlation_id
        self.workspace_dir = workspace_dir
        self.provider = provider
        self.model = model
        self.introspection = introspection
        # When given, the final assistant row is appended here for the caller to store with the
        # turn's end (one transaction less per turn) instead of being stored at once.
        self.defer_final = defer_final

    def _tags(self) -> dict[str, Any]:
        tags: dict[str, Any] = {"correlationId": self.correlation_id}
        if self.introspection:
            tags["introspection"] = True
        return tags

    async def _record(self, row: NewEvent) -> None:
        await self.journal.record(self.agent_id, self.session_id, [row], self.turn_id)

    def text_delta(self, text: str) -> None:
        if not self.introspection and self.journal.flashed(self.agent_id, self.session_id, "text_delta"):
            self.journal.flash(
                self.agent_id,
                self.session_id,
                TextDelta(session_id=self.session_id, text=text, correlation_id=self.correlation_id),
                self.turn_id,
            )

    def thinking_delta(self, text: str) -> None:
        if not self.introspection and self.journal.flashed(self.agent_id, self.session_id, "thinking_delta"):
            self.journal.flash(
                self.agent_id,
                self.session_id,
                ThinkingDelta(session_id=self.session_id, text=text, correlation_id=self.correlation_id),
                self.turn_id,
            )

    async def assistant(self, finish: Finish, *, final: bool) -> None:
        usage = finish.usage
        for direction, count in (
            ("in", usage.input),
            ("out", usage.output),
            ("cache_read", usage.cache_read),
            ("cache_write", usage.cache_write),
        ):
            if count:
                self.metrics.tokens.labels(self.agent_id, direction).inc(count)
        payload: dict[str, Any] = {
            **self._tags(),
            "text": finish.text,
            "provider": self.provider,
            "model": self.model,
            "usage": usage.model_dump(mode="json", by_alias=True),
            "stopReason": finish.stop_reason,
            "final": final and not self.introspection,
        }
        if finish.thinking:
            payload["thinking"] = finish.thinking
        if finish.thinking_signature:
            payload["thinkingSignature"] = finish.thinking_signature
        if finish.tool_calls:
            payload["toolCalls"] = [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in finish.tool_calls
            ]
        row = NewEvent("assistant", payload, content=finish.text or None)
        if final and self.defer_final is not None:
            self.defer_final.append(row)
            return
        await self._record(row)

    async def tool_call(self, call: ToolCallPart) -> None:
        self.metrics.tool_calls.labels(self.agent_id, call.name).inc()
        await self._record(
            NewEvent(
                "tool_call",
                {**self._tags(), "tool": call.name, "toolCallId": call.id, "args": call.arguments},
            )
        )

    async def tool_result(self, call: ToolCallPart, outcome: ToolOutcome) -> str:
        shown, saved = shrink_tool_result(outcome.text, call.id, self.workspace_dir)
        payload: dict[str, Any] = {
            **self._tags(),
            "tool": call.name,
            "toolCallId": call.id,
            "isError": outcome.is_error,
            "text": shown,
        }
        if outcome.details is not None:
            payload["details"] = outcome.details
        if saved:
            payload["savedTo"] = saved
        await self._record(NewEvent("tool_result", payload))
        return shown
