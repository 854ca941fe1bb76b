"""Channel bindings of an agent (Telegram, Discord, Slack, external) and their credentials."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from openhermit.store.tables.base import Base, agent_ref, jsonb_object, ts_now, ts_touch


class AgentChannel(Base):
    __tablename__ = "agent_channels"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    agent_id: Mapped[str] = agent_ref()
    kind: Mapped[str] = mapped_column(Text)
    channel_type: Mapped[str] = mapped_column(Text)
    namespace: Mapped[str] = mapped_column(Text)
    label: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    config: Mapped[dict[str, Any]] = jsonb_object()
    token_prefix: Mapped[str | None] = mapped_column(Text)
    token_ciphertext: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = ts_now()
    updated_at: Mapped[datetime] = ts_touch()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column()
    last_success_at: Mapped[datetime | None] = mapped_column()
    consecutive_failure_count: Mapped[int] = mapped_column(Integer, server_default="0")
    total_failure_count: Mapped[int] = mapped_column(Integer, server_default="0")
    __table_args__ = (
        CheckConstraint("kind IN ('builtin', 'external')", name="kind"),
        Index(None, "agent_id"),
        Index(None, "token_prefix"),
    )


class AgentChannelCredential(Base):
    __tablename__ = "agent_channel_credentials"
    agent_id: Mapped[str] = agent_ref(primary_key=True)
    channel_type: Mapped[str] = mapped_column(Text, primary_key=True)
    profile: Mapped[str] = mapped_column(Text, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value_ciphertext: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = ts_now()
    updated_at: Mapped[datetime] = ts_touch()
