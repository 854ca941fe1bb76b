"""Running one claimed fire: the scheduled prompt goes through the ordinary message path
(`post_message`) into the schedule's session, as the schedule's user, and the run waits for
that turn within the schedule's time limit."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime

from openhermit.protocol.schedules import ScheduleRecord
from openhermit.protocol.sessions import SessionMessage, SessionSource, SessionSpec
from openhermit.runtime.access import AgentAccess, Caller
from openhermit.runtime.bus import Subscription
from openhermit.runtime.deps import RuntimeDeps
from openhermit.runtime.fleet import Fleet
from openhermit.runtime.messages import interrupt_session, post_message
from openhermit.runtime.runner import AgentRunner
from openhermit.runtime.session_ops import open_session
from openhermit.store.repos import schedules, sessions, turns, users
from openhermit.store.repos.turns import TurnRow

TIMEOUT = "timeout"
POLL_SECONDS = 2.0


class RunFailed(Exception):
    """The run could not start (agent gone, user without a role); the message is recorded."""


@dataclass(frozen=True)
class Fire:
    run_id: int
    schedule: ScheduleRecord
    fire_at: datetime


@dataclass(frozen=True)
class Outcome:
    status: str  # completed | failed
    error: str | None = None


def session_for(fire: Fire) -> str:
    schedule = fire.schedule
    if schedule.session_mode.kind == "ephemeral":
        return f"schedule:{schedule.schedule_id}:{fire.run_id}"
    return f"schedule:{schedule.schedule_id}"


async def acting_access(deps: RuntimeDeps, schedule: ScheduleRecord) -> AgentAccess:
    """The schedule's user, with their identity and their current role on the agent."""
    async with deps.db.transaction() as tx:
        user_id = schedule.created_by or await users.owner_of(tx, schedule.agent_id)
        role = await users.role_of(tx, user_id, schedule.agent_id) if user_id else None
        identities = await users.identities_of(tx, user_id) if user_id else []
    if user_id is None or role is None:
        raise RunFailed(f"The schedule's user {user_id} has no role on agent {schedule.agent_id}.")
    if identities:
        caller = Caller(
            kind="user", channel=identities[0].channel, channel_user_id=identities[0].channel_user_id
        )
    else:
        caller = Caller(kind="user", channel="schedule", channel_user_id=user_id)
    return AgentAccess(caller, schedule.agent_id, user_id, role)


def _text(schedule: ScheduleRecord) -> str:
    if schedule.delivery.kind == "session" and schedule.delivery.session_id:
        return (
            f"{schedule.prompt}\n\n[Delivery] Your final answer will be posted to session "
            f"{schedule.delivery.session_id}."
        )
    return schedule.prompt


async def _ended(deps: RuntimeDeps, turn_id: int) -> TurnRow | None:
    async with deps.db.transaction() as tx:
        turn = await turns.get_turn(tx, turn_id)
    return turn if turn is not None and turn.status not in ("queued", "running") else None


async def _wait_for_turn(deps: RuntimeDeps, subscription: Subscription, turn_id: int) -> TurnRow:
    """Until the turn ends: its `agent_end` on the bus, or (ran elsewhere, bus overflowed) the row."""
    while True:
        if subscription.overflowed:
            await asyncio.sleep(POLL_SECONDS)
        else:
            envelope = None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_SECONDS):
                    envelope = await subscription.get()
            if envelope is not None and not (
                envelope.turn_id == turn_id and envelope.event.type == "agent_end"
            ):
                continue
        if (turn := await _ended(deps, turn_id)) is not None:
            return turn


async def _stop_turn(runner: AgentRunner, session_id: str, turn_id: int) -> None:
    """The run took too long: cancel its turn if queued, interrupt it if running."""
    async with runner.deps.db.transaction() as tx:
        if await turns.cancel_turn(tx, turn_id):
            return
        turn = await turns.get_turn(tx, turn_id)
    if turn is not None and turn.status == "running":
        await interrupt_session(runner, session_id)


async def execute(deps: RuntimeDeps, fleet: Fleet, fire: Fire, timeout_seconds: float) -> Outcome:
    schedule = fire.schedule
    runner = await fleet.get(schedule.agent_id)
    if runner is None:
        raise RunFailed(f"Agent {schedule.agent_id} is missing or disabled.")
    access = await acting_access(deps, schedule)
    session_id = session_for(fire)
    metadata = {"schedule_id": schedule.schedule_id, "schedule_user_id": access.user_id or ""}
    spec = SessionSpec(
        session_id=session_id,
        source=SessionSource(kind="schedule", interactive=False, trigger_id=schedule.schedule_id),
        metadata=metadata,
    )
    await open_session(runner, spec, access)
    async with deps.db.transaction() as tx:
        await schedules.set_run_session(tx, fire.run_id, session_id)
    message = SessionMessage(
        message_id=f"schedule-run-{fire.run_id}",
        text=_text(schedule),
        metadata={
            "schedule_id": schedule.schedule_id,
            "schedule_type": schedule.type,
            "schedule_run_id": fire.run_id,
        },
    )
    options = {"maxToolCalls": schedule.policy.max_iterations, "model": schedule.policy.model}
    with deps.bus.subscribe(schedule.agent_id, session_id, types=frozenset({"agent_end"})) as subscription:
        accepted = await post_message(
            runner,
            session_id,
            message,
            access,
            turn_options={k: v for k, v in options.items() if v is not None},
        )
        assert accepted.turn_id is not None
        try:
            async with asyncio.timeout(timeout_seconds):
                turn = await _wait_for_turn(deps, subscription, accepted.turn_id)
        except TimeoutError:
            await _stop_turn(runner, session_id, accepted.turn_id)
            return Outcome("failed", TIMEOUT)
        finally:
            if schedule.session_mode.kind == "ephemeral" or schedule.type == "once":
                with contextlib.suppress(Exception):
                    async with deps.db.transaction() as tx:
                        await sessions.set_session_status(tx, schedule.agent_id, session_id, "inactive")
    result = turn.result or {}
    if turn.status != "completed":
        return Outcome("failed", str(result.get("error") or f"The turn ended {turn.status}."))
    answer = result.get("text")
    if schedule.delivery.kind == "session" and schedule.delivery.session_id and answer:
        await runner.send_to_session(schedule.delivery.session_id, str(answer))
    return Outcome("completed")
