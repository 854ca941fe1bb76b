"""Session operations shared by the HTTP routes and the WebSocket RPC."""

from __future__ import annotations

from typing import Any

from openhermit.errors import Conflict, Invalid
from openhermit.protocol.agent_config import AgentConfig
from openhermit.protocol.sessions import SessionHistoryMessage, SessionRecord, SessionSpec, SessionSummary
from openhermit.runtime.access import AgentAccess
from openhermit.runtime.journal import NewEvent
from openhermit.runtime.rendering import history_for
from openhermit.runtime.runner import AgentRunner
from openhermit.store.repos import agents, events, sessions, turns


async def open_session(runner: AgentRunner, spec: SessionSpec, access: AgentAccess) -> str:
    """Create the session (with a `session_started` event) or reopen one the caller may see.

    The caller becomes a participant. On a members-only agent, a new session needs a caller
    who is a member; reopening someone else's session answers 404.
    """
    if spec.session_id == "inbox":
        raise Invalid("The inbox session is created with the agent and cannot be opened.")
    access.check_session_id(spec.session_id)
    deps = runner.deps
    stored = []
    async with deps.db.transaction() as tx:
        existing = await sessions.get_record(tx, runner.agent_id, spec.session_id)
        if existing is not None:
            if existing.type != "group":
                access.require_session(existing, spec.session_id)
            if access.user_id is not None:
                await sessions.add_participant(tx, runner.agent_id, spec.session_id, access.user_id)
            return spec.session_id
        participants = [access.user_id] if access.user_id else []
        if await sessions.insert_session(tx, runner.agent_id, spec, user_ids=participants):
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


async def list_sessions(
    runner: AgentRunner, access: AgentAccess, *, observe: bool = False, **filters: Any
) -> list[SessionSummary]:
    """Sessions the caller may list: all (admin), the namespace (channel), their own (users);
    `observe` lets owners list the sessions they are not in."""
    if access.caller.kind == "channel":
        filters["id_prefix"] = f"{access.caller.namespace}:"
    elif not access.is_admin:
        if access.user_id is None:
            return []
        if observe and access.is_owner:
            filters["not_participant"] = access.user_id
        else:
            filters["participant"] = access.user_id
    async with runner.deps.db.transaction() as tx:
        found = await sessions.list_sessions(tx, runner.agent_id, **filters)
        for summary in found:
            summary.last_event_id = await events.last_event_id(tx, runner.agent_id, summary.session_id)
    return found


async def history(runner: AgentRunner, access: AgentAccess, session_id: str) -> list[SessionHistoryMessage]:
    async with runner.deps.db.transaction() as tx:
        access.require_session(await sessions.get_record(tx, runner.agent_id, session_id), session_id)
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


async def visible_session(runner: AgentRunner, access: AgentAccess, session_id: str) -> SessionRecord:
    """The session if the caller may read it; 404 otherwise."""
    async with runner.deps.db.transaction() as tx:
        return access.require_session(await sessions.get_record(tx, runner.agent_id, session_id), session_id)


async def delete_session(runner: AgentRunner, access: AgentAccess, session_id: str) -> None:
    """Remove a session row (its events stay); not the inbox, a group, or a running session."""
    async with runner.deps.db.transaction() as tx:
        locked = await sessions.lock_session(tx, runner.agent_id, session_id)
        record = access.require_session(locked.session if locked else None, session_id)
        if session_id == "inbox":
            raise Invalid("The inbox session cannot be deleted.")
        if record.type == "group":
            raise Invalid("Cannot delete group sessions.")
        if await turns.has_queued(tx, runner.agent_id, session_id):
            raise Conflict("The session has a running turn; interrupt it first.")
        await sessions.delete_session(tx, runner.agent_id, session_id)
