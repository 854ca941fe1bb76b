"""Skills and MCP servers on the wire: registry rows, assignments, per-agent views."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from openhermit.protocol.base import StrictWireModel, WireModel

SKILL_ID = r"^[a-z0-9][a-z0-9-]{0,63}$"
# No `__` inside: tools are named `mcp__<server>__<tool>`.
MCP_SERVER_ID = r"^[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*$"
SkillSource = Literal["system", "user", "workspace"]
McpStatus = Literal["connecting", "connected", "disconnected", "error"]


class SkillRecord(WireModel):
    """A registry row (system skills, and skills agents installed for themselves)."""

    id: str
    slug: str
    name: str
    description: str
    path: str
    source: Literal["system", "user"]
    owner_agent_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class SkillIndexEntry(WireModel):
    """One skill an agent has enabled; `path` is its folder inside the agent's sandbox."""

    id: str
    name: str
    description: str
    path: str
    source: SkillSource


class RegisterSkill(StrictWireModel):
    id: str = Field(pattern=SKILL_ID)
    path: str = Field(min_length=1, max_length=4096)
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=2000)
    metadata: dict[str, Any] | None = None


class ScannedSkill(WireModel):
    id: str
    path: str
    registered: bool
    name: str | None = None
    description: str | None = None
    error: str | None = None


class SkillSyncRequest(StrictWireModel):
    id: str | None = None


class SkillSyncItem(WireModel):
    id: str
    action: Literal["updated", "unchanged", "missing_on_disk", "not_registered"]
    changes: list[str] | None = None


class SkillSyncResult(WireModel):
    results: list[SkillSyncItem]
    agents_refreshed: int


class AssignmentTarget(StrictWireModel):
    """Who an enable/disable applies to: one agent, or every agent (`*`, the default)."""

    agent_id: str = Field("*", min_length=1, max_length=200)


class SkillAssignment(WireModel):
    agent_id: str
    skill_id: str
    enabled: bool
    created_at: datetime | None = None


class McpAssignment(WireModel):
    agent_id: str
    mcp_server_id: str
    enabled: bool
    created_at: datetime | None = None


class SkillDetail(SkillRecord):
    assignments: list[SkillAssignment] = Field(default_factory=list)


class McpServerDefinition(StrictWireModel):
    """A registry entry: a Streamable HTTP server (`url`, `headers`) or a stdio server
    (`command`, `args`, `env`). Header and env values may use `${{SECRET_NAME}}`."""

    id: str = Field(pattern=MCP_SERVER_ID, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    transport: Literal["http", "stdio"] | None = None
    url: str | None = Field(None, pattern=r"^https?://", max_length=2000)
    headers: dict[str, str] | None = None
    command: str | None = Field(None, min_length=1, max_length=2000)
    args: list[str] | None = None
    env: dict[str, str] | None = None
    metadata: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _transport(self) -> McpServerDefinition:
        if self.transport is None:
            self.transport = "stdio" if self.command and not self.url else "http"
        if self.transport == "http":
            if not self.url:
                raise ValueError("an http server needs url")
            if self.command or self.args or self.env:
                raise ValueError("command, args and env are for stdio servers")
        else:
            if not self.command:
                raise ValueError("a stdio server needs command")
            if self.url or self.headers:
                raise ValueError("url and headers are for http servers")
        return self


class McpServerView(WireModel):
    """A registry entry as the API shows it: header and env values are never returned."""

    id: str
    name: str
    description: str
    transport: Literal["http", "stdio"]
    url: str | None = None
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    header_keys: list[str] = Field(default_factory=list)
    env_keys: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class McpServerDetail(McpServerView):
    assignments: list[McpAssignment] = Field(default_factory=list)


class McpServerState(McpServerView):
    """An enabled server of one agent, with this gateway's connection to it."""

    status: McpStatus = "disconnected"
    last_error: str | None = None
    connected_at: datetime | None = None
    tools: list[str] = Field(default_factory=list)
