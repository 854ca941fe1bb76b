"""People: users, their identities on each channel, their roles per agent, used token ids."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from openhermit.store.tables.base import Base, agent_ref, ts_now, ts_touch


class User(Base):
    __tablename__ = "users"
    user_id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    merged_into: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = ts_now()
    updated_at: Mapped[datetime] = ts_touch()
    __table_args__ = (Index(None, "updated_at"),)


class UserAgent(Base):
    __tablename__ = "user_agents"
    user_id: Mapped[str] = mapped_column(Text, primary_key=True)
    agent_id: Mapped[str] = agent_ref(primary_key=True)
    role: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = ts_now()
    __table_args__ = (
        Index(None, "agent_id"),
        CheckConstraint("role IN ('owner', 'user', 'guest')", name="role"),
    )


class UserIdentity(Base):
    __tablename__ = "user_identities"
    channel: Mapped[str] = mapped_column(Text, primary_key=True)
    channel_user_id: Mapped[str] = mapped_column(Text, primary_key=True)
    user_id: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = ts_now()
    __table_args__ = (Index(None, "user_id"),)


class ConsumedJti(Base):
    __tablename__ = "consumed_jtis"
    jti: Mapped[str] = mapped_column(Text, primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    consumed_at: Mapped[datetime] = ts_now()
    __table_args__ = (Index(None, "expires_at"),)
