"""The hot agents of this process: lazy hydration (single-flight), eviction, triggers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from openhermit.protocol.agent_config import AgentConfig
from openhermit.runtime.deps import RuntimeDeps
from openhermit.runtime.introspection import Introspector
from openhermit.runtime.runner import AgentRunner
from openhermit.runtime.workspace_scaffold import scaffold_workspace
from openhermit.store.repos import agents

log = logging.getLogger(__name__)


class Fleet:
    def __init__(self, deps: RuntimeDeps, *, ttl_seconds: float) -> None:
        self.deps = deps
        self.ttl_seconds = ttl_seconds
        self._runners: dict[str, AgentRunner] = {}
        self._introspectors: dict[str, Introspector] = {}
        self._hydrating: dict[str, asyncio.Future[AgentRunner | None]] = {}
        self._idle_timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self.hydrations = 0

    # Hydration -----------------------------------------------------------------------------
    def peek(self, agent_id: str) -> AgentRunner | None:
        return self._runners.get(agent_id)

    @property
    def running(self) -> int:
        return len(self._runners)

    async def get(self, agent_id: str) -> AgentRunner | None:
        """The agent's runner, hydrating it on first use; None if it is missing or disabled."""
        runner = self._runners.get(agent_id)
        if runner is not None:
            runner.touch()
            return runner
        pending = self._hydrating.get(agent_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[AgentRunner | None] = asyncio.get_running_loop().create_future()
        self._hydrating[agent_id] = future
        try:
            runner = await self._hydrate(agent_id)
            future.set_result(runner)
            return runner
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved; callers get it through their own await
            raise
        finally:
            del self._hydrating[agent_id]

    async def _hydrate(self, agent_id: str) -> AgentRunner | None:
        async with self.deps.db.transaction() as tx:
            record = await agents.get_agent(tx, agent_id)
        if record is None or record.status != "active":
            return None
        try:
            await asyncio.to_thread(scaffold_workspace, Path(record.workspace_dir))
        except OSError as exc:  # the agent still answers; its file tools will report the cause
            log.warning("agent %s: cannot make its workspace folders: %s", agent_id, exc)
        runner = AgentRunner(agent_id, self.deps)
        runner.on_turn_finished.append(self._after_turn)
        self._runners[agent_id] = runner
        self.hydrations += 1
        # Skills into the sandbox, MCP connections: in the background, not counted as the runner's
        # work (an idle agent can still be evicted meanwhile).
        self._in_background(self._refresh(runner))
        return runner

    @staticmethod
    async def _refresh(runner: AgentRunner) -> None:
        try:
            await runner.refresh_capabilities()
        except Exception:
            log.warning("refreshing the skills and MCP servers of %s failed", runner.agent_id, exc_info=True)

    async def refresh_capabilities(self, agent_id: str = "*") -> int:
        """Apply skill and MCP changes to this process's hot agents (`*`: all); returns how many."""
        targets = [r for a, r in self._runners.items() if agent_id in ("*", a)]
        await asyncio.gather(*(self._refresh(r) for r in targets))
        return len(targets)

    def capabilities_changed(self, agent_id: str) -> None:
        """Another process changed skills or MCP servers of an agent (or `*`)."""
        if agent_id == "*" or agent_id in self._runners:
            self._in_background(self.refresh_capabilities(agent_id))

    def _in_background(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def introspector(self, agent_id: str) -> Introspector:
        found = self._introspectors.get(agent_id)
        if found is None:
            found = self._introspectors[agent_id] = Introspector(self.deps, agent_id)
        return found

    # Introspection triggers ----------------------------------------------------------------
    def _after_turn(self, runner: AgentRunner, session_id: str, completed: int, config: AgentConfig) -> None:
        settings = config.memory.introspection
        if not settings.enabled:
            return
        introspector = self.introspector(runner.agent_id)
        if completed % settings.turn_interval == 0:
            runner.spawn(introspector.run(runner, session_id, "turn_limit"))
        key = (runner.agent_id, session_id)
        if (timer := self._idle_timers.pop(key, None)) is not None:
            timer.cancel()
        if settings.idle_timeout_minutes > 0:
            self._idle_timers[key] = asyncio.get_running_loop().call_later(
                settings.idle_timeout_minutes * 60, self._idle_fire, runner, session_id
            )

    def _idle_fire(self, runner: AgentRunner, session_id: str) -> None:
        self._idle_timers.pop((runner.agent_id, session_id), None)
        if not runner.is_running(session_id):
            runner.spawn(self.introspector(runner.agent_id).run(runner, session_id, "idle"))

    # Other processes ------------------------------------------------------------------------
    def forget(self, agent_id: str) -> None:
        """Another process changed the agent's status: drop our runner so the next request
        reads the agent again (a disabled agent then answers 404 here too)."""
        runner = self._runners.get(agent_id)
        if runner is not None and runner.idle:
            asyncio.get_running_loop().create_task(self.evict(agent_id))

    def interrupt_here(self, agent_id: str, session_id: str) -> None:
        """Another process asked to interrupt a session's turn; end it if it runs here."""
        runner = self._runners.get(agent_id)
        if runner is not None:
            runner.interrupt(session_id)

    def catch_up_subscribed(self) -> None:
        """After the notification connection came back, re-read what subscribers may have missed."""
        journal = self.deps.journal
        for agent_id, session_id in self.deps.bus.subscribed_sessions():
            task = asyncio.get_running_loop().create_task(
                journal.catch_up(agent_id, session_id, journal.last_id(agent_id, session_id))
            )
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    # Eviction ------------------------------------------------------------------------------
    async def evict(self, agent_id: str) -> bool:
        runner = self._runners.pop(agent_id, None)
        self._introspectors.pop(agent_id, None)
        for key in [k for k in self._idle_timers if k[0] == agent_id]:
            self._idle_timers.pop(key).cancel()
        if runner is None:
            return False
        await runner.close()
        return True

    async def evict_idle(self) -> list[str]:
        """Evict runners idle longer than the TTL with no work and no live subscribers."""
        if self.ttl_seconds <= 0:
            return []
        now = time.monotonic()
        idle = [
            agent_id
            for agent_id, runner in self._runners.items()
            if runner.idle
            and now - runner.last_used >= self.ttl_seconds
            and self.deps.bus.subscriber_count(agent_id) == 0
        ]
        for agent_id in idle:
            await self.evict(agent_id)
        return idle

    def start(self) -> None:
        if self._ticker is None and self.ttl_seconds > 0:
            self._ticker = asyncio.create_task(self._tick(), name="eviction")

    async def _tick(self) -> None:
        interval = max(0.05, min(60.0, self.ttl_seconds / 4))
        while True:
            await asyncio.sleep(interval)
            try:
                evicted = await self.evict_idle()
                if evicted:
                    log.info("evicted idle agents: %s", ", ".join(evicted))
            except Exception:
                log.exception("eviction tick failed")

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        for agent_id in list(self._runners):
            await self.evict(agent_id)
