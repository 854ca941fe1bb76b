"""Initial schema: every table of the store.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 21:20:34.541203
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_mcp_servers",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("mcp_server_id", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "mcp_server_id", name=op.f("pk_agent_mcp_servers")),
    )
    op.create_index(
        op.f("ix_agent_mcp_servers_mcp_server_id"), "agent_mcp_servers", ["mcp_server_id"], unique=False
    )
    op.create_table(
        "agent_skills",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("skill_id", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "skill_id", name=op.f("pk_agent_skills")),
    )
    op.create_index(op.f("ix_agent_skills_skill_id"), "agent_skills", ["skill_id"], unique=False)
    op.create_table(
        "agents",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("workspace_dir", sa.Text(), nullable=False),
        sa.Column(
            "config_json", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "security_json", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("backend_state", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_agents")),
    )
    op.create_index(op.f("ix_agents_status"), "agents", ["status"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=True),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_agent_id_ts"), "audit_log", ["agent_id", "ts"], unique=False)
    op.create_index(op.f("ix_audit_log_ts"), "audit_log", ["ts"], unique=False)
    op.create_table(
        "consumed_jtis",
        sa.Column("jti", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_consumed_jtis")),
    )
    op.create_index(op.f("ix_consumed_jtis_expires_at"), "consumed_jtis", ["expires_at"], unique=False)
    op.create_table(
        "mcp_servers",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("transport", sa.Text(), server_default="http", nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("command", sa.Text(), nullable=True),
        sa.Column("args", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("env", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("transport IN ('http', 'stdio')", name=op.f("ck_mcp_servers_transport")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mcp_servers")),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_meta")),
    )
    op.create_table(
        "skills",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("owner_agent_id", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("source IN ('system', 'user')", name=op.f("ck_skills_source")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
    )
    op.create_index(
        "uq_skills_system_slug",
        "skills",
        ["slug"],
        unique=True,
        postgresql_where=sa.text("source = 'system'"),
    )
    op.create_index(
        "uq_skills_user_slug",
        "skills",
        ["owner_agent_id", "slug"],
        unique=True,
        postgresql_where=sa.text("source = 'user'"),
    )
    op.create_table(
        "user_identities",
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("channel_user_id", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("channel", "channel_user_id", name=op.f("pk_user_identities")),
    )
    op.create_index(op.f("ix_user_identities_user_id"), "user_identities", ["user_id"], unique=False)
    op.create_table(
        "users",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("merged_into", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
    )
    op.create_index(op.f("ix_users_updated_at"), "users", ["updated_at"], unique=False)
    op.create_table(
        "agent_channel_credentials",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("channel_type", sa.Text(), nullable=False),
        sa.Column("profile", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("value_ciphertext", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.agent_id"],
            name=op.f("fk_agent_channel_credentials_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "agent_id", "channel_type", "profile", "key", name=op.f("pk_agent_channel_credentials")
        ),
    )
    op.create_table(
        "agent_channels",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("channel_type", sa.Text(), nullable=False),
        sa.Column("namespace", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("config", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("token_prefix", sa.Text(), nullable=True),
        sa.Column("token_ciphertext", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failure_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("total_failure_count", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("kind IN ('builtin', 'external')", name=op.f("ck_agent_channels_kind")),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.agent_id"],
            name=op.f("fk_agent_channels_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_channels")),
    )
    op.create_index(op.f("ix_agent_channels_agent_id"), "agent_channels", ["agent_id"], unique=False)
    op.create_index(op.f("ix_agent_channels_token_prefix"), "agent_channels", ["token_prefix"], unique=False)
    op.create_table(
        "agent_policies",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("resource_type", sa.Text(), nullable=False),
        sa.Column("resource_key", sa.Text(), nullable=False),
        sa.Column("effect", sa.Text(), server_default="allow", nullable=False),
        sa.Column("grants", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("scope", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.agent_id"],
            name=op.f("fk_agent_policies_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_policies")),
        sa.UniqueConstraint(
            "agent_id",
            "resource_type",
            "resource_key",
            "effect",
            name=op.f("uq_agent_policies_agent_id_resource_type_resource_key_effect"),
        ),
    )
    op.create_table(
        "agent_secrets",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("value_ciphertext", sa.Text(), nullable=False),
        sa.Column("pass_through", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.agent_id"],
            name=op.f("fk_agent_secrets_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "name", name=op.f("pk_agent_secrets")),
    )
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("short_id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("requester_id", sa.Text(), nullable=False),
        sa.Column("resource_type", sa.Text(), nullable=False),
        sa.Column("resource_key", sa.Text(), nullable=False),
        sa.Column("scope", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ttl_minutes", sa.Integer(), server_default="60", nullable=False),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('once', 'persistent')",
            name=op.f("ck_approval_requests_resolution"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'expired')",
            name=op.f("ck_approval_requests_status"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.agent_id"],
            name=op.f("fk_approval_requests_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_requests")),
        sa.UniqueConstraint("short_id", name=op.f("uq_approval_requests_short_id")),
    )
    op.create_index(
        op.f("ix_approval_requests_agent_id_requester_id_resource_type_resource_key_status"),
        "approval_requests",
        ["agent_id", "requester_id", "resource_type", "resource_key", "status"],
        unique=False,
    )
    op.create_index(
        op.f("ix_approval_requests_agent_id_status"),
        "approval_requests",
        ["agent_id", "status"],
        unique=False,
    )
    op.create_table(
        "instructions",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.agent_id"],
            name=op.f("fk_instructions_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "key", name=op.f("pk_instructions")),
    )
    op.create_table(
        "memories",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("memory_key", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("grants", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "content_tsv",
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector('english'::regconfig, content)", persisted=True),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.agent_id"], name=op.f("fk_memories_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agent_id", "memory_key", name=op.f("pk_memories")),
    )
    op.create_index("idx_memories_fts", "memories", ["content_tsv"], unique=False, postgresql_using="gin")
    op.create_index(
        op.f("ix_memories_agent_id_updated_at"), "memories", ["agent_id", "updated_at"], unique=False
    )
    op.create_table(
        "message_receipts",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.agent_id"],
            name=op.f("fk_message_receipts_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "session_id", "message_id", name=op.f("pk_message_receipts")),
    )
    op.create_table(
        "sandboxes",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("alias", sa.Text(), server_default="default", nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("config", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column(
            "runtime_state", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'provisioned', 'deleted')", name=op.f("ck_sandboxes_status")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.agent_id"], name=op.f("fk_sandboxes_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sandboxes")),
    )
    op.create_index(op.f("ix_sandboxes_agent_id"), "sandboxes", ["agent_id"], unique=False)
    op.create_index(op.f("ix_sandboxes_type_external_id"), "sandboxes", ["type", "external_id"], unique=False)
    op.create_index(
        "uq_sandboxes_alias",
        "sandboxes",
        ["agent_id", "alias"],
        unique=True,
        postgresql_where=sa.text("status <> 'deleted'"),
    )
    op.create_table(
        "schedule_runs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("schedule_id", sa.Text(), nullable=False),
        sa.Column("fire_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), server_default="running", nullable=False),
        sa.Column("session_id", sa.Text(), nullable=True),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'failed', 'skipped')", name=op.f("ck_schedule_runs_status")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.agent_id"],
            name=op.f("fk_schedule_runs_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_runs")),
    )
    op.create_index(
        op.f("ix_schedule_runs_agent_id_schedule_id_started_at"),
        "schedule_runs",
        ["agent_id", "schedule_id", "started_at"],
        unique=False,
    )
    op.create_index(
        "uq_schedule_runs_fire", "schedule_runs", ["agent_id", "schedule_id", "fire_at"], unique=True
    )
    op.create_table(
        "schedules",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("schedule_id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("cron_expression", sa.Text(), nullable=True),
        sa.Column("timezone", sa.Text(), server_default="UTC", nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column(
            "session_mode",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default='"dedicated"',
            nullable=False,
        ),
        sa.Column(
            "delivery",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default='{"kind": "silent"}',
            nullable=False,
        ),
        sa.Column("policy", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("consecutive_errors", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'paused', 'completed', 'failed')", name=op.f("ck_schedules_status")
        ),
        sa.CheckConstraint("type IN ('cron', 'once')", name=op.f("ck_schedules_type")),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.agent_id"], name=op.f("fk_schedules_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agent_id", "schedule_id", name=op.f("pk_schedules")),
    )
    op.create_index(op.f("ix_schedules_agent_id_status"), "schedules", ["agent_id", "status"], unique=False)
    op.create_index(
        op.f("ix_schedules_next_run_at"),
        "schedules",
        ["next_run_at"],
        unique=False,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "session_attachments",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("uploader_user_id", sa.Text(), nullable=True),
        sa.Column("original_name", sa.Text(), nullable=False),
        sa.Column("safe_name", sa.Text(), nullable=False),
        sa.Column("mime_type", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("storage_provider", sa.Text(), nullable=False),
        sa.Column("storage_key", sa.Text(), nullable=False),
        sa.Column("sandbox_id", sa.Text(), nullable=True),
        sa.Column("sandbox_path", sa.Text(), nullable=True),
        sa.Column("materialization_state", sa.Text(), server_default="pending", nullable=False),
        sa.Column("materialization_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "materialization_state IN ('pending', 'copied', 'failed')",
            name=op.f("ck_session_attachments_materialization_state"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.agent_id"],
            name=op.f("fk_session_attachments_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_attachments")),
    )
    op.create_index(
        op.f("ix_session_attachments_agent_id_session_id_created_at"),
        "session_attachments",
        ["agent_id", "session_id", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_session_attachments_agent_id_uploader_user_id_created_at"),
        "session_attachments",
        ["agent_id", "uploader_user_id", "created_at"],
        unique=False,
    )
    op.create_index(op.f("ix_session_attachments_sha256"), "session_attachments", ["sha256"], unique=False)
    op.create_table(
        "session_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("user_id", sa.Text(), nullable=True),
        sa.Column("turn_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.agent_id"],
            name=op.f("fk_session_events_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_events")),
    )
    op.create_index(
        op.f("ix_session_events_agent_id_session_id_event_type_id"),
        "session_events",
        ["agent_id", "session_id", "event_type", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_session_events_agent_id_session_id_id"),
        "session_events",
        ["agent_id", "session_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_session_events_message_id",
        "session_events",
        ["agent_id", "session_id", sa.literal_column("(payload->>'messageId')")],
        unique=False,
        postgresql_where=sa.text("payload ? 'messageId'"),
    )
    op.create_index(
        "ix_session_events_usage",
        "session_events",
        ["agent_id", "ts"],
        unique=False,
        postgresql_where=sa.text("event_type = 'assistant' AND payload ? 'usage'"),
    )
    op.create_table(
        "sessions",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("source_kind", sa.Text(), nullable=False),
        sa.Column("source_platform", sa.Text(), nullable=True),
        sa.Column("source", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("interactive", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column(
            "last_activity_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("description_source", sa.Text(), nullable=True),
        sa.Column("message_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("completed_turn_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_message_preview", sa.Text(), nullable=True),
        sa.Column("working_memory", sa.Text(), nullable=True),
        sa.Column("working_memory_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("status", sa.Text(), server_default="idle", nullable=False),
        sa.Column("type", sa.Text(), server_default="direct", nullable=False),
        sa.Column("user_ids", postgresql.JSONB(astext_type=sa.Text()), server_default="[]", nullable=False),
        sa.Column("custom_instruction", sa.Text(), nullable=True),
        sa.Column("concurrency", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "concurrency IN ('queue', 'interrupt', 'reject')", name=op.f("ck_sessions_concurrency")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.agent_id"], name=op.f("fk_sessions_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agent_id", "session_id", name=op.f("pk_sessions")),
    )
    op.create_index(
        op.f("ix_sessions_agent_id_last_activity_at"),
        "sessions",
        ["agent_id", "last_activity_at"],
        unique=False,
    )
    op.create_index("ix_sessions_user_ids", "sessions", ["user_ids"], unique=False, postgresql_using="gin")
    op.create_table(
        "turns",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("session_id", sa.Text(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("request", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("lease_owner", sa.Text(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'completed', 'error', 'interrupted', 'cancelled')",
            name=op.f("ck_turns_status"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.agent_id"], name=op.f("fk_turns_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_turns")),
    )
    op.create_index(
        op.f("ix_turns_agent_id_session_id_status_id"),
        "turns",
        ["agent_id", "session_id", "status", "id"],
        unique=False,
    )
    op.create_index(
        "ix_turns_lease",
        "turns",
        ["lease_expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_index(
        "uq_turns_message_id",
        "turns",
        ["agent_id", "session_id", "message_id"],
        unique=True,
        postgresql_where=sa.text("message_id IS NOT NULL"),
    )
    op.create_index(
        "uq_turns_one_running",
        "turns",
        ["agent_id", "session_id"],
        unique=True,
        postgresql_where=sa.text("status = 'running'"),
    )
    op.create_table(
        "user_agents",
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("role IN ('owner', 'user', 'guest')", name=op.f("ck_user_agents_role")),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.agent_id"], name=op.f("fk_user_agents_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "agent_id", name=op.f("pk_user_agents")),
    )
    op.create_index(op.f("ix_user_agents_agent_id"), "user_agents", ["agent_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_user_agents_agent_id"), table_name="user_agents")
    op.drop_table("user_agents")
    op.drop_index("uq_turns_one_running", table_name="turns", postgresql_where=sa.text("status = 'running'"))
    op.drop_index(
        "uq_turns_message_id", table_name="turns", postgresql_where=sa.text("message_id IS NOT NULL")
    )
    op.drop_index("ix_turns_lease", table_name="turns", postgresql_where=sa.text("status = 'running'"))
    op.drop_index(op.f("ix_turns_agent_id_session_id_status_id"), table_name="turns")
    op.drop_table("turns")
    op.drop_index("ix_sessions_user_ids", table_name="sessions", postgresql_using="gin")
    op.drop_index(op.f("ix_sessions_agent_id_last_activity_at"), table_name="sessions")
    op.drop_table("sessions")
    op.drop_index(
        "ix_session_events_usage",
        table_name="session_events",
        postgresql_where=sa.text("event_type = 'assistant' AND payload ? 'usage'"),
    )
    op.drop_index(
        "ix_session_events_message_id",
        table_name="session_events",
        postgresql_where=sa.text("payload ? 'messageId'"),
    )
    op.drop_index(op.f("ix_session_events_agent_id_session_id_id"), table_name="session_events")
    op.drop_index(op.f("ix_session_events_agent_id_session_id_event_type_id"), table_name="session_events")
    op.drop_table("session_events")
    op.drop_index(op.f("ix_session_attachments_sha256"), table_name="session_attachments")
    op.drop_index(
        op.f("ix_session_attachments_agent_id_uploader_user_id_created_at"), table_name="session_attachments"
    )
    op.drop_index(
        op.f("ix_session_attachments_agent_id_session_id_created_at"), table_name="session_attachments"
    )
    op.drop_table("session_attachments")
    op.drop_index(
        op.f("ix_schedules_next_run_at"),
        table_name="schedules",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.drop_index(op.f("ix_schedules_agent_id_status"), table_name="schedules")
    op.drop_table("schedules")
    op.drop_index("uq_schedule_runs_fire", table_name="schedule_runs")
    op.drop_index(op.f("ix_schedule_runs_agent_id_schedule_id_started_at"), table_name="schedule_runs")
    op.drop_table("schedule_runs")
    op.drop_index(
        "uq_sandboxes_alias", table_name="sandboxes", postgresql_where=sa.text("status <> 'deleted'")
    )
    op.drop_index(op.f("ix_sandboxes_type_external_id"), table_name="sandboxes")
    op.drop_index(op.f("ix_sandboxes_agent_id"), table_name="sandboxes")
    op.drop_table("sandboxes")
    op.drop_table("message_receipts")
    op.drop_index(op.f("ix_memories_agent_id_updated_at"), table_name="memories")
    op.drop_index("idx_memories_fts", table_name="memories", postgresql_using="gin")
    op.drop_table("memories")
    op.drop_table("instructions")
    op.drop_index(op.f("ix_approval_requests_agent_id_status"), table_name="approval_requests")
    op.drop_index(
        op.f("ix_approval_requests_agent_id_requester_id_resource_type_resource_key_status"),
        table_name="approval_requests",
    )
    op.drop_table("approval_requests")
    op.drop_table("agent_secrets")
    op.drop_table("agent_policies")
    op.drop_index(op.f("ix_agent_channels_token_prefix"), table_name="agent_channels")
    op.drop_index(op.f("ix_agent_channels_agent_id"), table_name="agent_channels")
    op.drop_table("agent_channels")
    op.drop_table("agent_channel_credentials")
    op.drop_index(op.f("ix_users_updated_at"), table_name="users")
    op.drop_table("users")
    op.drop_index(op.f("ix_user_identities_user_id"), table_name="user_identities")
    op.drop_table("user_identities")
    op.drop_index("uq_skills_user_slug", table_name="skills", postgresql_where=sa.text("source = 'user'"))
    op.drop_index("uq_skills_system_slug", table_name="skills", postgresql_where=sa.text("source = 'system'"))
    op.drop_table("skills")
    op.drop_table("meta")
    op.drop_table("mcp_servers")
    op.drop_index(op.f("ix_consumed_jtis_expires_at"), table_name="consumed_jtis")
    op.drop_table("consumed_jtis")
    op.drop_index(op.f("ix_audit_log_ts"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_agent_id_ts"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_agents_status"), table_name="agents")
    op.drop_table("agents")
    op.drop_index(op.f("ix_agent_skills_skill_id"), table_name="agent_skills")
    op.drop_table("agent_skills")
    op.drop_index(op.f("ix_agent_mcp_servers_mcp_server_id"), table_name="agent_mcp_servers")
    op.drop_table("agent_mcp_servers")
