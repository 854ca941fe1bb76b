"""Gateway-wide key/value settings and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Identity, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from openhermit.store.tables.base import Base, jsonb_object, ts_now


class Meta(Base):
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[dict[str, Any]] = jsonb_object()
    updated_at: Mapped[datetime] = ts_now()


class AuditLog(Base):
    """Who changed what: admin and owner actions that alter an agent or the fleet."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    ts: Mapped[datetime] = ts_now()
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    agent_id: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = jsonb_object()
    __table_args__ = (Index(None, "agent_id", "ts"), Index(None, "ts"))
