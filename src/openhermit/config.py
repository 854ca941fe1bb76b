"""The one settings tree. This is the only module that reads the process environment.

Settings are read once at process start (`load_settings`) and passed down explicitly.
Values come, highest priority first, from keyword arguments, the real environment, and
`$OPENHERMIT_HOME/gateway/.env` (which never overrides the real environment).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from openhermit.errors import ConfigError

DEFAULT_HOME = Path("~/.openhermit")
_KEY_HINT = "generate one with: openssl rand -base64 32"

# Field name -> the environment variable(s) it is read from (first is the documented name).
ENV_NAMES: dict[str, tuple[str, ...]] = {
    "home": ("OPENHERMIT_HOME",),
    "database_url": ("DATABASE_URL",),
    "database_url_test": ("DATABASE_URL_TEST",),
    "admin_token": ("GATEWAY_ADMIN_TOKEN",),
    "jwt_secret": ("GATEWAY_JWT_SECRET",),
    "host": ("GATEWAY_HOST",),
    "port": ("GATEWAY_PORT", "PORT"),
    "secrets_key": ("OPENHERMIT_SECRETS_KEY",),
    "token": ("OPENHERMIT_TOKEN",),
    "gateway_url": ("OPENHERMIT_GATEWAY_URL",),
    "agent_id": ("OPENHERMIT_AGENT_ID",),
    "web_host": ("OPENHERMIT_WEB_HOST",),
    "web_port": ("OPENHERMIT_WEB_PORT",),
    "eviction_ttl_minutes": ("OPENHERMIT_EVICTION_TTL_MINUTES",),
    "db_pool_size": ("OPENHERMIT_DB_POOL_SIZE",),
    "context_cache_mb": ("OPENHERMIT_CONTEXT_CACHE_MB",),
    "log_level": ("OPENHERMIT_LOG_LEVEL",),
    "attachments_provider": ("OPENHERMIT_ATTACHMENTS_PROVIDER",),
    "attachments_root": ("OPENHERMIT_ATTACHMENTS_ROOT",),
    "attachments_max_bytes": ("OPENHERMIT_ATTACHMENTS_MAX_BYTES",),
    "attachments_s3_bucket": ("OPENHERMIT_ATTACHMENTS_S3_BUCKET",),
    "attachments_s3_prefix": ("OPENHERMIT_ATTACHMENTS_S3_PREFIX",),
    "attachments_s3_region": ("OPENHERMIT_ATTACHMENTS_S3_REGION",),
    "attachments_s3_endpoint": ("OPENHERMIT_ATTACHMENTS_S3_ENDPOINT",),
    "attachments_s3_force_path_style": ("OPENHERMIT_ATTACHMENTS_S3_FORCE_PATH_STYLE",),
    "attachments_supabase_bucket": ("OPENHERMIT_ATTACHMENTS_SUPABASE_BUCKET",),
    "attachments_supabase_prefix": ("OPENHERMIT_ATTACHMENTS_SUPABASE_PREFIX",),
    "supabase_url": ("SUPABASE_URL",),
    "supabase_service_role_key": (
        "SUPABASE_SERVICE_ROLE_KEY",
        "OPENHERMIT_ATTACHMENT_SUPABASE_SECRET_KEY",
    ),
    "attachments_fetch_allow_http": ("OPENHERMIT_ATTACHMENTS_FETCH_ALLOW_HTTP",),
    "attachments_fetch_allowed_networks": ("OPENHERMIT_ATTACHMENTS_FETCH_ALLOWED_NETWORKS",),
    "scheduler_enabled": ("OPENHERMIT_SCHEDULER",),
    "schedule_catch_up": ("OPENHERMIT_SCHEDULE_CATCH_UP",),
    "schedule_misfire_grace_seconds": ("OPENHERMIT_SCHEDULE_MISFIRE_GRACE_SECONDS",),
    "schedule_timeout_seconds": ("OPENHERMIT_SCHEDULE_TIMEOUT_SECONDS",),
    "mcp_connect_timeout_seconds": ("OPENHERMIT_MCP_CONNECT_TIMEOUT_SECONDS",),
    "mcp_call_timeout_seconds": ("OPENHERMIT_MCP_CALL_TIMEOUT_SECONDS",),
    "mcp_retry_base_seconds": ("OPENHERMIT_MCP_RETRY_BASE_SECONDS",),
    "mcp_retry_max_seconds": ("OPENHERMIT_MCP_RETRY_MAX_SECONDS",),
    "mcp_ping_interval_seconds": ("OPENHERMIT_MCP_PING_INTERVAL_SECONDS",),
}


class Settings(BaseSettings):
    """Every setting of every OpenHermit process."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # `load_settings` resolves the environment and the .env file by exact variable name;
        # a `Settings(...)` built directly (tests, embedding) reads nothing implicitly.
        return (init_settings,)

    home: Path = Field(DEFAULT_HOME)
    database_url: str | None = Field(None)
    database_url_test: str | None = Field(None)
    admin_token: SecretStr | None = Field(None)
    jwt_secret: SecretStr | None = Field(None)
    host: str = Field("127.0.0.1")
    port: int = Field(4000, ge=0, le=65535)
    secrets_key: SecretStr | None = Field(None)
    token: SecretStr | None = Field(None)
    gateway_url: str | None = Field(None)
    agent_id: str = Field("main")
    web_host: str = Field("127.0.0.1")
    web_port: int = Field(4310, ge=0, le=65535)
    eviction_ttl_minutes: float = Field(30, ge=0)
    db_pool_size: int = Field(10, ge=1, le=200)
    # Memory for recent sessions' contexts kept between turns (runtime/histories.py); 0 keeps none.
    context_cache_mb: float = Field(8, ge=0)
    log_level: str = Field("info")
    # Attachments (docs/attachments.md): storage provider, upload limit, URL passthrough.
    attachments_provider: str = Field("local")
    attachments_root: Path | None = Field(None)  # local provider; default $OPENHERMIT_HOME/attachments
    attachments_max_bytes: int = Field(25 * 1024 * 1024, ge=1)
    attachments_s3_bucket: str | None = Field(None)
    attachments_s3_prefix: str = Field("")
    attachments_s3_region: str | None = Field(None)
    attachments_s3_endpoint: str | None = Field(None)
    attachments_s3_force_path_style: bool = Field(False)
    attachments_supabase_bucket: str = Field("attachments")
    attachments_supabase_prefix: str = Field("")
    supabase_url: str | None = Field(None)
    supabase_service_role_key: SecretStr | None = Field(None)
    # URL passthrough: plain http, and networks exempt from the SSRF guard (comma-separated CIDRs).
    attachments_fetch_allow_http: bool = Field(False)
    attachments_fetch_allowed_networks: str = Field("")
    # Schedules: run the scheduler in this process; what to do with fires missed while no
    # gateway ran (`once`: one run for the whole window, `skip`: record them skipped); how
    # late a fire may be before it counts as missed; the run time limit when none is set.
    scheduler_enabled: bool = Field(True)
    schedule_catch_up: Literal["once", "skip"] = Field("once")
    schedule_misfire_grace_seconds: float = Field(60, ge=0)
    schedule_timeout_seconds: float = Field(900, gt=0)
    # MCP connections: time to connect and list tools, per tool call, reconnect backoff, liveness.
    mcp_connect_timeout_seconds: float = Field(15, gt=0)
    mcp_call_timeout_seconds: float = Field(60, gt=0)
    mcp_retry_base_seconds: float = Field(1, gt=0)
    mcp_retry_max_seconds: float = Field(60, gt=0)
    mcp_ping_interval_seconds: float = Field(30, gt=0)
    # Model provider keys found in the environment (`*_API_KEY`), by variable name.
    provider_api_keys: dict[str, SecretStr] = Field(default_factory=dict)

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser().absolute()

    @field_validator("database_url", "database_url_test", mode="after")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in {"postgres", "postgresql", "postgresql+asyncpg"}:
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("secrets_key", mode="after")
    @classmethod
    def _check_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        try:
            raw = base64.b64decode(value.get_secret_value(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"must be standard base64 ({_KEY_HINT})") from None
        if len(raw) != 32:
            raise ValueError(f"must decode to exactly 32 bytes, got {len(raw)} ({_KEY_HINT})")
        return value

    @field_validator("log_level", mode="after")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.lower()
        if level not in {"debug", "info", "warning", "error"}:
            raise ValueError("must be one of debug, info, warning, error")
        return level

    # Derived paths -------------------------------------------------------------------------
    @property
    def gateway_dir(self) -> Path:
        return self.home / "gateway"

    @property
    def env_file(self) -> Path:
        return self.gateway_dir / ".env"

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"

    @property
    def workspaces_dir(self) -> Path:
        return self.home / "workspaces"

    def agent_dir(self, agent_id: str) -> Path:
        return self.home / "agents" / agent_id

    @property
    def secrets_key_bytes(self) -> bytes | None:
        if self.secrets_key is None:
            return None
        return base64.b64decode(self.secrets_key.get_secret_value())

    @property
    def effective_gateway_url(self) -> str:
        return self.gateway_url or f"http://{self.host}:{self.port}"


def _describe(error: Mapping[str, Any]) -> str:
    loc = error.get("loc") or ("?",)
    field = str(loc[0])
    names = ENV_NAMES.get(field, (field,))
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{names[0]}: {message}"


def _environment(env_file: Path) -> dict[str, str]:
    """The `.env` file's values overlaid by the real environment (which always wins)."""
    file_values = dotenv_values(env_file) if env_file.is_file() else {}
    merged = {k: v for k, v in file_values.items() if v is not None}
    merged.update(os.environ)
    return merged


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment and `$OPENHERMIT_HOME/gateway/.env`.

    Keyword arguments (by field name) win over both. Raises `ConfigError` with one line
    naming the variable when a value is invalid.
    """
    home = Path(overrides.get("home") or os.environ.get("OPENHERMIT_HOME") or DEFAULT_HOME)
    env = _environment(home.expanduser() / "gateway" / ".env")
    values: dict[str, Any] = {}
    for field, names in ENV_NAMES.items():
        found = next((env[name] for name in names if env.get(name)), None)
        if found is not None:
            values[field] = found
    values["provider_api_keys"] = {k: v for k, v in env.items() if k.endswith("_API_KEY") and v}
    values.update(overrides)
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise ConfigError(_describe(exc.errors()[0])) from None


def inherited_environment(*, without_prefixes: tuple[str, ...] = ()) -> dict[str, str]:
    """A copy of this process's environment for a child process, minus variables by prefix."""
    return {k: v for k, v in os.environ.items() if not k.startswith(without_prefixes)}
