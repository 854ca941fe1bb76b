"""The runtime's way to an agent's sandboxes: rows in the store, live backends in this process.

Implements `SandboxResolver`. A sandbox is built from its row on first use (`ondemand`) or when
a turn starts (`session`), its row marked provisioned after the first successful `ensure`, and
shut down after `idle_timeout_minutes` unused (`idle`) or at the end of each turn (`session`).
Rows are re-read on every lookup, so a sandbox deleted through another gateway is not used here.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from openhermit.errors import Conflict, Invalid, NotFound
from openhermit.protocol.sandboxes import CreateSandbox, Lifecycle, SandboxRecord
from openhermit.runtime.sandbox_presets import resolve_request
from openhermit.sandbox.base import Sandbox
from openhermit.sandbox.registry import SandboxSpec, build
from openhermit.secrets.base import SecretStore
from openhermit.store.engine import Database
from openhermit.store.repos import agents
from openhermit.store.repos import sandboxes as rows

SWEEP_SECONDS = 30.0


def lifecycle_of(config: dict[str, Any]) -> Lifecycle:
    try:
        return Lifecycle.model_validate(config.get("lifecycle") or {})
    except ValidationError as exc:
        raise Invalid(f"Invalid sandbox lifecycle: {exc.errors()[0]['msg']}") from None


def backend_config(config: dict[str, Any]) -> dict[str, Any]:
    """A row's config without the lifecycle, which is ours and not the backend's."""
    return {k: v for k, v in config.items() if k != "lifecycle"}


@dataclass
class Live:
    record: SandboxRecord
    sandbox: Sandbox
    env: dict[str, str]
    lifecycle: Lifecycle
    last_used: float = field(default_factory=time.monotonic)


class SandboxPool:
    """Live sandboxes of this gateway process, keyed by row id."""

    def __init__(self, db: Database, secrets: SecretStore) -> None:
        self.db = db
        self.secrets = secrets
        self.live: dict[str, Live] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._starting: set[asyncio.Task[None]] = set()
        self._session_aliases: dict[str, tuple[object, list[str]]] = {}  # agent → (revision, aliases)

    # Lookup ---------------------------------------------------------------------------------
    async def _row(self, agent_id: str, alias: str | None) -> tuple[SandboxRecord, Path]:
        async with self.db.transaction() as tx:
            agent = await agents.get_agent(tx, agent_id)
            if agent is None:
                raise NotFound(f"Agent {agent_id} not found.")
            found = await rows.list_sandboxes(tx, agent_id)
            if alias is not None:
                match = [r for r in found if r.alias == alias]
                if not match:
                    known = ", ".join(r.alias for r in found) or "none"
                    raise NotFound(f"No sandbox named {alias} (this agent has: {known}).")
                return match[0], Path(agent.workspace_dir)
            if found:
                return found[0], Path(agent.workspace_dir)
        return await self._auto_provision(agent_id), Path(agent.workspace_dir)

    async def _auto_provision(self, agent_id: str) -> SandboxRecord:
        """An agent without sandboxes gets one from the gateway's default preset."""
        try:
            async with self.db.transaction() as tx:
                preset = await resolve_request(tx, CreateSandbox())
                return await rows.create_sandbox(tx, agent_id, "default", preset.type, preset.config)
        except Invalid:
            raise NotFound("This agent has no sandbox and the gateway has no default preset.") from None
        except Conflict:  # created concurrently
            async with self.db.transaction() as tx:
                record = await rows.get_sandbox(tx, agent_id, "default")
            if record is None:
                raise
            return record

    async def for_agent(self, agent_id: str, alias: str | None = None) -> Sandbox:
        record, workspace = await self._row(agent_id, alias)
        env = await self.secrets.pass_through(agent_id)
        lock = self._locks.setdefault(record.id, asyncio.Lock())
        async with lock:
            live = self.live.get(record.id)
            if live is not None and live.env != env:  # pass-through secrets changed: rebuild
                await self._stop(record.id)
                live = None
            if live is None:
                spec = SandboxSpec(
                    id=record.id,
                    agent_id=agent_id,
                    alias=record.alias,
                    config=backend_config(record.config),
                    workspace_dir=workspace,
                    env=env,
                )
                sandbox = build(record.type, spec)
                await sandbox.ensure()
                live = Live(record, sandbox, env, lifecycle_of(record.config))
                self.live[record.id] = live
                if record.status == "pending":
                    async with self.db.transaction() as tx:
                        await rows.mark_provisioned(tx, record.id, getattr(sandbox, "external_id", None))
            live.last_used = time.monotonic()
            return live.sandbox

    # Lifecycle ------------------------------------------------------------------------------
    async def turn_started(self, agent_id: str, revision: object = None) -> None:
        """`start: session` sandboxes are made ready in the background as the turn begins (the
        turn never waits for this; a tool call that comes first builds the sandbox itself).

        With the agent's setup `revision`, the rows are read again only when it moved."""
        known = self._session_aliases.get(agent_id)
        aliases = known[1] if revision is not None and known is not None and known[0] == revision else None
        if aliases == []:
            return  # the agent has no `start: session` sandbox
        task = asyncio.create_task(self._start_session_sandboxes(agent_id, revision, aliases))
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    async def _start_session_sandboxes(
        self, agent_id: str, revision: object, aliases: list[str] | None
    ) -> None:
        """Start the given aliases, or read which to start (and remember them at `revision`)."""
        with contextlib.suppress(Exception):  # a failing backend surfaces at first tool use
            if aliases is None:
                async with self.db.transaction() as tx:
                    found = await rows.list_sandboxes(tx, agent_id)
                aliases = [r.alias for r in found if lifecycle_of(r.config).start == "session"]
                if revision is not None:
                    self._session_aliases[agent_id] = (revision, aliases)
            for alias in aliases:
                await self.for_agent(agent_id, alias)

    async def turn_finished(self, agent_id: str) -> None:
        """`stop: session` sandboxes of the agent are shut down when its turn ends."""
        for sid, live in list(self.live.items()):
            if live.record.agent_id == agent_id and live.lifecycle.stop == "session":
                await self._stop(sid)

    async def release(self, sandbox_id: str) -> None:
        """Forget a sandbox (after its row was deleted), stopping what runs."""
        await self._stop(sandbox_id)

    async def _stop(self, sandbox_id: str) -> None:
        live = self.live.pop(sandbox_id, None)
        if live is not None:
            with contextlib.suppress(Exception):
                await live.sandbox.shutdown()

    async def sweep_idle(self, now: float | None = None) -> list[str]:
        """Shut down `stop: idle` sandboxes unused for their idle timeout; their ids."""
        now = time.monotonic() if now is None else now
        stopped = []
        for sid, live in list(self.live.items()):
            lock = self._locks.get(sid)
            if lock is not None and lock.locked():
                continue
            idle = now - live.last_used
            if live.lifecycle.stop == "idle" and idle >= live.lifecycle.idle_timeout_minutes * 60:
                await self._stop(sid)
                stopped.append(sid)
        return stopped

    def runtime_view(self, sandbox_id: str) -> dict[str, Any] | None:
        live = self.live.get(sandbox_id)
        if live is None:
            return None
        return {"running": True, "idleSeconds": round(time.monotonic() - live.last_used, 1)}

    def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            await self.sweep_idle()

    async def stop(self) -> None:
        for task in list(self._starting):
            task.cancel()
        await asyncio.gather(*self._starting, return_exceptions=True)
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        for sid in list(self.live):
            await self._stop(sid)
