"""Schedules and their runs, as the API shows them (spec section 7)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from openhermit.protocol.base import StrictWireModel, WireModel

ScheduleType = Literal["cron", "once"]
ScheduleStatus = Literal["active", "paused", "completed", "failed"]
RunStatus = Literal["running", "completed", "failed", "skipped"]
SCHEDULE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class SessionMode(WireModel):
    """`dedicated`: every run speaks in one session; `ephemeral`: a new session per run."""

    kind: Literal["dedicated", "ephemeral"] = "dedicated"


class Delivery(WireModel):
    """`silent`: the answer stays in the run's session; `session`: it is also posted there."""

    kind: Literal["silent", "session"] = "silent"
    session_id: str | None = Field(None, min_length=1, max_length=256)


class SchedulePolicy(BaseModel):
    """Limits of each run. Keys are snake_case on the wire, as in the original."""

    model_config = ConfigDict(extra="forbid")

    timeout_seconds: int | None = Field(None, ge=1, le=86_400)
    max_iterations: int | None = Field(None, ge=0, le=1000)
    concurrency: Literal["skip", "queue"] | None = None
    model: str | None = Field(None, min_length=1, max_length=200)


class ScheduleRecord(WireModel):
    agent_id: str
    schedule_id: str
    type: ScheduleType
    status: ScheduleStatus
    cron_expression: str | None = None
    timezone: str = "UTC"
    run_at: datetime | None = None
    prompt: str
    session_mode: SessionMode
    delivery: Delivery
    policy: SchedulePolicy
    created_by: str | None = None
    created_at: datetime
    updated_at: datetime
    last_run_at: datetime | None = None
    next_run_at: datetime | None = None
    run_count: int = 0
    consecutive_errors: int = 0
    last_error: str | None = None


def _zoned(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError("runAt must be an ISO-8601 timestamp with a time zone (for example ...Z)")
    return value


class ScheduleCreate(StrictWireModel):
    type: ScheduleType
    prompt: str = Field(min_length=1, max_length=100_000)
    cron_expression: str | None = Field(None, min_length=1, max_length=200)
    timezone: str | None = Field(None, min_length=1, max_length=64)
    run_at: datetime | None = None
    id: str | None = Field(None, pattern=SCHEDULE_ID_PATTERN)
    session_mode: SessionMode | None = None
    delivery: Delivery | None = None
    policy: SchedulePolicy | None = None
    created_by: str | None = Field(None, min_length=1)

    _check_run_at = field_validator("run_at", mode="after")(_zoned)


class ScheduleUpdate(StrictWireModel):
    status: Literal["active", "paused"] | None = None
    prompt: str | None = Field(None, min_length=1, max_length=100_000)
    cron_expression: str | None = Field(None, min_length=1, max_length=200)
    timezone: str | None = Field(None, min_length=1, max_length=64)
    run_at: datetime | None = None
    session_mode: SessionMode | None = None
    delivery: Delivery | None = None
    policy: SchedulePolicy | None = None

    _check_run_at = field_validator("run_at", mode="after")(_zoned)


class ScheduleTriggered(WireModel):
    ok: bool = True
    triggered: str


class ScheduleRunRecord(WireModel):
    id: int
    agent_id: str
    schedule_id: str
    fire_at: datetime | None = None
    status: RunStatus
    session_id: str | None = None
    prompt: str
    started_at: datetime
    finished_at: datetime | None = None
    duration_ms: int | None = None
    error: str | None = None
