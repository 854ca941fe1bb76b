"""What a tool is, what it gets to work with, and how a call is executed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from openhermit.runtime.models.base import ToolSpec
from openhermit.secrets.base import SecretStore
from openhermit.store.engine import Database

ANY = ("owner", "user", "guest")
OWNER_USER = ("owner", "user")
OWNER = ("owner",)
SYSTEM_ONLY: tuple[str, ...] = ()


class ToolInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ToolFailed(Exception):
    """A tool could not do what was asked; the message goes back to the model."""


@dataclass
class ToolOutcome:
    text: str
    details: Any = None
    is_error: bool = False


@dataclass
class ToolContext:
    """What a running tool may touch: this agent's store rows and this session's services."""

    agent_id: str
    session_id: str
    db: Database
    secrets: SecretStore
    workspace_dir: str
    # Publishes a proactive assistant message into another session of this agent.
    send_to_session: Callable[[str, str], Awaitable[int]] | None = None
    introspection: bool = False
    # Who the turn acts for (None when unknown, as for an admin API call).
    user_id: str | None = None
    role: str | None = None
    channel: str | None = None
    channel_user_id: str | None = None
    deps: Any = None  # the runtime services, for tools that publish events
    extras: dict[str, Any] = field(default_factory=dict)


class Tool:
    name: ClassVar[str]
    description: ClassVar[str]
    Input: ClassVar[type[ToolInput]]
    default_grants: ClassVar[tuple[str, ...]] = ANY

    def spec(self) -> ToolSpec:
        """The model-facing description; derived once per tool class."""
        cached: ToolSpec | None = self.__class__.__dict__.get("_spec")
        if cached is None:
            schema = self.Input.model_json_schema()
            schema.pop("title", None)
            cached = ToolSpec(name=self.name, description=self.description, parameters=schema)
            type.__setattr__(self.__class__, "_spec", cached)
        return cached

    async def run(self, ctx: ToolContext, args: Any) -> ToolOutcome:
        raise NotImplementedError


def _describe_invalid(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ())) or "arguments"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "Invalid arguments: " + "; ".join(parts)


async def execute(tool: Tool, ctx: ToolContext, arguments: dict[str, Any]) -> ToolOutcome:
    """Validate the model's arguments and run the tool; failures become error results."""
    try:
        args = tool.Input.model_validate(arguments)
    except ValidationError as exc:
        return ToolOutcome(text=_describe_invalid(exc), is_error=True)
    try:
        return await tool.run(ctx, args)
    except ToolFailed as exc:
        return ToolOutcome(text=str(exc), is_error=True)
