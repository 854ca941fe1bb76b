"""Approval requests raised when a policy says `require_approval`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Identity, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from openhermit.store.tables.base import Base, agent_ref, jsonb_object, ts_now


class ApprovalRequest(Base):
    __tablename__ = "approval_requests"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    short_id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    agent_id: Mapped[str] = agent_ref()
    session_id: Mapped[str] = mapped_column(Text)
    requester_id: Mapped[str] = mapped_column(Text)
    resource_type: Mapped[str] = mapped_column(Text)
    resource_key: Mapped[str] = mapped_column(Text)
    scope: Mapped[dict[str, Any]] = jsonb_object()
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    resolution: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = ts_now()
    resolved_at: Mapped[datetime | None] = mapped_column()
    ttl_minutes: Mapped[int] = mapped_column(Integer, server_default="60")
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'rejected', 'expired')", name="status"),
        CheckConstraint("resolution IS NULL OR resolution IN ('once', 'persistent')", name="resolution"),
        Index(None, "agent_id", "status"),
        Index(None, "agent_id", "requester_id", "resource_type", "resource_key", "status"),
    )
