"""Test data built through the real repositories (so factories break when the store does)."""

from __future__ import annotations

import uuid
from typing import Any

from openhermit.protocol.agents import AgentRecord
from openhermit.protocol.sessions import SessionSource, SessionSpec, SessionSummary
from openhermit.protocol.users import UserRecord
from openhermit.store.engine import Database
from openhermit.store.repos import agents, events, sessions, users
from openhermit.store.repos.events import StoredEvent


class Factory:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def agent(self, agent_id: str | None = None, **fields: Any) -> AgentRecord:
        agent_id = agent_id or f"agent-{uuid.uuid4().hex[:8]}"
        fields.setdefault("workspace_dir", f"/tmp/workspaces/{agent_id}")
        async with self.db.transaction() as tx:
            return await agents.insert_agent(tx, agent_id, **fields)

    async def session(
        self, agent_id: str, session_id: str | None = None, *, kind: str = "api", interactive: bool = True
    ) -> SessionSummary:
        spec = SessionSpec(
            session_id=session_id or f"s-{uuid.uuid4().hex[:8]}",
            source=SessionSource(kind=kind, interactive=interactive),
        )
        async with self.db.transaction() as tx:
            await sessions.insert_session(tx, agent_id, spec)
            found = await sessions.get_session(tx, agent_id, spec.session_id)
        assert found is not None
        return found

    async def user(self, user_id: str | None = None, name: str | None = None) -> UserRecord:
        async with self.db.transaction() as tx:
            return await users.insert_user(tx, user_id or f"u-{uuid.uuid4().hex[:8]}", name)

    async def event(
        self, agent_id: str, session_id: str, event_type: str, payload: dict[str, Any], **kw: Any
    ) -> StoredEvent:
        async with self.db.transaction() as tx:
            return await events.append_event(tx, agent_id, session_id, event_type, payload, **kw)
