"""Creating, changing, triggering and listing schedules, with every check done up front: a
bad cron expression, an unknown time zone or a `runAt` in the past is a 400 at creation, never
a failure at fire time. Each change wakes the schedulers of every gateway process."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from openhermit.errors import Conflict, Invalid, NotFound
from openhermit.protocol.schedules import (
    ScheduleCreate,
    ScheduleRecord,
    ScheduleRunRecord,
    ScheduleUpdate,
)
from openhermit.scheduler.cron import next_fire, zone
from openhermit.store.engine import Database, Tx
from openhermit.store.notify import notify
from openhermit.store.repos import schedules, sessions, users

WAKE_MESSAGE = {"schedules": "changed"}
MAX_RUNS_LISTED = 200


def _future(run_at: datetime, now: datetime) -> datetime:
    if run_at <= now:
        raise Invalid(f"runAt {run_at.isoformat()} is in the past; a one-shot schedule needs a future time.")
    return run_at.astimezone(UTC)


async def _check_delivery(tx: Tx, agent_id: str, delivery: dict[str, Any]) -> None:
    if delivery.get("kind") != "session":
        return
    target = delivery.get("sessionId")
    if not target:
        raise Invalid("delivery of kind 'session' needs a sessionId.")
    if target == "inbox" or await sessions.get_record(tx, agent_id, target) is None:
        raise Invalid(f"Delivery session {target} does not exist on this agent.")


class ScheduleBook:
    def __init__(self, db: Database, wake: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self._wake = wake

    async def announce(self, tx: Tx) -> None:
        """Wake every process's scheduler when this transaction commits."""
        await notify(tx, WAKE_MESSAGE)

    async def _created_by(self, tx: Tx, agent_id: str, named: str | None, acting_user: str | None) -> str:
        """Whose identity and role the runs use: the named user (who must have a role on the
        agent), else the user creating it, else the agent's first owner."""
        if named is not None:
            if await users.role_of(tx, named, agent_id) is None:
                raise Invalid(f"createdBy {named} has no role on agent {agent_id}.")
            return named
        if acting_user is not None and await users.role_of(tx, acting_user, agent_id) is not None:
            return acting_user
        owner = await users.owner_of(tx, agent_id)
        if owner is None:
            raise Invalid("The agent has no owner to run the schedule as; pass createdBy.")
        return owner

    async def list(self, agent_id: str | None, status: str | None = None) -> list[ScheduleRecord]:
        async with self.db.transaction() as tx:
            return await schedules.list_schedules(tx, agent_id, status)

    async def get(self, agent_id: str, schedule_id: str) -> ScheduleRecord:
        async with self.db.transaction() as tx:
            found = await schedules.get_schedule(tx, agent_id, schedule_id)
        if found is None:
            raise NotFound(f"Schedule {schedule_id} not found.")
        return found

    async def runs(self, agent_id: str, schedule_id: str, limit: int = 20) -> list[ScheduleRunRecord]:
        async with self.db.transaction() as tx:
            if await schedules.get_schedule(tx, agent_id, schedule_id) is None:
                raise NotFound(f"Schedule {schedule_id} not found.")
            return await schedules.list_runs(tx, agent_id, schedule_id, max(1, min(limit, MAX_RUNS_LISTED)))

    async def create(self, agent_id: str, body: ScheduleCreate, *, acting_user: str | None) -> ScheduleRecord:
        now = datetime.now(UTC)
        zone(body.timezone)
        if body.type == "cron":
            if not body.cron_expression:
                raise Invalid("A cron schedule needs cronExpression.")
            if body.run_at is not None:
                raise Invalid("runAt is for one-shot schedules (type 'once'), not cron.")
            first = next_fire(body.cron_expression, body.timezone, now)
        else:
            if body.run_at is None:
                raise Invalid("A one-shot schedule (type 'once') needs runAt.")
            if body.cron_expression:
                raise Invalid("cronExpression is for cron schedules, not 'once'.")
            first = _future(body.run_at, now)
        delivery = body.delivery.wire() if body.delivery else {"kind": "silent"}
        async with self.db.transaction() as tx:
            await _check_delivery(tx, agent_id, delivery)
            created_by = await self._created_by(tx, agent_id, body.created_by, acting_user)
            schedule_id = body.id or uuid.uuid4().hex[:8]
            created = await schedules.insert_schedule(
                tx,
                agent_id=agent_id,
                schedule_id=schedule_id,
                type=body.type,
                status="active",
                cron_expression=body.cron_expression if body.type == "cron" else None,
                timezone=body.timezone or "UTC",
                run_at=body.run_at.astimezone(UTC) if body.run_at else None,
                prompt=body.prompt,
                session_mode=(body.session_mode.wire() if body.session_mode else {"kind": "dedicated"}),
                delivery=delivery,
                policy=body.policy.model_dump(exclude_none=True) if body.policy else {},
                created_by=created_by,
                next_run_at=first,
            )
            if created is None:
                raise Conflict(f"Schedule {schedule_id} already exists.")
            await self.announce(tx)
        self._wake()
        return created

    async def update(self, agent_id: str, schedule_id: str, body: ScheduleUpdate) -> ScheduleRecord:
        now = datetime.now(UTC)
        async with self.db.transaction() as tx:
            current = await schedules.get_schedule(tx, agent_id, schedule_id, lock=True)
            if current is None:
                raise NotFound(f"Schedule {schedule_id} not found.")
            values: dict[str, Any] = {}
            if body.prompt is not None:
                values["prompt"] = body.prompt
            if body.session_mode is not None:
                values["session_mode"] = body.session_mode.wire()
            if body.delivery is not None:
                values["delivery"] = body.delivery.wire()
                await _check_delivery(tx, agent_id, values["delivery"])
            if body.policy is not None:
                values["policy"] = body.policy.model_dump(exclude_none=True)
            if body.status is not None:
                values["status"] = body.status
            timing = body.cron_expression is not None or body.timezone is not None or body.run_at is not None
            resumed = body.status == "active" and current.status != "active"
            if current.type == "cron":
                if body.run_at is not None:
                    raise Invalid("runAt is for one-shot schedules (type 'once'), not cron.")
                expression = body.cron_expression or current.cron_expression or ""
                tz = body.timezone or current.timezone
                if timing or resumed:
                    values.update(
                        cron_expression=expression, timezone=tz, next_run_at=next_fire(expression, tz, now)
                    )
            else:
                if body.cron_expression is not None:
                    raise Invalid("cronExpression is for cron schedules, not 'once'.")
                if body.timezone is not None:
                    values["timezone"] = zone(body.timezone).key
                if body.run_at is not None:
                    values.update(run_at=_future(body.run_at, now), next_run_at=body.run_at.astimezone(UTC))
                elif resumed and current.status == "completed":
                    raise Invalid("This one-shot schedule already ran; set a new runAt or trigger it.")
                elif resumed and current.next_run_at is None and current.run_at is not None:
                    values["next_run_at"] = max(current.run_at, now)
            updated = await schedules.update_schedule(tx, agent_id, schedule_id, **values)
            assert updated is not None
            await self.announce(tx)
        self._wake()
        return updated

    async def delete(self, agent_id: str, schedule_id: str) -> None:
        async with self.db.transaction() as tx:
            if not await schedules.delete_schedule(tx, agent_id, schedule_id):
                raise NotFound(f"Schedule {schedule_id} not found.")
            await self.announce(tx)
        self._wake()

    async def trigger(self, agent_id: str, schedule_id: str) -> ScheduleRecord:
        """Run now: the schedule becomes active and due at once."""
        async with self.db.transaction() as tx:
            now = await schedules.db_now(tx)
            updated = await schedules.update_schedule(
                tx, agent_id, schedule_id, status="active", next_run_at=now
            )
            if updated is None:
                raise NotFound(f"Schedule {schedule_id} not found.")
            await self.announce(tx)
        self._wake()
        return updated
