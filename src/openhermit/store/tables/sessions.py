"""Sessions, their event log, turns (queue + lease), idempotency receipts and attachments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Identity,
    Index,
    Integer,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from openhermit.store.tables.base import Base, agent_ref, jsonb_array, jsonb_object, ts_now


class Session(Base):
    __tablename__ = "sessions"
    agent_id: Mapped[str] = agent_ref(primary_key=True)
    session_id: Mapped[str] = mapped_column(Text, primary_key=True)
    source_kind: Mapped[str] = mapped_column(Text)
    source_platform: Mapped[str | None] = mapped_column(Text)
    source: Mapped[dict[str, Any]] = jsonb_object()
    interactive: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = ts_now()
    last_activity_at: Mapped[datetime] = ts_now()
    description: Mapped[str | None] = mapped_column(Text)
    description_source: Mapped[str | None] = mapped_column(Text)
    message_count: Mapped[int] = mapped_column(Integer, server_default="0")
    completed_turn_count: Mapped[int] = mapped_column(Integer, server_default="0")
    last_message_preview: Mapped[str | None] = mapped_column(Text)
    working_memory: Mapped[str | None] = mapped_column(Text)
    working_memory_updated_at: Mapped[datetime | None] = mapped_column()
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default="{}")
    status: Mapped[str] = mapped_column(Text, server_default="idle")
    type: Mapped[str] = mapped_column(Text, server_default="direct")
    user_ids: Mapped[list[Any]] = jsonb_array()
    custom_instruction: Mapped[str | None] = mapped_column(Text)
    concurrency: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        Index(None, "agent_id", "last_activity_at"),
        Index("ix_sessions_user_ids", "user_ids", postgresql_using="gin"),
        CheckConstraint("concurrency IN ('queue', 'interrupt', 'reject')", name="concurrency"),
    )


class SessionEvent(Base):
    """The event log. `id` is the event id on every transport (SSE, WebSocket, history).

    Deleting a session keeps its events; deleting the agent deletes them.
    """

    __tablename__ = "session_events"
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    agent_id: Mapped[str] = agent_ref()
    session_id: Mapped[str] = mapped_column(Text)
    ts: Mapped[datetime] = ts_now()
    event_type: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = jsonb_object()
    content: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[str | None] = mapped_column(Text)
    turn_id: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (
        Index(None, "agent_id", "session_id", "id"),
        Index(None, "agent_id", "session_id", "event_type", "id"),
        Index(
            "ix_session_events_message_id",
            "agent_id",
            "session_id",
            text("(payload->>'messageId')"),
            postgresql_where=text("payload ? 'messageId'"),
        ),
        Index(
            "ix_session_events_usage",
            "agent_id",
            "ts",
            postgresql_where=text("event_type = 'assistant' AND payload ? 'usage'"),
        ),
    )


class Turn(Base):
    """One accepted message that runs the model: the queue, the lease and the result.

    At most one turn per session is `running` (a partial unique index enforces it across
    every gateway process). A running turn holds a lease renewed by heartbeats; a turn whose
    lease expired is ended as `error` by whichever gateway notices first.
    """

    __tablename__ = "turns"
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    agent_id: Mapped[str] = agent_ref()
    session_id: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="queued")
    request: Mapped[dict[str, Any]] = jsonb_object()
    result: Mapped[dict[str, Any] | None] = mapped_column()
    lease_owner: Mapped[str | None] = mapped_column(Text)
    lease_expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = ts_now()
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    interrupt_requested: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'completed', 'error', 'interrupted', 'cancelled')",
            name="status",
        ),
        Index(
            "uq_turns_one_running",
            "agent_id",
            "session_id",
            unique=True,
            postgresql_where=text("status = 'running'"),
        ),
        Index(
            "uq_turns_message_id",
            "agent_id",
            "session_id",
            "message_id",
            unique=True,
            postgresql_where=text("message_id IS NOT NULL"),
        ),
        Index(None, "agent_id", "session_id", "status", "id"),
        Index("ix_turns_lease", "lease_expires_at", postgresql_where=text("status = 'running'")),
    )


class MessageReceipt(Base):
    """Idempotency key of a client `messageId`, in every mode: the first post stores the
    message (and its turn, if any); a retry finds the receipt and attaches to that turn."""

    __tablename__ = "message_receipts"
    agent_id: Mapped[str] = agent_ref(primary_key=True)
    session_id: Mapped[str] = mapped_column(Text, primary_key=True)
    message_id: Mapped[str] = mapped_column(Text, primary_key=True)
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    turn_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = ts_now()
    __table_args__ = ()


class SessionAttachment(Base):
    __tablename__ = "session_attachments"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    agent_id: Mapped[str] = agent_ref()
    session_id: Mapped[str] = mapped_column(Text)
    uploader_user_id: Mapped[str | None] = mapped_column(Text)
    original_name: Mapped[str] = mapped_column(Text)
    safe_name: Mapped[str] = mapped_column(Text)
    mime_type: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(Text)
    storage_provider: Mapped[str] = mapped_column(Text)
    storage_key: Mapped[str] = mapped_column(Text)
    sandbox_id: Mapped[str | None] = mapped_column(Text)
    sandbox_path: Mapped[str | None] = mapped_column(Text)
    materialization_state: Mapped[str] = mapped_column(Text, server_default="pending")
    materialization_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = ts_now()
    __table_args__ = (
        CheckConstraint(
            "materialization_state IN ('pending', 'copied', 'failed')", name="materialization_state"
        ),
        Index(None, "agent_id", "session_id", "created_at"),
        Index(None, "agent_id", "uploader_user_id", "created_at"),
        Index(None, "sha256"),
    )
