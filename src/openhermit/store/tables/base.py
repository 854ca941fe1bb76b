"""Declarative base, naming convention and the column shapes every table shares."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, MetaData, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSONB, list[Any]: JSONB}


def ts_now() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


def ts_touch() -> Mapped[datetime]:
    return mapped_column(server_default=func.now(), onupdate=func.now())


def jsonb_object() -> Mapped[dict[str, Any]]:
    return mapped_column(JSONB, server_default="{}")


def jsonb_array() -> Mapped[list[Any]]:
    return mapped_column(JSONB, server_default="[]")


def agent_ref(*, primary_key: bool = False) -> Mapped[str]:
    """An `agent_id` column that belongs to an agent: deleting the agent deletes the row.

    Every table using it has a key or index that starts with `agent_id`.
    """
    return mapped_column(Text, ForeignKey("agents.agent_id", ondelete="CASCADE"), primary_key=primary_key)
