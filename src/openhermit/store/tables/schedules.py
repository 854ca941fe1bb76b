"""Schedules (cron and one-shot) and their run ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Identity, Index, Integer, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from openhermit.store.tables.base import Base, agent_ref, jsonb_object, ts_now, ts_touch


class Schedule(Base):
    __tablename__ = "schedules"
    agent_id: Mapped[str] = agent_ref(primary_key=True)
    schedule_id: Mapped[str] = mapped_column(Text, primary_key=True)
    type: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="active")
    cron_expression: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(Text, server_default="UTC")
    run_at: Mapped[datetime | None] = mapped_column()
    prompt: Mapped[str] = mapped_column(Text)
    session_mode: Mapped[Any] = mapped_column(JSONB, server_default='"dedicated"')
    delivery: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default='{"kind": "silent"}')
    policy: Mapped[dict[str, Any]] = jsonb_object()
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = ts_now()
    updated_at: Mapped[datetime] = ts_touch()
    last_run_at: Mapped[datetime | None] = mapped_column()
    next_run_at: Mapped[datetime | None] = mapped_column()
    run_count: Mapped[int] = mapped_column(Integer, server_default="0")
    consecutive_errors: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("type IN ('cron', 'once')", name="type"),
        CheckConstraint("status IN ('active', 'paused', 'completed', 'failed')", name="status"),
        Index(None, "agent_id", "status"),
        Index(None, "next_run_at", postgresql_where=text("status = 'active'")),
    )


class ScheduleRun(Base):
    __tablename__ = "schedule_runs"
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    agent_id: Mapped[str] = agent_ref()
    schedule_id: Mapped[str] = mapped_column(Text)
    fire_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(Text, server_default="running")
    session_id: Mapped[str | None] = mapped_column(Text)
    prompt: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = ts_now()
    finished_at: Mapped[datetime | None] = mapped_column()
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("status IN ('running', 'completed', 'failed', 'skipped')", name="status"),
        Index(None, "agent_id", "schedule_id", "started_at"),
        Index("uq_schedule_runs_fire", "agent_id", "schedule_id", "fire_at", unique=True),
    )
