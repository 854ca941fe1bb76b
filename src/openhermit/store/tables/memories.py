"""Long-term memories with a generated English full-text vector and lower-cased search text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Computed, Index, Text, func, literal_column
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from openhermit.store.tables.base import Base, agent_ref, jsonb_array, ts_now, ts_touch

AGENT_LEXEME_PREFIX = "a"  # + md5 of the agent id: one lexeme no English word produces


def agent_lexeme(agent_id: str) -> ColumnElement[Any]:
    """The query term that matches every memory of the agent through `content_tsv`."""
    return func.to_tsquery(
        literal_column("'simple'::regconfig"), func.concat(AGENT_LEXEME_PREFIX, func.md5(agent_id))
    )


class Memory(Base):
    __tablename__ = "memories"
    agent_id: Mapped[str] = agent_ref(primary_key=True)
    memory_key: Mapped[str] = mapped_column(Text, primary_key=True)
    content: Mapped[str] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, server_default="{}")
    grants: Mapped[list[Any]] = jsonb_array()
    created_at: Mapped[datetime] = ts_now()
    updated_at: Mapped[datetime] = ts_touch()
    # The content's English lexemes plus one naming the agent (`agent_lexeme`): a query ANDs
    # that in, so the index skips other agents' memories.
    content_tsv: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed(
            "to_tsvector('english'::regconfig, content)"
            f" || to_tsvector('simple'::regconfig, '{AGENT_LEXEME_PREFIX}' || md5(agent_id))",
            persisted=True,
        ),
        deferred=True,
    )
    # What recall's substring step searches: key and content, lower-cased once on write.
    search_text: Mapped[str] = mapped_column(
        Text, Computed("lower(memory_key || chr(10) || content)", persisted=True), deferred=True
    )
    __table_args__ = (
        Index(None, "agent_id", "updated_at"),
        Index("idx_memories_fts", "content_tsv", postgresql_using="gin"),
    )
