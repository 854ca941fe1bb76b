"""Sandboxes: where an agent's workspace lives and its commands run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from openhermit.store.tables.base import Base, agent_ref, jsonb_object, ts_now, ts_touch


class Sandbox(Base):
    __tablename__ = "sandboxes"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    agent_id: Mapped[str] = agent_ref()
    alias: Mapped[str] = mapped_column(Text, server_default="default")
    type: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="pending")
    config: Mapped[dict[str, Any]] = jsonb_object()
    runtime_state: Mapped[dict[str, Any]] = jsonb_object()
    created_at: Mapped[datetime] = ts_now()
    updated_at: Mapped[datetime] = ts_touch()
    last_seen_at: Mapped[datetime | None] = mapped_column()
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'provisioned', 'deleted')", name="status"),
        Index(
            "uq_sandboxes_alias",
            "agent_id",
            "alias",
            unique=True,
            postgresql_where=text("status <> 'deleted'"),
        ),
        Index(None, "agent_id"),
        Index(None, "type", "external_id"),
    )
