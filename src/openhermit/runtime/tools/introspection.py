"""Tools only introspection runs get: working memory and session description."""

from __future__ import annotations

from pydantic import Field

from openhermit.runtime.tools.base import SYSTEM_ONLY, Tool, ToolContext, ToolInput, ToolOutcome
from openhermit.store.repos import sessions


class WorkingMemoryUpdate(Tool):
    name = "working_memory_update"
    description = "Replace this session's working memory: what to keep in mind for the rest of the session."
    default_grants = SYSTEM_ONLY

    class Input(ToolInput):
        content: str = Field(max_length=8000)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            await sessions.set_working_memory(tx, ctx.agent_id, ctx.session_id, args.content)
        return ToolOutcome(text="Working memory updated.")


class SessionDescriptionUpdate(Tool):
    name = "session_description_update"
    description = "Set a short description (one line) of what this session is about."
    default_grants = SYSTEM_ONLY

    class Input(ToolInput):
        description: str = Field(min_length=1, max_length=200)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            await sessions.set_description(tx, ctx.agent_id, ctx.session_id, args.description, "ai")
        return ToolOutcome(text="Description updated.")
