"""Who may do what with an agent: roles, access levels, session visibility, sender rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from openhermit.errors import Invalid, NotFound, Unauthorized
from openhermit.protocol.sessions import Sender, SessionRecord
from openhermit.protocol.users import Role
from openhermit.store.engine import Tx
from openhermit.store.repos import agents, users

CallerKind = Literal["admin", "user", "channel"]


@dataclass(frozen=True)
class Caller:
    """An authenticated caller, before looking at any agent."""

    kind: CallerKind
    channel: str = "admin"
    channel_user_id: str = "admin"
    namespace: str | None = None  # channel tokens: the session-id namespace they may use
    token_agent: str | None = None  # channel tokens: the one agent they belong to


ADMIN = Caller(kind="admin")


@dataclass(frozen=True)
class AgentAccess:
    """A caller resolved against one agent."""

    caller: Caller
    agent_id: str
    user_id: str | None
    role: Role | None

    @property
    def is_admin(self) -> bool:
        return self.caller.kind == "admin"

    @property
    def is_owner(self) -> bool:
        return self.is_admin or self.role == "owner"

    def sees_session(self, session: SessionRecord) -> bool:
        """Reading or messaging a session: owners any, channels their namespace, others as participants."""
        by_id = self.sees_session_id(session.session_id)
        if by_id is not None:
            return by_id
        return self.user_id is not None and self.user_id in session.user_ids

    def sees_session_id(self, session_id: str) -> bool | None:
        """Whether the caller sees the session by its id and the caller's role alone (None: only
        as one of its participants, `sees_session`)."""
        if session_id == "inbox":
            return self.is_owner
        if self.is_admin:
            return True
        if self.caller.kind == "channel":
            return session_id.startswith(f"{self.caller.namespace}:")
        if self.role == "owner":
            return True
        return None

    def require_session(self, session: SessionRecord | None, session_id: str) -> SessionRecord:
        if session is None or not self.sees_session(session):
            raise NotFound(f"Session {session_id} not found.")
        return session

    def check_session_id(self, session_id: str) -> None:
        """Channel tokens may only name sessions in their namespace."""
        if self.caller.kind == "channel" and not session_id.startswith(f"{self.caller.namespace}:"):
            raise Invalid(f"Session ids of this channel must start with '{self.caller.namespace}:'.")

    def check_sender(self, sender: Sender | None) -> None:
        """A user may only speak as itself; a channel only within its namespace."""
        if sender is None or self.is_admin:
            return
        if self.caller.kind == "user" and (sender.channel, sender.channel_user_id) != (
            self.caller.channel,
            self.caller.channel_user_id,
        ):
            raise Unauthorized("A user token may only send messages as its own identity.")
        if self.caller.kind == "channel" and sender.channel != self.caller.namespace:
            raise Unauthorized(f"This channel token may only send as channel '{self.caller.namespace}'.")


def admin_access(caller: Caller, agent_id: str) -> AgentAccess | None:
    """The admin is the owner of every agent; None for other callers (they need a lookup)."""
    return AgentAccess(caller, agent_id, None, "owner") if caller.kind == "admin" else None


async def resolve_access(tx: Tx, caller: Caller, agent_id: str, *, join: bool = True) -> AgentAccess | None:
    """The caller's role on the agent, or None when the agent is not theirs to see.

    On a `public` agent (the default) an unknown identity or a known non-member becomes a
    guest on first contact (when `join`); `protected` and `private` agents admit members only.
    """
    if (admin := admin_access(caller, agent_id)) is not None:
        return admin
    if caller.kind == "channel" and caller.token_agent != agent_id:
        raise Unauthorized("This channel token belongs to another agent.")
    agent = await agents.get_agent(tx, agent_id)
    if agent is None or agent.status != "active":
        return None
    channel = caller.namespace if caller.kind == "channel" else caller.channel
    if caller.kind == "channel" and not caller.channel_user_id:
        return AgentAccess(caller, agent_id, None, None)  # the channel itself, no end user named
    assert channel is not None
    user_id = await users.resolve(tx, channel, caller.channel_user_id)
    role = await users.role_of(tx, user_id, agent_id) if user_id else None
    if role is not None:
        return AgentAccess(caller, agent_id, user_id, role)
    if agent.security.get("access", "public") != "public":
        return None
    if not join:
        return AgentAccess(caller, agent_id, user_id, "guest" if user_id else None)
    if user_id is None:
        user_id, _ = await users.ensure_user(tx, channel, caller.channel_user_id)
    await users.add_role_if_absent(tx, user_id, agent_id, "guest")
    return AgentAccess(caller, agent_id, user_id, "guest")
