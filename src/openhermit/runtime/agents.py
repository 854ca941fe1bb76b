"""Creating agents with their defaults, and the lifecycle actions of `manage/{action}`."""

from __future__ import annotations

from typing import Literal

from openhermit.errors import Invalid, NotFound
from openhermit.protocol.agent_config import default_agent_config
from openhermit.protocol.agents import AgentRecord, CreateAgentRequest
from openhermit.protocol.sessions import SessionSource, SessionSpec
from openhermit.runtime.deps import RuntimeDeps
from openhermit.runtime.fleet import Fleet
from openhermit.store.engine import DriverTx, Tx
from openhermit.store.notify import notify
from openhermit.store.repos import agents, users

ManageAction = Literal["start", "stop", "restart", "enable", "disable", "delete"]

STARTER_INSTRUCTIONS = {
    "identity": (
        "You are a helpful assistant running on OpenHermit. Replace this text with who you are: "
        "your name, your purpose, and who you work for."
    ),
    "soul": (
        "Be direct, warm and honest. Prefer short answers; expand when asked. Admit uncertainty "
        "instead of guessing."
    ),
    "rules": (
        "Remember what matters about the people you talk with, using your memory tools. "
        "Ask before doing anything that cannot be undone."
    ),
}


def inbox_spec() -> SessionSpec:
    return SessionSpec(
        session_id="inbox", source=SessionSource(kind="inbox", platform="inbox", interactive=False)
    )


async def create_agent(deps: RuntimeDeps, request: CreateAgentRequest) -> AgentRecord:
    """Insert the agent with its defaults: config, instructions, inbox session, owner. Its
    workspace folders are made when it first runs (`workspace_scaffold`)."""
    workspace = str(request.workspace_dir or deps.settings.workspaces_dir / request.agent_id)
    security = {"access": request.access} if request.access else {}

    async def insert(tx: Tx | DriverTx) -> AgentRecord:
        return await agents.insert_agent(
            tx,
            request.agent_id,
            name=request.name,
            workspace_dir=workspace,
            config=default_agent_config(workspace),
            security=security,
            inbox=inbox_spec(),
            instructions=STARTER_INSTRUCTIONS,
        )

    if not request.owner_user_id:  # one statement, committing on its own: one round trip
        async with deps.db.driver_connection() as conn:
            return await insert(conn)
    async with deps.db.transaction() as tx:
        await users.require_user(tx, request.owner_user_id)
        record = await insert(tx)
        await users.set_role(tx, request.owner_user_id, request.agent_id, "owner")
    return record


async def manage(deps: RuntimeDeps, fleet: Fleet, agent_id: str, action: ManageAction) -> str:
    """Apply a lifecycle action; returns the status to report."""
    async with deps.db.transaction() as tx:
        record = await agents.get_agent(tx, agent_id)
    if record is None:
        raise NotFound(f"Agent {agent_id} not found.")
    match action:
        case "start" | "restart":
            if record.status != "active":
                raise Invalid(f"Agent {agent_id} is disabled; enable it before {action}.")
            if action == "restart":
                await fleet.evict(agent_id)
            await fleet.get(agent_id)
            return "running"
        case "stop":
            await fleet.evict(agent_id)
            return "stopped"
        case "enable" | "disable":
            status = "active" if action == "enable" else "disabled"
            async with deps.db.transaction() as tx:
                await agents.update_agent(tx, agent_id, status=status)
                await notify(tx, {"o": deps.instance_id, "agent": agent_id})
            if action == "disable":
                await fleet.evict(agent_id)
            return status
        case "delete":
            if record.status != "disabled":
                raise Invalid(f"Agent {agent_id} must be disabled before it is deleted.")
            await fleet.evict(agent_id)
            async with deps.db.transaction() as tx:
                await agents.delete_agent(tx, agent_id)
                await notify(tx, {"o": deps.instance_id, "agent": agent_id})
            return "deleted"
