"""A hydrated agent: runs each session's queued turns one at a time, with interrupt and approval."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, NamedTuple, cast

from pydantic import ValidationError

from openhermit.protocol.agent_config import AgentConfig
from openhermit.protocol.agents import AgentRecord, Instruction
from openhermit.protocol.capabilities import SkillRecord
from openhermit.protocol.policies import PolicyRecord
from openhermit.protocol.sessions import SessionRecord
from openhermit.runtime.approvals import consume_approved, request_approval
from openhermit.runtime.attachments import inline_images
from openhermit.runtime.compaction import compact
from openhermit.runtime.context import build_messages, context_cap, needs_compaction, order_for_turn
from openhermit.runtime.deps import RuntimeDeps
from openhermit.runtime.journal import NewEvent
from openhermit.runtime.loop import LoopResult, TurnAborted, run_loop
from openhermit.runtime.mcp.hub import McpHub
from openhermit.runtime.models.base import ModelClient, ModelError, ModelRequest, ToolCallPart, ToolSpec
from openhermit.runtime.models.providers import MissingApiKey, default_thinking
from openhermit.runtime.policy import Principal, Rule, legacy_rules, tool_decision
from openhermit.runtime.prompt import Caller, SkillEntry, build_system_prompt
from openhermit.runtime.recorder import TurnRecorder
from openhermit.runtime.skills import AgentSkills
from openhermit.runtime.tools.base import Tool, ToolContext, ToolFailed
from openhermit.runtime.tools.catalog import turn_tools
from openhermit.sandbox.base import TurnScopedResolver
from openhermit.store.engine import DriverTx, Tx
from openhermit.store.repos import (
    admission,
    agents,
    events,
    instructions,
    mcp_servers,
    policies,
    sessions,
    turns,
)
from openhermit.store.repos import skills as skill_rows
from openhermit.store.repos.events import StoredEvent
from openhermit.store.repos.mcp_servers import McpServerRow
from openhermit.store.repos.sessions import Started
from openhermit.store.repos.turns import TurnRow

log = logging.getLogger(__name__)
APPROVAL_TIMEOUT_SECONDS = 120.0


@cache
def _turn_scoped(resolver_type: type) -> bool:
    """Whether a resolver class starts and stops sandboxes with each turn (a protocol check
    walks every member, so it is made once per class)."""
    return issubclass(resolver_type, TurnScopedResolver)


_TOOLSETS: dict[tuple[str, ...], tuple[dict[str, Tool], list[ToolSpec]]] = {}
TOOLSETS_KEPT = 256


def _toolset(names: tuple[str, ...]) -> tuple[dict[str, Tool], list[ToolSpec]]:
    """The built-in tools of these names and their specs: one mapping and one list per distinct
    set, shared by every runner of the process, so model clients encode each distinct tool
    list once for the whole fleet instead of once per agent."""
    found = _TOOLSETS.get(names)
    if found is None:
        if len(_TOOLSETS) >= TOOLSETS_KEPT:
            _TOOLSETS.pop(next(iter(_TOOLSETS)))  # the oldest
        tools = turn_tools()
        chosen = {name: tools[name] for name in names}
        found = _TOOLSETS[names] = (chosen, [tool.spec() for tool in chosen.values()])
    return found


class _NothingToClaim(Exception):
    """The session's queued turn is being claimed by another worker."""


class TurnSetupError(Exception):
    """The turn cannot start (bad config, missing key); the message is shown to the client."""


@dataclass
class ActiveTurn:
    turn_id: int
    correlation_id: str | None
    task: asyncio.Task[LoopResult] | None = None
    interrupted: bool = False
    approvals: dict[str, asyncio.Future[bool]] = field(default_factory=dict)
    deferred: list[NewEvent] = field(default_factory=list)  # rows to store with the turn's end


@dataclass
class PreparedTurn:
    client: ModelClient
    request: ModelRequest
    config: AgentConfig
    workspace_dir: str
    security: dict[str, Any]
    interactive: bool
    tools: dict[str, Tool]
    principal: Principal
    rules: list[Rule]
    revision: tuple[int, int]


@dataclass(frozen=True)
class AgentSetup:
    """What a turn reads about its agent, valid while the setup revision stays the same."""

    revision: tuple[int, int]
    agent: AgentRecord
    instructions: list[Instruction]
    policies: list[PolicyRecord]
    skills: list[SkillRecord]
    mcp_servers: list[McpServerRow]
    secrets: dict[str, str] | None = None  # filled in after the transaction that read the rest


class TurnInputs(NamedTuple):
    """What a turn's model request is built from, read with its claim."""

    revision: tuple[int, int] | None  # None: the agent no longer exists
    setup: AgentSetup | None  # None: not cached at this revision, read before the turn
    session: SessionRecord
    context: events.Context


def _agent_start(request: dict[str, Any]) -> NewEvent:
    """The row that starts a turn with this request."""
    return NewEvent("agent_start", {"correlationId": request.get("correlationId")})


class ClaimedTurn(NamedTuple):
    """A turn marked running, with its inputs and the `agent_start` to publish after commit."""

    turn: TurnRow
    inputs: TurnInputs
    events: list[StoredEvent]


class AgentRunner:
    def __init__(self, agent_id: str, deps: RuntimeDeps) -> None:
        self.agent_id = agent_id
        self.deps = deps
        self.last_used = time.monotonic()
        self.busy = 0
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._pending: set[str] = set()
        self._active: dict[str, ActiveTurn] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._setup: AgentSetup | None = None
        self._validated: tuple[tuple[int, int] | None, AgentConfig | None] = (None, None)
        self._allowed: tuple[
            tuple[int, int] | None, dict[Principal, tuple[dict[str, Tool], list[ToolSpec]]]
        ] = (None, {})
        self._outcomes: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.on_turn_finished: list[Any] = []  # callbacks (session_id, completed_count, config)
        self.skills = AgentSkills(agent_id, deps)
        self.mcp = McpHub(agent_id, deps)

    # State ---------------------------------------------------------------------------------
    def touch(self) -> None:
        self.last_used = time.monotonic()

    @property
    def idle(self) -> bool:
        return not self._workers and not self._active and self.busy == 0 and not self._background

    def is_running(self, session_id: str) -> bool:
        return session_id in self._active

    def expect_outcome(self, turn_id: int) -> asyncio.Future[dict[str, Any]]:
        """A future for the turn's stored result, resolved when this process ends the turn
        (never when another process runs it); pair with `forget_outcome`."""
        future = self._outcomes.get(turn_id)
        if future is None:
            future = self._outcomes[turn_id] = asyncio.get_running_loop().create_future()
        return future

    def forget_outcome(self, turn_id: int) -> None:
        self._outcomes.pop(turn_id, None)

    # Queue ---------------------------------------------------------------------------------
    def kick(self, session_id: str) -> None:
        """Make sure queued turns of the session get run (call after committing a turn)."""
        self.touch()
        self._pending.add(session_id)
        if session_id not in self._workers:
            self._workers[session_id] = asyncio.create_task(
                self._drain(session_id), name=f"turns:{session_id}"
            )

    def reserve(self, session_id: str) -> asyncio.Future[ClaimedTurn | None] | None:
        """Start the session's worker with its first turn to come from the caller, who claims it
        (`claim_in`) in the transaction that accepts a message and hands it over once that has
        committed (None: the worker claims for itself). None when a worker already runs it."""
        if session_id in self._workers:
            return None
        self.touch()
        first: asyncio.Future[ClaimedTurn | None] = asyncio.get_running_loop().create_future()
        self._workers[session_id] = asyncio.create_task(
            self._drain(session_id, first), name=f"turns:{session_id}"
        )
        return first

    async def _drain(self, session_id: str, first: asyncio.Future[ClaimedTurn | None] | None = None) -> None:
        try:
            claimed = await first if first is not None else None
            while True:
                if claimed is None:
                    self._pending.discard(session_id)
                    claimed = await self._claim(session_id)
                    if claimed is None:
                        if session_id in self._pending:
                            continue
                        return
                ran, claimed = claimed, None
                if not await self._run(ran.turn, ran.inputs) and session_id not in self._pending:
                    return  # the session's last turn ended: nothing left to claim
        except Exception:
            log.exception("turn worker of %s/%s failed", self.agent_id, session_id)
        finally:
            self._workers.pop(session_id, None)
            self.touch()

    async def _claim(self, session_id: str) -> ClaimedTurn | None:
        """Claim the next queued turn in a transaction of its own."""
        try:
            async with self.deps.db.driver_transaction() as tx:
                claimed = await self.claim_in(tx, session_id)
                if claimed is None:
                    raise _NothingToClaim  # undo the status change
        except (turns.SessionBusy, _NothingToClaim):
            return None
        self.deps.journal.publish(claimed.events)
        return claimed

    async def claim_in(
        self, tx: Tx | DriverTx, session_id: str, *, leading: tuple[NewEvent, int] | None = None
    ) -> ClaimedTurn | None:
        """Claim the session's next queued turn in the caller's transaction: mark it running,
        store its `agent_start` and read what the turn is built from. None when nothing is
        queued or a turn of the session runs already (here or on another gateway).

        `leading`: a row and the turn it belongs to; when that is the turn claimed, the row is
        stored just before `agent_start`, in the same statement (the message that queued it).
        The caller publishes the events once the transaction has committed.
        """
        claim = await turns.claim_next(tx, self.agent_id, session_id, lease=self.lease)  # takes the lock
        if claim is None or claim.turn is None:
            return None
        return await self.begin_in(tx, claim.started, claim.turn, leading)

    @property
    def lease(self) -> turns.Lease:
        """The lease this process runs turns under."""
        return turns.Lease(self.deps.instance_id, self.deps.leases.lease_seconds)

    async def begin_in(
        self,
        tx: Tx | DriverTx,
        started: Started,
        turn: TurnRow,
        leading: tuple[NewEvent, int] | None = None,
    ) -> ClaimedTurn:
        """A turn just marked running in the caller's transaction (`claim_in`, or started as it
        was queued): store its `agent_start` after `leading`'s row if it is the turn's, and
        read what the turn is built from."""
        session_id = turn.session_id
        rows = [_agent_start(turn.request)]
        if leading is not None and leading[1] == turn.id:
            rows.insert(0, leading[0])
        announce = await self.deps.journal.announcement(self.agent_id, session_id)
        known = self.deps.histories.get(self.agent_id, session_id, started.session.created_at)
        stored, context = await events.append_with_context(
            tx, self.agent_id, session_id, rows, turn_id=turn.id, announce=announce, known=known
        )
        revision = started.setup_revision
        inputs = TurnInputs(revision, self._cached_setup(revision), started.session, context)
        return ClaimedTurn(turn, inputs, stored)

    async def start_at_once(
        self,
        session_id: str,
        *,
        message: NewEvent,
        message_id: str | None,
        request: dict[str, Any],
        counting: sessions.MessageCount,
        participant: str | None,
    ) -> ClaimedTurn | None:
        """Admit a message into the idle session and start its turn, in one statement that
        commits on its own (`admission.admit`); the caller publishes the events. None, and
        nothing written, when the session is not idle (or is missing, or does not list
        `participant`), or `message_id` was seen before."""
        kept = self.deps.histories.kept(self.agent_id, session_id)
        announce = await self.deps.journal.announcement(self.agent_id, session_id)
        async with self.deps.db.driver_connection() as conn:
            admitted = await admission.admit(
                conn,
                self.agent_id,
                session_id,
                message_id=message_id,
                request=request,
                counting=counting,
                lease=self.lease,
                participant=participant,
                rows=[message, _agent_start(request)],
                announce=announce,
                kept=kept,
            )
        if admitted is None:
            return None
        started, turn, stored, context = admitted
        revision = started.setup_revision
        inputs = TurnInputs(revision, self._cached_setup(revision), started.session, context)
        return ClaimedTurn(turn, inputs, stored)

    # One turn ------------------------------------------------------------------------------
    async def _agent_setup(self, tx: Tx) -> AgentSetup | None:
        """The agent row, instructions, policies, enabled skills and MCP servers: cached, and
        re-read when the agent's or the fleet's revision moved."""
        revision = await agents.setup_revision(tx, self.agent_id)
        if revision is None:
            return None
        if (cached := self._cached_setup(revision)) is not None:
            return cached
        agent = await agents.get_agent(tx, self.agent_id)
        if agent is None:
            return None
        return AgentSetup(
            revision,
            agent,
            await instructions.list_instructions(tx, self.agent_id),
            await policies.list_policies(tx, self.agent_id),
            await skill_rows.enabled_skills(tx, self.agent_id),
            await mcp_servers.enabled_servers(tx, self.agent_id),
        )

    async def _with_secrets(self, setup: AgentSetup) -> AgentSetup:
        """The setup with the agent's secret values; kept for later turns when the store is the
        database, whose changes move the agent's revision."""
        if setup.secrets is not None:
            return setup
        secrets = self.deps.secrets
        with_values = replace(setup, secrets=await secrets.values(self.agent_id))
        # Values from the database are covered by the revision; other stores are read each turn.
        self._setup = with_values if secrets.persistent_in_database else setup
        return with_values

    async def setup_at(
        self, revision: tuple[int, int] | None, known: AgentSetup | None = None
    ) -> tuple[AgentSetup, AgentConfig] | None:
        """The agent's setup at `revision`, with its secret values, and its validated
        configuration: `known`, else the cached one, else read now (it changed since). None when
        the agent no longer exists; `TurnSetupError` when its configuration is invalid."""
        setup = known or self._cached_setup(revision)
        if setup is None and revision is not None:
            async with self.deps.db.transaction() as tx:
                setup = await self._agent_setup(tx)
        if setup is None:
            return None
        setup = await self._with_secrets(setup)
        return setup, self._config(setup)

    def _config(self, setup: AgentSetup) -> AgentConfig:
        """The agent's validated configuration, validated once per setup revision (callers must
        not change it)."""
        revision, config = self._validated
        if revision != setup.revision or config is None:
            try:
                config = AgentConfig.model_validate(setup.agent.config)
            except ValidationError as exc:
                message = exc.errors()[0]["msg"]
                raise TurnSetupError(f"The agent configuration is invalid: {message}") from None
            self._validated = (setup.revision, config)
        return config

    def _cached_setup(self, revision: tuple[int, int] | None) -> AgentSetup | None:
        """The cached setup if it is still valid at `revision`."""
        cached = self._setup
        return cached if cached is not None and cached.revision == revision else None

    def _builtin_tools(
        self, revision: tuple[int, int], principal: Principal, rules: list[Rule]
    ) -> tuple[dict[str, Tool], list[ToolSpec]]:
        """The built-in tools the policies leave this caller, and their specs: the same objects
        until the setup changes (model clients may keep the specs' encoding for as long)."""
        if self._allowed[0] != revision or len(self._allowed[1]) >= 256:
            self._allowed = (revision, {})
        found = self._allowed[1].get(principal)
        if found is None:
            allowed = tuple(
                name
                for name, tool in turn_tools().items()
                if tool_decision(principal, rules, name, tool.default_grants) != "deny"
            )
            found = self._allowed[1][principal] = _toolset(allowed)
        return found

    async def _prepare(self, turn: TurnRow, session_id: str, inputs: TurnInputs) -> PreparedTurn:
        revision, known, session, context = inputs
        found = await self.setup_at(revision, known)
        if found is None:
            raise TurnSetupError("The agent no longer exists.")
        histories = self.deps.histories
        histories.put(self.agent_id, session_id, session.created_at, context)  # its claim committed
        compaction, history = context.compaction, context.history
        setup, config = found
        agent, rows, stored_rules = setup.agent, setup.instructions, setup.policies
        secret_values = setup.secrets or {}
        if turn.request.get("model"):  # a per-turn model override (schedules); a copy, not the cached
            config = config.model_copy(
                update={"model": config.model.model_copy(update={"model": turn.request["model"]})}
            )
        try:
            client = await self.deps.models.get(
                config.model, secret_values, self.deps.settings.provider_api_keys
            )
        except MissingApiKey as exc:
            raise TurnSetupError(str(exc)) from None
        principal = Principal(user_id=turn.request.get("userId"), role=turn.request.get("role"))
        rules = [
            Rule(r.resource_type, r.resource_key, r.effect, tuple(g.wire() for g in r.grants), r.scope)
            for r in stored_rules
        ] + legacy_rules(agent.security)
        skill_index = self.skills.for_turn(setup.skills)
        self.mcp.reconcile(setup.mcp_servers, secret_values)
        builtin, specs = self._builtin_tools(setup.revision, principal, rules)
        tools = dict(builtin)
        mcp_specs = []
        for name, tool in self.mcp.tools().items():  # connected servers only; never waits
            if tool_decision(principal, rules, name, tool.default_grants) != "deny":
                tools[name] = tool
                mcp_specs.append(tool.spec())
        if mcp_specs:
            specs = specs + mcp_specs
        system = build_system_prompt(
            agent,
            rows,
            session,
            list(tools.values()),
            skills=[SkillEntry(s.name, s.description, s.path) for s in skill_index],
            caller=Caller(name=turn.request.get("senderName"), user_id=turn.request.get("userId")),
            additional_instruction=turn.request.get("additionalInstruction"),
        )
        ordered = order_for_turn(history, turn.id)
        images = await inline_images(self.deps, self.agent_id, ordered) if config.model.images else {}
        tool_cap = context_cap(config.model.context_window)
        variant = (session.type, tool_cap)
        messages = build_messages(
            session,
            compaction,
            ordered,
            tool_cap=tool_cap,
            images=images,
            memo=histories.memo(self.agent_id, session_id, variant),
        )
        if needs_compaction(messages, system, config.model.context_window) and await compact(
            self.deps, self.agent_id, session_id, client, ordered, config
        ):
            async with self.deps.db.driver_connection() as conn:
                context = await events.context_events(conn, self.agent_id, session_id)
            histories.put(self.agent_id, session_id, session.created_at, context)
            compaction, history = context.compaction, context.history
            messages = build_messages(
                session,
                compaction,
                order_for_turn(history, turn.id),
                tool_cap=tool_cap,
                images=images,
                memo=histories.memo(self.agent_id, session_id, variant),
            )
        request = ModelRequest(
            system=system,
            messages=messages,
            tools=specs,
            max_tokens=config.model.max_tokens,
            thinking=default_thinking(config.model),  # type: ignore[arg-type]
        )
        return PreparedTurn(
            client,
            request,
            config,
            agent.workspace_dir,
            agent.security,
            session.source.interactive,
            tools,
            principal,
            rules,
            setup.revision,
        )

    async def _run(self, turn: TurnRow, inputs: TurnInputs) -> bool:
        """Run a claimed turn; False when, as it ended, no other turn of the session waited."""
        session_id = turn.session_id
        correlation = turn.request.get("correlationId")
        started = time.monotonic()
        active = ActiveTurn(turn.id, correlation)
        self._active[session_id] = active
        self.deps.leases.hold(turn.id)
        sandboxes = self.deps.sandboxes
        scoped = cast(TurnScopedResolver, sandboxes) if _turn_scoped(type(sandboxes)) else None
        try:
            return await self._run_claimed(turn, inputs, active, started, scoped)
        finally:
            self.deps.leases.release(turn.id)
            if scoped is not None:
                await scoped.turn_finished(self.agent_id)

    async def _run_claimed(
        self,
        turn: TurnRow,
        inputs: TurnInputs,
        active: ActiveTurn,
        started: float,
        scoped: TurnScopedResolver | None,
    ) -> bool:
        session_id = turn.session_id
        correlation = active.correlation_id
        status, error, result = "completed", None, None
        config: AgentConfig | None = None
        try:
            if turn.interrupt_requested:
                active.interrupted = True  # asked before this process registered the turn
            prepared = await self._prepare(turn, session_id, inputs)
            config = prepared.config
            if scoped is not None:
                await scoped.turn_started(self.agent_id, prepared.revision)
            recorder = TurnRecorder(
                self.deps.journal,
                self.deps.metrics,
                agent_id=self.agent_id,
                session_id=session_id,
                turn_id=turn.id,
                correlation_id=correlation,
                workspace_dir=prepared.workspace_dir,
                provider=prepared.client.provider,
                model=prepared.client.model,
                defer_final=active.deferred,
            )
            ctx = ToolContext(
                agent_id=self.agent_id,
                session_id=session_id,
                db=self.deps.db,
                secrets=self.deps.secrets,
                workspace_dir=prepared.workspace_dir,
                send_to_session=self.send_to_session,
                user_id=prepared.principal.user_id,
                role=prepared.principal.role,
                channel=turn.request.get("channel"),
                channel_user_id=turn.request.get("channelUserId"),
                deps=self.deps,
                extras={"policy_rules": prepared.rules, "mcp": self.mcp},
            )
            if active.interrupted:
                raise asyncio.CancelledError  # interrupted while preparing
            active.task = asyncio.create_task(
                run_loop(
                    prepared.client,
                    prepared.request,
                    prepared.tools,
                    ctx,
                    recorder,
                    approval=self._approval_gate(turn, active, prepared),
                    max_tool_calls=turn.request.get("maxToolCalls"),
                )
            )
            result = await active.task
        except asyncio.CancelledError:
            if not active.interrupted:
                await self._finish(
                    turn,
                    active,
                    "error",
                    "The gateway stopped while this turn was running.",
                    None,
                    started,
                    config,
                )
                raise
            status = "interrupted"
        except TurnSetupError as exc:
            status, error = "error", str(exc)
            self.deps.metrics.errors.labels(self.agent_id, "runtime").inc()
        except ModelError as exc:
            status, error = "error", f"The model request failed: {exc}"
            self.deps.metrics.errors.labels(self.agent_id, "model").inc()
        except TurnAborted as exc:
            status, error, result = "error", str(exc), exc.result
            self.deps.metrics.errors.labels(self.agent_id, "runtime").inc()
        except Exception as exc:
            log.exception("turn %s of %s/%s crashed", turn.id, self.agent_id, session_id)
            status, error = "error", f"Internal error: {type(exc).__name__}: {exc}"
            self.deps.metrics.errors.labels(self.agent_id, "runtime").inc()
        return await self._finish(turn, active, status, error, result, started, config)

    async def _finish(
        self,
        turn: TurnRow,
        active: ActiveTurn,
        status: str,
        error: str | None,
        result: LoopResult | None,
        started: float,
        config: AgentConfig | None,
    ) -> bool:
        """Store the turn's end; whether other turns of the session still wait (True when unsure)."""
        session_id = turn.session_id
        tags = {"correlationId": active.correlation_id}
        rows = []
        if error:
            rows.append(NewEvent("error", {**tags, "message": error}, content=error))
        rows.append(NewEvent("agent_end", {**tags, "status": status}))
        outcome = {
            "text": result.text if result and status == "completed" else None,
            "toolCalls": result.tool_calls if result else [],
            "error": error,
            "status": status,
        }
        rows = active.deferred + rows  # the final answer is stored with the end of the turn
        ended = await self.deps.journal.end_turn(
            self.agent_id, session_id, turn.id, status=status, result=outcome, error=error, rows=rows
        )
        self._active.pop(session_id, None)
        if ended is None:  # a peer already ended it (it believed this process dead); keep its record
            return True
        tally, stored = ended
        waiter = self._outcomes.get(turn.id)
        if waiter is not None and not waiter.done():
            waiter.set_result(outcome)
        self.deps.journal.publish(stored)
        self.deps.metrics.turns.labels(self.agent_id).inc()
        self.deps.metrics.turn_duration.labels(self.agent_id).observe(time.monotonic() - started)
        self.touch()
        if status == "completed" and config is not None:
            for callback in self.on_turn_finished:
                callback(self, session_id, tally.completed, config)
        return tally.waiting

    # Control -------------------------------------------------------------------------------
    def interrupt(self, session_id: str) -> bool:
        """End the session's running turn (also while it is still being prepared)."""
        active = self._active.get(session_id)
        if active is None or active.interrupted or (active.task is not None and active.task.done()):
            return False
        active.interrupted = True
        if active.task is not None:
            active.task.cancel()
        return True

    def approve(self, session_id: str, tool_call_id: str, approved: bool) -> bool:
        active = self._active.get(session_id)
        future = active.approvals.get(tool_call_id) if active else None
        if future is None or future.done():
            return False
        future.set_result(approved)
        return True

    def _approval_gate(self, turn: TurnRow, active: ActiveTurn, prepared: PreparedTurn) -> Any:
        """Policy per tool call: allowed, denied, or paused for approval (realtime for the owner in
        an interactive session, otherwise an async request the owner reviews from the inbox)."""
        session_id = turn.session_id
        timeout = float(prepared.security.get("approval_timeout_seconds") or APPROVAL_TIMEOUT_SECONDS)

        async def gate(call: ToolCallPart) -> bool | None:
            tool = prepared.tools.get(call.name)
            grants = tool.default_grants if tool else ()
            decision = tool_decision(prepared.principal, prepared.rules, call.name, grants)
            if decision == "allow":
                return None
            if decision == "deny":
                raise ToolFailed(f"You are not allowed to use {call.name} here.")
            if prepared.interactive and prepared.principal.role == "owner":
                return await self._realtime_approval(session_id, active, call, timeout)
            requester = prepared.principal.user_id or "anonymous"
            if await consume_approved(self.deps, self.agent_id, requester, "tool", call.name):
                return True
            record = await request_approval(
                self.deps,
                self.agent_id,
                session_id,
                requester,
                resource_type="tool",
                resource_key=call.name,
                args=call.arguments,
                tool_call_id=call.id,
                correlation_id=active.correlation_id,
                turn_id=turn.id,
            )
            raise ToolFailed(
                f"Approval required: {call.name} needs the owner's approval (request #{record.short_id}). "
                "Tell the user and stop; they can ask again once it is approved."
            )

        return gate

    async def _realtime_approval(
        self, session_id: str, active: ActiveTurn, call: ToolCallPart, wait_seconds: float
    ) -> bool:
        tags = {"correlationId": active.correlation_id}
        base = {"resourceType": "tool", "resourceKey": call.name, "toolCallId": call.id, "mode": "realtime"}
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        active.approvals[call.id] = future
        async with self.deps.db.transaction() as tx:
            await sessions.set_session_status(tx, self.agent_id, session_id, "awaiting_approval")
        await self.deps.journal.record(
            self.agent_id,
            session_id,
            [NewEvent("approval_requested", {**tags, **base, "args": call.arguments})],
            active.turn_id,
        )
        try:
            async with asyncio.timeout(wait_seconds):
                approved = await future
            decision = "approved" if approved else "rejected"
        except TimeoutError:
            approved, decision = False, "timed_out"
        finally:
            active.approvals.pop(call.id, None)
        async with self.deps.db.transaction() as tx:
            await sessions.set_session_status(tx, self.agent_id, session_id, "running")
        await self.deps.journal.record(
            self.agent_id,
            session_id,
            [NewEvent("approval_resolved", {**tags, **base, "decision": decision})],
            active.turn_id,
        )
        return approved

    async def send_to_session(self, session_id: str, text: str) -> int:
        """A proactive message from the agent into another of its sessions."""
        payload = {"text": text, "final": False, "metadata": {"source": "session_send"}}
        async with self.deps.db.driver_transaction() as tx:
            # The session's row first, as every writer of its context rows holds it: no turn can
            # be admitted or claimed between this row's id and its commit (`runtime/histories.py`).
            await sessions.touch_session(tx, self.agent_id, session_id)
            stored = await self.deps.journal.write(
                tx, self.agent_id, session_id, [NewEvent("assistant", payload, content=text)], None
            )
        self.deps.journal.publish(stored)
        return stored[0].id

    def spawn(self, coro: Any) -> None:
        """Run background work tied to this runner (kept alive until it finishes)."""
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        """Stop every worker; running turns end with an error event."""
        tasks = [*self._workers.values(), *self._background]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.skills.close()
        await self.mcp.close()

    async def refresh_capabilities(self) -> None:
        """Mirror the enabled skills into the sandbox and (re)connect the enabled MCP servers."""
        await self.skills.refresh()
        await self.mcp.refresh()
