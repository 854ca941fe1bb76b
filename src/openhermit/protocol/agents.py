"""Agent payloads (spec section 2.2): records, creation requests, instructions."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from openhermit.protocol.base import StrictWireModel, WireModel

AgentStatus = Literal["active", "disabled"]
AccessLevel = Literal["public", "protected", "private"]
AGENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_agent_id(value: str) -> str:
    """Agent ids are path segments, directory names and prefixes: keep them plain."""
    if not AGENT_ID_PATTERN.fullmatch(value):
        raise ValueError(
            "agentId must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


class AgentRecord(WireModel):
    """One row of `agents`, as the store returns it."""

    agent_id: str
    name: str | None = None
    workspace_dir: str
    config: dict[str, Any] = Field(default_factory=dict)
    security: dict[str, Any] = Field(default_factory=dict)
    status: AgentStatus = "active"
    created_at: datetime
    updated_at: datetime


class CreateAgentRequest(StrictWireModel):
    agent_id: str
    name: str | None = Field(None, max_length=200)
    workspace_dir: str | None = None
    owner_user_id: str | None = None
    sandbox: str | None = None
    access: AccessLevel | None = None

    @field_validator("agent_id")
    @classmethod
    def _agent_id(cls, value: str) -> str:
        return check_agent_id(value)


class Instruction(WireModel):
    key: str
    content: str
    updated_at: datetime
