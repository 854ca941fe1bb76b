"""Sandbox rows, presets and the bodies that create them, as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from openhermit.protocol.base import StrictWireModel, WireModel

ALIAS = r"^[a-z0-9][a-z0-9_-]{0,62}$"
SandboxStatus = Literal["pending", "provisioned", "deleted"]


class SandboxRecord(WireModel):
    id: str
    agent_id: str
    alias: str
    type: str
    external_id: str | None = None
    status: SandboxStatus
    config: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    last_seen_at: datetime | None = None


class AdminSandboxRecord(SandboxRecord):
    agent_name: str | None = None
    runtime: dict[str, Any] | None = None  # live state in this gateway process (running, idle …)


class SandboxPreset(WireModel):
    type: str = Field(min_length=1, max_length=50)
    config: dict[str, Any] = Field(default_factory=dict)


class SandboxPresets(WireModel):
    presets: dict[str, SandboxPreset]
    auto_provision_sandbox: str | None = None


class CreateSandbox(StrictWireModel):
    """`{alias?="default", preset? | type+config?}`; with neither, the auto-provision preset."""

    alias: str = Field("default", pattern=ALIAS)
    preset: str | None = Field(None, min_length=1, max_length=100)
    type: str | None = Field(None, min_length=1, max_length=50)
    config: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> CreateSandbox:
        if self.preset is not None and (self.type is not None or self.config is not None):
            raise ValueError("give either preset or type+config, not both")
        if self.config is not None and self.type is None:
            raise ValueError("config needs a type")
        return self


class Lifecycle(StrictWireModel):
    """When a sandbox starts (`ondemand`: first tool use; `session`: session open) and stops
    (`idle`: after `idle_timeout_minutes` unused; `session`: at the end of each turn)."""

    start: Literal["ondemand", "session"] = "ondemand"
    stop: Literal["idle", "session"] = "idle"
    idle_timeout_minutes: float = Field(5, gt=0, le=10_080)
