"""Registries of skills and MCP servers, and their per-agent (or `*`) assignments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from openhermit.store.tables.base import Base, jsonb_object, ts_now, ts_touch


class Skill(Base):
    __tablename__ = "skills"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    slug: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    path: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    owner_agent_id: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default="{}")
    created_at: Mapped[datetime] = ts_now()
    updated_at: Mapped[datetime] = ts_touch()
    __table_args__ = (
        CheckConstraint("source IN ('system', 'user')", name="source"),
        Index("uq_skills_system_slug", "slug", unique=True, postgresql_where=text("source = 'system'")),
        Index(
            "uq_skills_user_slug",
            "owner_agent_id",
            "slug",
            unique=True,
            postgresql_where=text("source = 'user'"),
        ),
    )


class AgentSkill(Base):
    """An assignment; `agent_id = '*'` applies to every agent, a per-agent row overrides it."""

    __tablename__ = "agent_skills"
    agent_id: Mapped[str] = mapped_column(Text, primary_key=True)
    skill_id: Mapped[str] = mapped_column(Text, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = ts_now()
    __table_args__ = (Index(None, "skill_id"),)


class McpServer(Base):
    __tablename__ = "mcp_servers"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default="")
    transport: Mapped[str] = mapped_column(Text, server_default="http")
    url: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = jsonb_object()
    command: Mapped[str | None] = mapped_column(Text)
    args: Mapped[list[Any]] = mapped_column(JSONB, server_default="[]")
    env: Mapped[dict[str, Any]] = jsonb_object()
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default="{}")
    created_at: Mapped[datetime] = ts_now()
    updated_at: Mapped[datetime] = ts_touch()
    __table_args__ = (CheckConstraint("transport IN ('http', 'stdio')", name="transport"),)


class AgentMcpServer(Base):
    __tablename__ = "agent_mcp_servers"
    agent_id: Mapped[str] = mapped_column(Text, primary_key=True)
    mcp_server_id: Mapped[str] = mapped_column(Text, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = ts_now()
    __table_args__ = (Index(None, "mcp_server_id"),)
