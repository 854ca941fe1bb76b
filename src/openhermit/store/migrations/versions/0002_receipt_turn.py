"""Message receipts name the turn they started (idempotency in every mode).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("message_receipts", sa.Column("turn_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("message_receipts", "turn_id")
