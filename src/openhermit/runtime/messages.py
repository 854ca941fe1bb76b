"""Accepting messages into a session: store, queue a turn per the concurrency policy, run."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

from openhermit.errors import Conflict, InboxReadOnly
from openhermit.protocol.agent_config import AgentConfig
from openhermit.protocol.sessions import SessionMessage, SessionRecord
from openhermit.runtime.access import AgentAccess
from openhermit.runtime.journal import NewEvent
from openhermit.runtime.runner import AgentRunner, ClaimedTurn
from openhermit.store.engine import DriverTx
from openhermit.store.notify import notify
from openhermit.store.repos import receipts, sessions, turns
from openhermit.store.repos.events import StoredEvent
from openhermit.store.repos.turns import TurnRow

DESCRIPTION_MAX = 80
PREVIEW_MAX = 200


@dataclass(frozen=True)
class Accepted:
    session_id: str
    message_id: str | None
    correlation_id: str
    turn_id: int | None
    triggered: bool
    deduped: bool = False


def fallback_description(text: str) -> str:
    """The first message, on one line, at most 80 characters (77 + `...`)."""
    line = " ".join(text.split())
    return line if len(line) <= DESCRIPTION_MAX else line[: DESCRIPTION_MAX - 3] + "..."


def _user_payload(message: SessionMessage, correlation_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = {"text": message.text, "correlationId": correlation_id}
    if message.message_id:
        payload["messageId"] = message.message_id
    if message.sender:
        payload["sender"] = message.sender.wire()
        if message.sender.display_name:
            payload["name"] = message.sender.display_name
    if message.attachments:
        payload["attachments"] = [a.wire() for a in message.attachments]
    if message.metadata:
        payload["metadata"] = message.metadata
    if message.participants:
        payload["participants"] = [p.wire() for p in message.participants]
    return payload


async def _writable(
    tx: DriverTx, runner: AgentRunner, session_id: str, access: AgentAccess
) -> tuple[SessionRecord, str]:
    """Lock the session for a new message; the speaking user joins a group's participants.
    With the session, the concurrency policy that applies to it."""
    locked = await sessions.lock_session(tx, runner.agent_id, session_id)
    session, policy = locked if locked is not None else (None, None)
    if (
        session is not None
        and session.type == "group"
        and access.user_id
        and not access.sees_session(session)
    ):
        await sessions.add_participant(tx, runner.agent_id, session_id, access.user_id)
        session.user_ids.append(access.user_id)
    return access.require_session(session, session_id), policy or _DEFAULT_POLICY


_DEFAULT_POLICY: str = AgentConfig.model_fields["concurrency"].default


async def _ask_peers_to_interrupt(tx: DriverTx, runner: AgentRunner, session_id: str) -> None:
    """The running turn may belong to another gateway process: ask them all (at commit)."""
    message = {"o": runner.deps.instance_id, "interrupt": {"a": runner.agent_id, "s": session_id}}
    await notify(tx, message)


async def interrupt_session(runner: AgentRunner, session_id: str) -> bool:
    """End the session's running turn, wherever it runs; False when none runs."""
    if runner.interrupt(session_id):
        return True
    async with runner.deps.db.driver_transaction() as tx:
        if not await turns.request_interrupt(tx, runner.agent_id, session_id):
            return False
        await _ask_peers_to_interrupt(tx, runner, session_id)
    runner.interrupt(session_id)  # it may have registered here meanwhile
    return True


def _counted(text: str) -> sessions.MessageCount:
    return sessions.MessageCount(text[:PREVIEW_MAX], fallback_description(text))


class _Stored(NamedTuple):
    """A message stored by `_accept`, to publish and run once its transaction commits."""

    session: SessionRecord
    turn: TurnRow | None
    events: list[StoredEvent]  # the message's row, and the claimed turn's `agent_start` if any
    interrupt_running: bool  # the session's running turn is to be interrupted
    triggered: bool  # a turn was asked for (group chatter does not ask)


@dataclass
class _Handover:
    """An idle session's new worker, started while accepting a message, and the turn claimed
    for it in the accepting transaction; handed over once that has committed."""

    first: asyncio.Future[ClaimedTurn | None] | None = None
    claimed: ClaimedTurn | None = None

    def settle(self) -> None:
        """Give the worker its turn (None: it claims for itself)."""
        if self.first is not None and not self.first.done():  # done: the runner closed meanwhile
            self.first.set_result(self.claimed)


def _turn_request(
    message: SessionMessage, access: AgentAccess, correlation: str, turn_options: dict[str, Any] | None
) -> dict[str, Any]:
    """What a turn for the message runs with (its `request`)."""
    return {
        "correlationId": correlation,
        "additionalInstruction": message.additional_instruction,
        "senderName": message.sender.display_name if message.sender else None,
        "userId": access.user_id,
        "role": "owner" if access.is_admin else access.role,
        "channel": access.caller.channel,
        "channelUserId": access.caller.channel_user_id,
        **(turn_options or {}),
    }


async def post_message(
    runner: AgentRunner,
    session_id: str,
    message: SessionMessage,
    access: AgentAccess,
    *,
    turn_options: dict[str, Any] | None = None,
) -> Accepted:
    """Store the user message and, unless it is group chatter, queue a turn for it.

    `turn_options` go into the turn's request (the scheduler's limits: `maxToolCalls`, `model`).
    """
    access.check_session_id(session_id)
    if session_id == "inbox":
        raise InboxReadOnly("The inbox session is read-only.")
    access.check_sender(message.sender)
    correlation = message.message_id or f"m-{uuid.uuid4().hex[:16]}"
    deps = runner.deps
    handover = _Handover()
    try:
        arrival = _Arrival(runner, session_id, message, access, correlation, turn_options)
        accepted = await _admit(arrival, handover)
        if accepted is None:
            async with deps.db.driver_transaction() as tx:
                accepted = await _accept(tx, arrival, handover)
        if isinstance(accepted, Accepted):
            return accepted  # a retry of a message seen before
        session, turn, stored, interrupt_running, triggered = accepted
    except BaseException:
        handover.claimed = None  # rolled back: nothing was claimed
        raise
    finally:
        handover.settle()
    deps.journal.publish(stored)
    deps.metrics.messages.labels(runner.agent_id, session.source.kind).inc()
    if interrupt_running:
        runner.interrupt(session_id)
    if turn is not None and handover.first is None:
        runner.kick(session_id)
    return Accepted(session_id, message.message_id, correlation, turn.id if turn else None, triggered)


class _Arrival(NamedTuple):
    """A message being accepted, with who sent it and what its turn is to run with."""

    runner: AgentRunner
    session_id: str
    message: SessionMessage
    access: AgentAccess
    correlation: str
    turn_options: dict[str, Any] | None


async def _admit(arrival: _Arrival, handover: _Handover) -> _Stored | None:
    """Into an idle session, the whole acceptance in one statement that commits on its own,
    with the turn started for a worker reserved here (`AgentRunner.start_at_once`). None, and
    nothing written, when that does not apply: the general way (`_accept`) takes over."""
    runner, session_id, message, access, correlation, turn_options = arrival
    sees = access.sees_session_id(session_id)
    participant = None if sees else access.user_id
    if sees is False or (sees is None and participant is None) or message.mentioned is False:
        return None  # not seen by role (group chatter aside: `mentioned` is for groups)
    handover.first = runner.reserve(session_id)
    if handover.first is None:
        return None  # a worker of the session runs here already: the session is not idle
    claimed = await runner.start_at_once(
        session_id,
        message=NewEvent("user", _user_payload(message, correlation), content=message.text),
        message_id=message.message_id,
        request=_turn_request(message, access, correlation, turn_options),
        counting=_counted(message.text),
        participant=participant,
    )
    if claimed is None:
        return None
    handover.claimed = claimed
    return _Stored(claimed.inputs.session, claimed.turn, claimed.events, False, True)


async def _accept(tx: DriverTx, arrival: _Arrival, handover: _Handover) -> Accepted | _Stored:
    """Store the message (and queue its turn) in the caller's transaction; for a retried
    `messageId`, the earlier acceptance instead. In an idle session the turn is also started
    here (one commit instead of two), and the message stored with its `agent_start`."""
    runner, session_id, message, access, correlation, turn_options = arrival
    interrupt_running = False
    session, policy = await _writable(tx, runner, session_id, access)
    triggered = not (session.type == "group" and message.mentioned is False)
    if message.message_id and not await receipts.insert_receipt(
        tx, runner.agent_id, session_id, message.message_id
    ):
        seen = await receipts.find_receipt(tx, runner.agent_id, session_id, message.message_id)
        turn_id = seen.turn_id if seen else None
        return Accepted(
            session_id, message.message_id, correlation, turn_id, turn_id is not None, deduped=True
        )
    turn, began = None, None
    if triggered:
        busy = policy != "queue" and await turns.has_queued(tx, runner.agent_id, session_id)
        if busy and policy == "reject":
            raise Conflict("A turn is already running in this session.")
        if busy and policy == "interrupt":
            await turns.cancel_queued(tx, runner.agent_id, session_id)
            await turns.request_interrupt(tx, runner.agent_id, session_id)
            await _ask_peers_to_interrupt(tx, runner, session_id)
            interrupt_running = True
        if not interrupt_running and handover.first is None:  # an idle session's turn starts here
            handover.first = runner.reserve(session_id)
        turn, began = await turns.queue_turn(
            tx,
            runner.agent_id,
            session_id,
            message_id=message.message_id,
            request=_turn_request(message, access, correlation, turn_options),
            counting=_counted(message.text),
            start=runner.lease if handover.first is not None and not interrupt_running else None,
        )
    else:
        await sessions.record_user_message(tx, runner.agent_id, session_id, _counted(message.text))
    row = NewEvent("user", _user_payload(message, correlation), content=message.text)
    if turn is not None and handover.first is not None and not interrupt_running:
        if began is not None:  # the turn started as it was queued
            handover.claimed = await runner.begin_in(tx, began, turn, leading=(row, turn.id))
        else:  # an older turn waits, or one runs on another gateway
            handover.claimed = await runner.claim_in(tx, session_id, leading=(row, turn.id))
    claimed = handover.claimed
    if claimed is not None and turn is not None and claimed.turn.id == turn.id:
        stored = claimed.events  # the message's row went in with the turn's `agent_start`
        message_event = stored[0]
    else:  # no claim, or an older queued turn was claimed: its `agent_start` came first
        written = await runner.deps.journal.write(
            tx, runner.agent_id, session_id, [row], turn.id if turn else None
        )
        message_event = written[0]
        stored = (claimed.events if claimed is not None else []) + written
    if message.message_id:
        await receipts.complete_receipt(
            tx,
            runner.agent_id,
            session_id,
            message.message_id,
            event_id=message_event.id,
            turn_id=turn.id if turn else None,
        )
    return _Stored(session, turn, stored, interrupt_running, triggered)


async def append_message(
    runner: AgentRunner, session_id: str, message: SessionMessage, access: AgentAccess
) -> bool:
    """Store a message without running the model. False when its `messageId` was seen before."""
    access.check_session_id(session_id)
    if session_id == "inbox":
        raise InboxReadOnly("The inbox session is read-only.")
    access.check_sender(message.sender)
    deps = runner.deps
    correlation = message.message_id or f"m-{uuid.uuid4().hex[:16]}"
    payload = _user_payload(message, correlation)
    if message.occurred_at is not None:
        payload["occurredAt"] = message.occurred_at.isoformat()
    async with deps.db.driver_transaction() as tx:
        session, _ = await _writable(tx, runner, session_id, access)
        if message.message_id and not await receipts.insert_receipt(
            tx, runner.agent_id, session_id, message.message_id
        ):
            return False
        if message.append_as == "assistant":
            payload.update(
                {
                    "final": False,
                    "metadata": {**(message.metadata or {}), "synthetic": True, "appendedBy": "api"},
                }
            )
            row = NewEvent("assistant", payload, content=message.text)
        else:
            row = NewEvent("user", payload, content=message.text)
        stored = await deps.journal.write(tx, runner.agent_id, session_id, [row], None)
        if message.append_as != "assistant":
            await sessions.record_user_message(tx, runner.agent_id, session_id, _counted(message.text))
        else:
            await sessions.touch_session(tx, runner.agent_id, session_id)
    if message.append_as != "assistant":
        deps.journal.publish(stored)
        deps.metrics.messages.labels(runner.agent_id, session.source.kind).inc()
    return True
