"""Schedule tools: any member may read schedules and their runs; owners create and change them.
A schedule created here runs as the user who asked for it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openhermit.errors import OpenHermitError
from openhermit.protocol.schedules import (
    SCHEDULE_ID_PATTERN,
    Delivery,
    ScheduleCreate,
    SchedulePolicy,
    ScheduleRecord,
    ScheduleUpdate,
    SessionMode,
)
from openhermit.runtime.scheduling import ScheduleOperations
from openhermit.runtime.tools.base import ANY, OWNER, Tool, ToolContext, ToolFailed, ToolInput, ToolOutcome


@contextmanager
def _reported() -> Iterator[None]:
    """Refusals (bad cron, unknown schedule...) go back to the model as the tool's error."""
    try:
        yield
    except ValidationError as exc:
        raise ToolFailed(f"Invalid schedule: {exc.errors()[0]['msg']}") from None
    except OpenHermitError as exc:
        raise ToolFailed(exc.message) from None


def _book(ctx: ToolContext) -> ScheduleOperations:
    book = getattr(ctx.deps, "schedules", None)
    if book is None:
        raise ToolFailed("Schedules are not available in this process.")
    return book  # type: ignore[no-any-return]


def _line(s: ScheduleRecord) -> str:
    when = s.cron_expression if s.type == "cron" else (s.run_at.isoformat() if s.run_at else "?")
    zone = f" {s.timezone}" if s.type == "cron" and s.timezone != "UTC" else ""
    nxt = s.next_run_at.isoformat() if s.next_run_at else "-"
    errors = f", {s.consecutive_errors} errors in a row: {s.last_error}" if s.consecutive_errors else ""
    return f"- {s.schedule_id} [{s.status}] {s.type} {when}{zone}, next {nxt}{errors}: {s.prompt[:80]}"


class _SessionTarget(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session: str = Field(min_length=1)


def _delivery(value: Literal["silent"] | _SessionTarget | None) -> Delivery | None:
    if value is None:
        return None
    if value == "silent":
        return Delivery(kind="silent")
    assert isinstance(value, _SessionTarget)
    return Delivery(kind="session", session_id=value.session)


class ScheduleList(Tool):
    name = "schedule_list"
    description = "List this agent's schedules (optionally by status)."
    default_grants = ANY

    class Input(ToolInput):
        status: Literal["active", "paused", "completed", "failed"] | None = None

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        found = await _book(ctx).list(ctx.agent_id, args.status)
        return ToolOutcome(
            text="\n".join(_line(s) for s in found) or "No schedules.", details=[s.wire() for s in found]
        )


class ScheduleRuns(Tool):
    name = "schedule_runs"
    description = "The most recent runs of a schedule: status, session, duration, error."
    default_grants = ANY

    class Input(ToolInput):
        id: str = Field(min_length=1)
        limit: int = Field(10, ge=1, le=100)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        with _reported():
            found = await _book(ctx).runs(ctx.agent_id, args.id, args.limit)
        lines = [
            f"- run {r.id} {r.status} at {r.started_at.isoformat()}"
            + (f" ({r.duration_ms} ms)" if r.duration_ms is not None else "")
            + (f": {r.error}" if r.error else "")
            for r in found
        ]
        return ToolOutcome(text="\n".join(lines) or "No runs yet.", details=[r.wire() for r in found])


class ScheduleCreateTool(Tool):
    name = "schedule_create"
    description = (
        "Create a schedule that sends you `prompt` later: type 'cron' with cron_expression "
        "(5 fields, or 6 with seconds first; timezone is an IANA name, UTC by default) or type "
        "'once' with run_at (ISO-8601 with a time zone). It runs as the user asking."
    )
    default_grants = OWNER

    class Input(ToolInput):
        type: Literal["cron", "once"]
        prompt: str = Field(min_length=1)
        cron_expression: str | None = None
        timezone: str | None = None
        run_at: datetime | None = None
        id: str | None = Field(None, pattern=SCHEDULE_ID_PATTERN)
        session_mode: Literal["dedicated", "ephemeral"] | None = None
        delivery: Literal["silent"] | _SessionTarget | None = None
        timeout_seconds: int | None = Field(None, ge=1, le=86_400)
        max_iterations: int | None = Field(None, ge=0, le=1000)
        concurrency: Literal["skip", "queue"] | None = None

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        policy = SchedulePolicy(
            timeout_seconds=args.timeout_seconds,
            max_iterations=args.max_iterations,
            concurrency=args.concurrency,
        )
        with _reported():
            body = ScheduleCreate(
                type=args.type,
                prompt=args.prompt,
                cron_expression=args.cron_expression,
                timezone=args.timezone,
                run_at=args.run_at,
                id=args.id,
                session_mode=SessionMode(kind=args.session_mode) if args.session_mode else None,
                delivery=_delivery(args.delivery),
                policy=policy,
            )
            created = await _book(ctx).create(ctx.agent_id, body, acting_user=ctx.user_id)
        return ToolOutcome(text=f"Schedule created.\n{_line(created)}", details=created.wire())


class ScheduleUpdateTool(Tool):
    name = "schedule_update"
    description = "Change a schedule: pause/resume (status), prompt, cron_expression, run_at, session_mode."
    default_grants = OWNER

    class Input(ToolInput):
        id: str = Field(min_length=1)
        status: Literal["active", "paused"] | None = None
        prompt: str | None = Field(None, min_length=1)
        cron_expression: str | None = None
        timezone: str | None = None
        run_at: datetime | None = None
        session_mode: Literal["dedicated", "ephemeral"] | None = None

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        with _reported():
            body = ScheduleUpdate(
                status=args.status,
                prompt=args.prompt,
                cron_expression=args.cron_expression,
                timezone=args.timezone,
                run_at=args.run_at,
                session_mode=SessionMode(kind=args.session_mode) if args.session_mode else None,
            )
            updated = await _book(ctx).update(ctx.agent_id, args.id, body)
        return ToolOutcome(text=f"Schedule updated.\n{_line(updated)}", details=updated.wire())


class ScheduleDelete(Tool):
    name = "schedule_delete"
    description = "Delete a schedule and its run history."
    default_grants = OWNER

    class Input(ToolInput):
        id: str = Field(min_length=1)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        with _reported():
            await _book(ctx).delete(ctx.agent_id, args.id)
        return ToolOutcome(text=f"Schedule {args.id} deleted.")


class ScheduleTrigger(Tool):
    name = "schedule_trigger"
    description = "Run a schedule now (it becomes active and due at once)."
    default_grants = OWNER

    class Input(ToolInput):
        id: str = Field(min_length=1)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        with _reported():
            await _book(ctx).trigger(ctx.agent_id, args.id)
        return ToolOutcome(text=f"Schedule {args.id} triggered; it starts within a second.")


SCHEDULE_TOOLS: list[Tool] = [
    ScheduleList(),
    ScheduleRuns(),
    ScheduleCreateTool(),
    ScheduleUpdateTool(),
    ScheduleDelete(),
    ScheduleTrigger(),
]
