"""Agents and what belongs to one agent alone: instructions, secrets, policies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from openhermit.store.tables.base import Base, agent_ref, jsonb_array, jsonb_object, ts_now, ts_touch


class Agent(Base):
    __tablename__ = "agents"
    agent_id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    workspace_dir: Mapped[str] = mapped_column(Text)
    config_json: Mapped[dict[str, Any]] = jsonb_object()
    security_json: Mapped[dict[str, Any]] = jsonb_object()
    backend_state: Mapped[dict[str, Any] | None] = mapped_column()
    status: Mapped[str] = mapped_column(Text, server_default="active")
    created_at: Mapped[datetime] = ts_now()
    updated_at: Mapped[datetime] = ts_touch()
    # Moved by triggers on every change of the agent, its instructions or its policies.
    revision: Mapped[int] = mapped_column(BigInteger, server_default="0")
    __table_args__ = (Index(None, "status"),)


class Instruction(Base):
    __tablename__ = "instructions"
    agent_id: Mapped[str] = agent_ref(primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    content: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = ts_touch()


class AgentSecret(Base):
    __tablename__ = "agent_secrets"
    agent_id: Mapped[str] = agent_ref(primary_key=True)
    name: Mapped[str] = mapped_column(Text, primary_key=True)
    value_ciphertext: Mapped[str] = mapped_column(Text)
    pass_through: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = ts_now()
    updated_at: Mapped[datetime] = ts_touch()


class AgentPolicy(Base):
    __tablename__ = "agent_policies"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    agent_id: Mapped[str] = agent_ref()
    resource_type: Mapped[str] = mapped_column(Text)
    resource_key: Mapped[str] = mapped_column(Text)
    effect: Mapped[str] = mapped_column(Text, server_default="allow")
    grants: Mapped[list[Any]] = jsonb_array()
    scope: Mapped[dict[str, Any]] = jsonb_object()
    created_at: Mapped[datetime] = ts_now()
    updated_at: Mapped[datetime] = ts_touch()
    __table_args__ = (UniqueConstraint("agent_id", "resource_type", "resource_key", "effect"),)
