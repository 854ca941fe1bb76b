"""The agent configuration object (`config_json`), as operators write it: snake_case keys."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Thinking = Literal["off", "minimal", "low", "medium", "high"]
ConcurrencyPolicy = Literal["queue", "interrupt", "reject"]

DEFAULT_PROVIDER = "openrouter"
DEFAULT_MODEL = "google/gemini-3-flash-preview"


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="allow")


class ModelSettings(ConfigModel):
    provider: str = DEFAULT_PROVIDER
    model: str = DEFAULT_MODEL
    max_tokens: int = Field(8192, ge=1, le=1_000_000)
    base_url: str | None = None
    api: Literal["openai-completions", "anthropic-messages"] | None = None
    thinking: Thinking | None = None
    timeout_seconds: float = Field(120.0, gt=0, le=3600)
    max_retries: int = Field(2, ge=0, le=10)
    context_window: int = Field(128_000, ge=1024)
    # The model accepts images: image attachments of the latest message that has any are inlined.
    images: bool = False


class IntrospectionSettings(ConfigModel):
    enabled: bool = True
    turn_interval: int = Field(5, ge=1)
    passive_turn_interval: int = Field(20, ge=1)
    idle_timeout_minutes: float = Field(10, ge=0)
    max_tool_calls: int = Field(10, ge=1, le=100)
    model: str | None = None


class MemorySettings(ConfigModel):
    context_entry_limit: int | None = None
    introspection: IntrospectionSettings = Field(default_factory=IntrospectionSettings)


class AgentConfig(ConfigModel):
    workspace_root: str | None = None
    model: ModelSettings = Field(default_factory=ModelSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    concurrency: ConcurrencyPolicy = "queue"
    exec: dict[str, Any] | None = None
    notifications: dict[str, Any] | None = None


def default_agent_config(workspace_root: str) -> dict[str, Any]:
    """The config a new agent starts with (JSON-ready)."""
    return AgentConfig(workspace_root=workspace_root).model_dump(mode="json", exclude_none=True)
