"""Agents: rows of `agents`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update

from openhermit.errors import Conflict
from openhermit.protocol.agents import AgentRecord, AgentStatus
from openhermit.protocol.sessions import SessionSpec
from openhermit.store.driver import as_entity, driver, to_json
from openhermit.store.engine import DriverTx, Tx
from openhermit.store.tables.agents import Agent


def _record(row: Agent) -> AgentRecord:
    return AgentRecord(
        agent_id=row.agent_id,
        name=row.name,
        workspace_dir=row.workspace_dir,
        config=row.config_json or {},
        security=row.security_json or {},
        status=row.status,  # type: ignore[arg-type]
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def insert_agent(
    tx: Tx | DriverTx,
    agent_id: str,
    *,
    workspace_dir: str,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    security: dict[str, Any] | None = None,
    inbox: SessionSpec | None = None,
    instructions: dict[str, str] | None = None,
) -> AgentRecord:
    """Insert a new agent, with its `inbox` session and starter `instructions` when given, in
    one statement; `Conflict` if the id is taken (and then nothing is inserted)."""
    source = inbox.source if inbox is not None else None
    texts = instructions or {}
    row = await (await driver(tx)).fetchrow(
        _INSERT_AGENT,
        agent_id,
        name,
        workspace_dir,
        to_json(config or {}),
        to_json(security or {}),
        inbox.session_id if inbox is not None else None,
        source.kind if source is not None else None,
        source.platform if source is not None else None,
        to_json(source.wire()) if source is not None else None,
        bool(source and source.interactive),
        list(texts),
        list(texts.values()),
    )
    if row is None:
        raise Conflict(f"Agent {agent_id} already exists.")
    return _record(as_entity(Agent, row))


# The sibling inserts read the new row from `agent`, so they happen only when it was inserted;
# foreign keys are checked at the end of the statement, when the agent row exists.
_INSERT_AGENT = """
WITH agent AS (
  INSERT INTO agents (agent_id, name, workspace_dir, config_json, security_json)
  VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING *
), inbox AS (
  INSERT INTO sessions (agent_id, session_id, source_kind, source_platform, source, interactive)
  SELECT agent_id, $6, $7, $8, $9, $10 FROM agent WHERE $6::text IS NOT NULL
  ON CONFLICT DO NOTHING
), starter AS (
  INSERT INTO instructions (agent_id, key, content)
  SELECT agent.agent_id, s.key, s.content FROM agent, unnest($11::text[], $12::text[]) AS s(key, content)
)
SELECT * FROM agent
"""


async def get_agent(tx: Tx | DriverTx, agent_id: str) -> AgentRecord | None:
    row = await (await driver(tx)).fetchrow("SELECT * FROM agents WHERE agent_id = $1", agent_id)
    return _record(as_entity(Agent, row)) if row else None


async def setup_revision(tx: Tx | DriverTx, agent_id: str) -> tuple[int, int] | None:
    """The agent's revision and the fleet's (None when the agent does not exist).

    The agent's moves with every change of its row, instructions, policies, secrets, sandboxes
    and skill or MCP assignments; the fleet's with the skill and MCP registries and `*` rows.
    """
    row = await (await driver(tx)).fetchrow(_SETUP_REVISION, agent_id)
    return as_revision(row[0], row[1])


def as_revision(agent: int | None, fleet: int) -> tuple[int, int] | None:
    """The pair `SETUP_REVISION_COLUMNS` read (None: no such agent)."""
    return None if agent is None else (int(agent), int(fleet))


SETUP_REVISION_COLUMNS = """
(SELECT a.revision FROM agents a WHERE a.agent_id = $1),
coalesce((SELECT (m.value ->> 'n')::bigint FROM meta m WHERE m.key = 'fleet_revision'), 0)
"""
"""The agent's and the fleet's setup revisions, as two columns of any statement whose $1 is the
agent id."""
_SETUP_REVISION = f"SELECT {SETUP_REVISION_COLUMNS}"


async def list_agents(tx: Tx, *, status: AgentStatus | None = None) -> list[AgentRecord]:
    stmt = select(Agent).order_by(Agent.agent_id)
    if status is not None:
        stmt = stmt.where(Agent.status == status)
    return [_record(row) for row in (await tx.execute(stmt)).scalars()]


async def count_agents(tx: Tx) -> int:
    return int((await tx.execute(select(func.count()).select_from(Agent))).scalar_one())


async def model_apis(tx: Tx) -> list[tuple[str | None, str | None]]:
    """The distinct (provider, api) pairs the agents' model settings name (None where unset)."""
    model = Agent.config_json["model"]
    rows = await tx.execute(select(model["provider"].astext, model["api"].astext).distinct())
    return [(provider, api) for provider, api in rows.tuples()]


async def update_agent(
    tx: Tx,
    agent_id: str,
    *,
    status: AgentStatus | None = None,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    security: dict[str, Any] | None = None,
) -> bool:
    changes: dict[str, Any] = {"updated_at": func.now()}
    if status is not None:
        changes["status"] = status
    if name is not None:
        changes["name"] = name
    if config is not None:
        changes["config_json"] = config
    if security is not None:
        changes["security_json"] = security
    result = await tx.execute(update(Agent).where(Agent.agent_id == agent_id).values(**changes))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_agent(tx: Tx, agent_id: str) -> bool:
    """Delete the agent and, by cascade, everything scoped to it."""
    result = await tx.execute(delete(Agent).where(Agent.agent_id == agent_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]
