"""Introspection: a separate model run that updates working memory, description and memories."""

from __future__ import annotations

import logging
from typing import Any

from openhermit.protocol.agent_config import ModelSettings
from openhermit.runtime.context import order_for_turn
from openhermit.runtime.deps import RuntimeDeps
from openhermit.runtime.journal import NewEvent
from openhermit.runtime.loop import run_loop
from openhermit.runtime.models.base import ChatMessage, ModelError, ModelRequest
from openhermit.runtime.models.providers import MissingApiKey
from openhermit.runtime.recorder import TurnRecorder
from openhermit.runtime.runner import AgentRunner, TurnSetupError
from openhermit.runtime.tools.base import ToolContext
from openhermit.runtime.tools.catalog import INTROSPECTION_TOOLS
from openhermit.store.repos import sessions

log = logging.getLogger(__name__)

INTROSPECTION_PROMPT = (
    "You are the reflective memory of an agent. Read the new part of the conversation below and:\n"
    "1. update the session's working memory (working_memory_update) with what the agent must keep in "
    "mind for the rest of this session;\n"
    "2. set a one-line session description (session_description_update) if it is missing or wrong;\n"
    "3. store durable facts about people and their preferences in long-term memory (memory_add), "
    "checking first with memory_recall to avoid duplicates.\n"
    "Then answer with a one-sentence summary of what you changed."
)

_SPECS = [t.spec() for t in INTROSPECTION_TOOLS.values()]  # one list: model clients keep its JSON


class Introspector:
    """Runs introspection for one agent, at most once at a time per session."""

    def __init__(self, deps: RuntimeDeps, agent_id: str) -> None:
        self.deps = deps
        self.agent_id = agent_id
        self._running: set[str] = set()

    async def run(self, runner: AgentRunner, session_id: str, reason: str) -> bool:
        """Introspect new rows of the session; False if nothing new, already running, or no key.
        `runner` is the agent's: introspection uses the setup it keeps."""
        if session_id in self._running:
            return False
        self._running.add(session_id)
        try:
            return await self._run(runner, session_id, reason)
        finally:
            self._running.discard(session_id)

    async def _run(self, runner: AgentRunner, session_id: str, reason: str) -> bool:
        async with self.deps.db.driver_connection() as conn:
            found = await sessions.to_introspect(conn, self.agent_id, session_id)
        if found is None or found.setup_revision is None:
            return False
        session, revision, fresh = found
        if reason == "new_session":
            async with self.deps.db.transaction() as tx:
                await sessions.set_session_status(tx, self.agent_id, session_id, "inactive")
        if not fresh:
            return False
        try:
            found = await runner.setup_at(revision)
        except TurnSetupError:
            return False  # the turns report it
        if found is None:
            return False
        setup, config = found
        agent = setup.agent
        settings = config.model
        if config.memory.introspection.model:
            settings = ModelSettings.model_validate(
                {**settings.model_dump(), "model": config.memory.introspection.model}
            )
        try:
            client = await self.deps.models.get(
                settings, setup.secrets or {}, self.deps.settings.provider_api_keys
            )
        except MissingApiKey:
            return False
        transcript = "\n".join(f"{r.event_type}: {r.content}" for r in order_for_turn(fresh, None))
        context = (
            f"Previous working memory:\n{session.working_memory or '(empty)'}\n\n"
            f"Current description: {session.description or '(none)'}\n\nNew conversation:\n{transcript}"
        )
        await self.deps.journal.record(
            self.agent_id,
            session_id,
            [NewEvent("introspection_start", {"reason": reason, "introspection": True})],
        )
        closing: list[NewEvent] = []  # the final answer, stored with `introspection_end` in one insert
        recorder = TurnRecorder(
            self.deps.journal,
            self.deps.metrics,
            agent_id=self.agent_id,
            session_id=session_id,
            turn_id=None,
            correlation_id=None,
            workspace_dir=agent.workspace_dir,
            provider=client.provider,
            model=client.model,
            introspection=True,
            defer_final=closing,
        )
        ctx = ToolContext(
            agent_id=self.agent_id,
            session_id=session_id,
            db=self.deps.db,
            secrets=self.deps.secrets,
            workspace_dir=agent.workspace_dir,
            introspection=True,
        )
        request = ModelRequest(
            system=INTROSPECTION_PROMPT,
            messages=[ChatMessage(role="user", text=context)],
            tools=_SPECS,
            max_tokens=min(settings.max_tokens, 4096),
        )
        summary: str
        payload: dict[str, Any] = {"reason": reason, "introspection": True, "upToEventId": fresh[-1].id}
        try:
            result = await run_loop(
                client,
                request,
                INTROSPECTION_TOOLS,
                ctx,
                recorder,
                max_tool_calls=config.memory.introspection.max_tool_calls,
            )
            summary = result.text.strip() or "Introspection finished."
        except ModelError as exc:
            summary = f"Introspection failed: {exc}"
            payload["error"] = True
        closing.append(NewEvent("introspection_end", {**payload, "summary": summary}))
        await self.deps.journal.record(self.agent_id, session_id, closing)
        return "error" not in payload
