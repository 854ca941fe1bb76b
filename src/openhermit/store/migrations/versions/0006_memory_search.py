"""Memory search scoped to the agent inside the full-text index, and a lower-cased search text.

- `content_tsv` gains one lexeme naming the agent (`a` + md5 of its id), so a recall query ANDs
  it with the words and the index itself skips other agents' memories: one agent among a
  thousand no longer pays for every agent's matches.
- `search_text` (key and content, lower-cased once on write) is what the substring step of
  recall searches with `strpos`, at a tenth of the cost of `ILIKE` on the two columns.

Revision ID: 0006_memory_search
Revises: 0005_capability_revision
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR

revision: str = "0006_memory_search"
down_revision: str | None = "0005_capability_revision"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CONTENT = "to_tsvector('english'::regconfig, content)"
_AGENT = "to_tsvector('simple'::regconfig, 'a' || md5(agent_id))"


def _vector(expression: str) -> None:
    op.drop_index("idx_memories_fts", table_name="memories")
    op.drop_column("memories", "content_tsv")
    op.add_column(
        "memories",
        sa.Column("content_tsv", TSVECTOR(), sa.Computed(expression, persisted=True), nullable=True),
    )
    op.create_index("idx_memories_fts", "memories", ["content_tsv"], postgresql_using="gin")


def upgrade() -> None:
    _vector(f"{_CONTENT} || {_AGENT}")
    op.add_column(
        "memories",
        sa.Column(
            "search_text",
            sa.Text(),
            sa.Computed("lower(memory_key || chr(10) || content)", persisted=True),
            nullable=True,
        ),
    )


def downgrade() -> None:
    op.drop_column("memories", "search_text")
    _vector(_CONTENT)
