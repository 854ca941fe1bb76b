"""Agents carry a revision that moves whenever the agent, its instructions or its policies change,
so a gateway can keep a turn's setup cached and check it with one small read.

Revision ID: 0004_agent_revision
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_agent_revision"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Statement-level triggers with transition tables: a fan-out over 10,000 agents bumps them all
# in one extra statement instead of 10,000.
_CHILD_TABLES = ("instructions", "agent_policies")


def upgrade() -> None:
    op.add_column(
        "agents", sa.Column("revision", sa.BigInteger(), server_default=sa.text("0"), nullable=False)
    )
    op.execute(
        """
        CREATE FUNCTION openhermit_agent_touch() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.revision := OLD.revision + 1;
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER agents_revision BEFORE UPDATE ON agents"
        " FOR EACH ROW EXECUTE FUNCTION openhermit_agent_touch()"
    )
    op.execute(
        """
        CREATE FUNCTION openhermit_agent_child_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                UPDATE agents SET revision = revision WHERE agent_id IN (SELECT agent_id FROM new_rows);
            END IF;
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                UPDATE agents SET revision = revision WHERE agent_id IN (SELECT agent_id FROM old_rows);
            END IF;
            RETURN NULL;
        END $$
        """
    )
    transitions = {
        "ins": ("INSERT", "NEW TABLE AS new_rows"),
        "upd": ("UPDATE", "NEW TABLE AS new_rows OLD TABLE AS old_rows"),
        "del": ("DELETE", "OLD TABLE AS old_rows"),
    }
    for table in _CHILD_TABLES:
        for suffix, (event, referencing) in transitions.items():
            op.execute(
                f"CREATE TRIGGER {table}_agent_revision_{suffix} AFTER {event} ON {table}"
                f" REFERENCING {referencing}"
                " FOR EACH STATEMENT EXECUTE FUNCTION openhermit_agent_child_changed()"
            )


def downgrade() -> None:
    for table in _CHILD_TABLES:
        for suffix in ("ins", "upd", "del"):
            op.execute(f"DROP TRIGGER {table}_agent_revision_{suffix} ON {table}")
    op.execute("DROP TRIGGER agents_revision ON agents")
    op.execute("DROP FUNCTION openhermit_agent_child_changed()")
    op.execute("DROP FUNCTION openhermit_agent_touch()")
    op.drop_column("agents", "revision")
