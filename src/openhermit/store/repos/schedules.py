"""Schedules and their run ledger (`schedules`, `schedule_runs`).

A due fire is claimed by locking its schedule row (`FOR UPDATE SKIP LOCKED`) and inserting a
run keyed by (agent, schedule, fire time): whichever gateway process gets there first runs it,
and the unique key makes a second run of the same fire impossible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, exists, func, not_, select, update
from sqlalchemy.dialects.postgresql import insert

from openhermit.protocol.schedules import (
    Delivery,
    SchedulePolicy,
    ScheduleRecord,
    ScheduleRunRecord,
    SessionMode,
)
from openhermit.store.engine import Tx
from openhermit.store.tables.schedules import Schedule, ScheduleRun


def _mode(value: Any) -> SessionMode:
    if isinstance(value, str):
        return SessionMode(kind=value)  # type: ignore[arg-type]
    return SessionMode.model_validate(value or {})


def record(row: Schedule) -> ScheduleRecord:
    return ScheduleRecord(
        agent_id=row.agent_id,
        schedule_id=row.schedule_id,
        type=row.type,  # type: ignore[arg-type]
        status=row.status,  # type: ignore[arg-type]
        cron_expression=row.cron_expression,
        timezone=row.timezone,
        run_at=row.run_at,
        prompt=row.prompt,
        session_mode=_mode(row.session_mode),
        delivery=Delivery.model_validate(row.delivery or {}),
        policy=SchedulePolicy.model_validate(row.policy or {}),
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_run_at=row.last_run_at,
        next_run_at=row.next_run_at,
        run_count=row.run_count,
        consecutive_errors=row.consecutive_errors,
        last_error=row.last_error,
    )


def _run(row: ScheduleRun) -> ScheduleRunRecord:
    return ScheduleRunRecord(
        id=row.id,
        agent_id=row.agent_id,
        schedule_id=row.schedule_id,
        fire_at=row.fire_at,
        status=row.status,  # type: ignore[arg-type]
        session_id=row.session_id,
        prompt=row.prompt,
        started_at=row.started_at,
        finished_at=row.finished_at,
        duration_ms=row.duration_ms,
        error=row.error,
    )


# Schedules --------------------------------------------------------------------------------
async def insert_schedule(tx: Tx, **values: Any) -> ScheduleRecord | None:
    """Insert a schedule; None when the agent already has one with this id."""
    stmt = insert(Schedule).values(**values).on_conflict_do_nothing().returning(Schedule)
    row = (await tx.execute(stmt)).scalar_one_or_none()
    return record(row) if row else None


async def get_schedule(
    tx: Tx, agent_id: str, schedule_id: str, *, lock: bool = False
) -> ScheduleRecord | None:
    stmt = select(Schedule).where(Schedule.agent_id == agent_id, Schedule.schedule_id == schedule_id)
    if lock:
        stmt = stmt.with_for_update()
    row = (await tx.execute(stmt)).scalar_one_or_none()
    return record(row) if row else None


async def list_schedules(tx: Tx, agent_id: str | None, status: str | None = None) -> list[ScheduleRecord]:
    stmt = select(Schedule).order_by(Schedule.agent_id, Schedule.created_at, Schedule.schedule_id)
    if agent_id is not None:
        stmt = stmt.where(Schedule.agent_id == agent_id)
    if status is not None:
        stmt = stmt.where(Schedule.status == status)
    return [record(r) for r in (await tx.execute(stmt)).scalars()]


async def update_schedule(tx: Tx, agent_id: str, schedule_id: str, **values: Any) -> ScheduleRecord | None:
    stmt = (
        update(Schedule)
        .where(Schedule.agent_id == agent_id, Schedule.schedule_id == schedule_id)
        .values(**values, updated_at=func.now())
        .returning(Schedule)
    )
    row = (await tx.execute(stmt)).scalar_one_or_none()
    return record(row) if row else None


async def delete_schedule(tx: Tx, agent_id: str, schedule_id: str) -> bool:
    """Delete a schedule and its ledger."""
    found = await tx.execute(
        delete(Schedule)
        .where(Schedule.agent_id == agent_id, Schedule.schedule_id == schedule_id)
        .returning(Schedule.schedule_id)
    )
    if found.first() is None:
        return False
    await tx.execute(
        delete(ScheduleRun).where(ScheduleRun.agent_id == agent_id, ScheduleRun.schedule_id == schedule_id)
    )
    return True


# Claiming due fires -----------------------------------------------------------------------
def _running_run() -> Any:
    return exists().where(
        ScheduleRun.agent_id == Schedule.agent_id,
        ScheduleRun.schedule_id == Schedule.schedule_id,
        ScheduleRun.status == "running",
    )


def _claimable() -> Any:
    """Active and due, except `queue` schedules whose previous run still runs (they wait)."""
    policy = func.coalesce(Schedule.policy["concurrency"].astext, "skip")
    queued_behind = and_(policy == "queue", _running_run())
    return and_(Schedule.status == "active", Schedule.next_run_at.is_not(None), not_(queued_behind))


async def lock_due(tx: Tx, limit: int) -> list[tuple[ScheduleRecord, float, bool]]:
    """Lock due schedules no other process holds: (schedule, seconds late, previous run running)."""
    stmt = (
        select(
            Schedule,
            func.extract("epoch", func.now() - Schedule.next_run_at),
            _running_run(),
        )
        .where(_claimable(), Schedule.next_run_at <= func.now())
        .order_by(Schedule.next_run_at)
        .limit(limit)
        .with_for_update(of=Schedule, skip_locked=True)
    )
    return [(record(row), float(late), bool(busy)) for row, late, busy in await tx.execute(stmt)]


async def seconds_until_due(tx: Tx) -> float | None:
    """Seconds until the earliest claimable fire (negative when overdue); None when none."""
    stmt = (
        select(func.extract("epoch", Schedule.next_run_at - func.now()))
        .where(_claimable())
        .order_by(Schedule.next_run_at)
        .limit(1)
    )
    value = (await tx.execute(stmt)).scalar_one_or_none()
    return None if value is None else float(value)


async def db_now(tx: Tx) -> datetime:
    return (await tx.execute(select(func.now()))).scalar_one()  # type: ignore[no-any-return]


# The run ledger ---------------------------------------------------------------------------
async def insert_run(
    tx: Tx,
    schedule: ScheduleRecord,
    *,
    fire_at: datetime,
    status: str,
    owner: str | None,
    error: str | None = None,
) -> int | None:
    """Record a fire; None when this fire of the schedule is already recorded."""
    terminal = status != "running"
    stmt = (
        insert(ScheduleRun)
        .values(
            agent_id=schedule.agent_id,
            schedule_id=schedule.schedule_id,
            fire_at=fire_at,
            status=status,
            prompt=schedule.prompt,
            lease_owner=owner,
            error=error,
            finished_at=func.now() if terminal else None,
            duration_ms=0 if terminal else None,
        )
        .on_conflict_do_nothing(index_elements=["agent_id", "schedule_id", "fire_at"])
        .returning(ScheduleRun.id)
    )
    return (await tx.execute(stmt)).scalar_one_or_none()


async def set_run_session(tx: Tx, run_id: int, session_id: str) -> None:
    await tx.execute(update(ScheduleRun).where(ScheduleRun.id == run_id).values(session_id=session_id))


async def finish_run(tx: Tx, run_id: int, *, status: str, error: str | None) -> bool:
    """End a running run; False when it was ended already (for example as `gateway_lost`)."""
    elapsed = func.extract("epoch", func.clock_timestamp() - ScheduleRun.started_at) * 1000
    found = await tx.execute(
        update(ScheduleRun)
        .where(ScheduleRun.id == run_id, ScheduleRun.status == "running")
        .values(
            status=status, error=error, finished_at=func.clock_timestamp(), duration_ms=func.round(elapsed)
        )
        .returning(ScheduleRun.id)
    )
    return found.first() is not None


async def list_runs(tx: Tx, agent_id: str, schedule_id: str, limit: int) -> list[ScheduleRunRecord]:
    stmt = (
        select(ScheduleRun)
        .where(ScheduleRun.agent_id == agent_id, ScheduleRun.schedule_id == schedule_id)
        .order_by(ScheduleRun.id.desc())
        .limit(limit)
    )
    return [_run(r) for r in (await tx.execute(stmt)).scalars()]


@dataclass(frozen=True)
class RunningRun:
    id: int
    agent_id: str
    schedule_id: str
    owner: str | None


async def running_runs(tx: Tx) -> list[RunningRun]:
    rows = await tx.execute(
        select(ScheduleRun.id, ScheduleRun.agent_id, ScheduleRun.schedule_id, ScheduleRun.lease_owner).where(
            ScheduleRun.status == "running"
        )
    )
    return [RunningRun(*row) for row in rows]


# Outcomes ---------------------------------------------------------------------------------
async def record_success(tx: Tx, agent_id: str, schedule_id: str) -> None:
    """A completed run: errors reset; a one-shot schedule is done."""
    await tx.execute(
        update(Schedule)
        .where(Schedule.agent_id == agent_id, Schedule.schedule_id == schedule_id)
        .values(
            run_count=Schedule.run_count + 1,
            consecutive_errors=0,
            last_error=None,
            last_run_at=func.now(),
            status=case(
                (and_(Schedule.type == "once", Schedule.status == "active"), "completed"),
                else_=Schedule.status,
            ),
            updated_at=func.now(),
        )
    )


async def record_failure(
    tx: Tx, agent_id: str, schedule_id: str, error: str, backoff_seconds: list[float], once_attempts: int
) -> ScheduleRecord | None:
    """A failed run: count it and push the next fire back by the backoff step.

    A cron schedule keeps firing (no sooner than the backoff); a one-shot schedule is retried
    after the backoff and ends `failed` after `once_attempts` failures in a row.
    """
    row = (
        await tx.execute(
            select(Schedule)
            .where(Schedule.agent_id == agent_id, Schedule.schedule_id == schedule_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    errors = row.consecutive_errors + 1
    step = backoff_seconds[min(errors, len(backoff_seconds)) - 1]
    not_before = await tx.execute(select(func.now() + func.make_interval(0, 0, 0, 0, 0, 0, step)))
    earliest: datetime = not_before.scalar_one()
    values: dict[str, Any] = {
        "run_count": row.run_count + 1,
        "consecutive_errors": errors,
        "last_error": error,
        "last_run_at": func.now(),
        "updated_at": func.now(),
    }
    if row.status == "active":
        if row.type == "once" and errors >= once_attempts:
            values.update(status="failed", next_run_at=None)
        elif row.type == "once" or row.next_run_at is None:
            values["next_run_at"] = earliest
        else:
            values["next_run_at"] = max(row.next_run_at, earliest)
    stmt = (
        update(Schedule)
        .where(Schedule.agent_id == agent_id, Schedule.schedule_id == schedule_id)
        .values(**values)
        .returning(Schedule)
    )
    return record((await tx.execute(stmt)).scalar_one())


async def end_running_run(tx: Tx, run_id: int, reason: str) -> bool:
    """Mark a run `failed` with `reason` (`gateway_lost`, `gateway_stopped`); False if it ended.

    Waits for the row if its owner is just finishing it (then it is no longer running)."""
    return await finish_run(tx, run_id, status="failed", error=reason)
