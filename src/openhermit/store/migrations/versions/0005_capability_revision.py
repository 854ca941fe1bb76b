"""Everything a turn's setup reads moves a revision when it changes, so a running agent checks
one small row per turn instead of re-reading its secrets, sandboxes, skills and MCP servers.

Per-agent rows (secrets, sandboxes, skill and MCP assignments) move the agent's revision, as
instructions and policies already do. The skill and MCP registries and their assignments, which
`*` rows share across the fleet, move one fleet revision kept in `meta` under `fleet_revision`.

Revision ID: 0005_capability_revision
Revises: 0004_agent_revision
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_capability_revision"
down_revision: str | None = "0004_agent_revision"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AGENT_TABLES = ("agent_secrets", "sandboxes", "agent_skills", "agent_mcp_servers")
_FLEET_TABLES = ("skills", "mcp_servers", "agent_skills", "agent_mcp_servers")
_TRANSITIONS = {
    "ins": ("INSERT", "NEW TABLE AS new_rows"),
    "upd": ("UPDATE", "NEW TABLE AS new_rows OLD TABLE AS old_rows"),
    "del": ("DELETE", "OLD TABLE AS old_rows"),
}


def upgrade() -> None:
    for table in _AGENT_TABLES:
        for suffix, (event, referencing) in _TRANSITIONS.items():
            op.execute(
                f"CREATE TRIGGER {table}_agent_revision_{suffix} AFTER {event} ON {table}"
                f" REFERENCING {referencing}"
                " FOR EACH STATEMENT EXECUTE FUNCTION openhermit_agent_child_changed()"
            )
    op.execute(
        """
        CREATE FUNCTION openhermit_fleet_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO meta (key, value) VALUES ('fleet_revision', '{"n": 1}'::jsonb)
            ON CONFLICT (key) DO UPDATE
                SET value = jsonb_build_object('n', coalesce((meta.value ->> 'n')::bigint, 0) + 1),
                    updated_at = now();
            RETURN NULL;
        END $$
        """
    )
    for table in _FLEET_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_fleet_revision AFTER INSERT OR UPDATE OR DELETE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION openhermit_fleet_changed()"
        )


def downgrade() -> None:
    for table in _FLEET_TABLES:
        op.execute(f"DROP TRIGGER {table}_fleet_revision ON {table}")
    op.execute("DROP FUNCTION openhermit_fleet_changed()")
    for table in _AGENT_TABLES:
        for suffix in _TRANSITIONS:
            op.execute(f"DROP TRIGGER {table}_agent_revision_{suffix} ON {table}")
