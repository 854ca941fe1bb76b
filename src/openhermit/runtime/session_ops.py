"""Session operations shared by the HTTP routes and the WebSocket RPC."""

from __future__ import annotations

from typing import Any

from openhermit.errors import Conflict, Invalid, NotFound
from openhermit.protocol.agent_config import AgentConfig
from openhermit.protocol.sessions import SessionHistoryMessage, SessionSpec, SessionSummary
from openhermit.runtime.journal import NewEvent
from openhermit.runtime.rendering import history_for
from openhermit.runtime.runner import AgentRunner
from openhermit.store.repos import agents, events, sessions, turns


async def open_session(runner: AgentRunner, spec: SessionSpec) -> str:
    """Create the session (with a `session_started` event) or reopen an existing one."""
    if spec.session_id == "inbox":
        raise Invalid("The inbox session is created with the agent and cannot be opened.")
    deps = runner.deps
    stored = []
    async with deps.db.transaction() as tx:
        if await sessions.insert_session(tx, runner.agent_id, spec):
            agent = await agents.get_agent(tx, runner.agent_id)
            model = AgentConfig.model_validate(agent.config if agent else {}).model
            payload = {
                "source": spec.source.wire(),
                "metadata": spec.metadata or {},
                "model": {"provider": model.provider, "model": model.model},
            }
            started = NewEvent("session_started", payload)
            stored = await deps.journal.write(tx, runner.agent_id, spec.session_id, [started], None)
    deps.journal.publish(stored)
    return spec.session_id


async def list_sessions(runner: AgentRunner, **filters: Any) -> list[SessionSummary]:
    async with runner.deps.db.transaction() as tx:
        found = await sessions.list_sessions(tx, runner.agent_id, **filters)
        for summary in found:
            summary.last_event_id = await events.last_event_id(tx, runner.agent_id, summary.session_id)
    return found


async def history(runner: AgentRunner, session_id: str) -> list[SessionHistoryMessage]:
    async with runner.deps.db.transaction() as tx:
        if await sessions.get_session(tx, runner.agent_id, session_id) is None:
            raise NotFound(f"Session {session_id} not found.")
        rows = await events.list_history(tx, runner.agent_id, session_id)
        agent = await agents.get_agent(tx, runner.agent_id)
    agent_name = (agent.name if agent else None) or runner.agent_id
    out = []
    for row in rows:
        entry = history_for(row)
        if entry is None:
            continue
        if entry.role == "assistant" and entry.name is None:
            entry.name = agent_name
        out.append(entry)
    return out


async def delete_session(runner: AgentRunner, session_id: str) -> None:
    """Remove a session row (its events stay); not the inbox, a group, or a running session."""
    if session_id == "inbox":
        raise Invalid("The inbox session cannot be deleted.")
    async with runner.deps.db.transaction() as tx:
        record = await sessions.lock_session(tx, runner.agent_id, session_id)
        if record is None:
            raise NotFound(f"Session {session_id} not found.")
        if record.type == "group":
            raise Invalid("Cannot delete group sessions.")
        if await turns.has_queued(tx, runner.agent_id, session_id):
            raise Conflict("The session has a running turn; interrupt it first.")
        await sessions.delete_session(tx, runner.agent_id, session_id)
