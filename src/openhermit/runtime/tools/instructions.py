"""`instruction_update`: the agent edits its own standing instructions."""

from __future__ import annotations

from pydantic import Field

from openhermit.runtime.tools.base import OWNER, Tool, ToolContext, ToolInput, ToolOutcome
from openhermit.store.repos import instructions


class InstructionUpdate(Tool):
    name = "instruction_update"
    description = "Replace one of your instruction sections (identity, soul, rules, or a new key)."
    default_grants = OWNER

    class Input(ToolInput):
        key: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
        content: str

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            await instructions.put_instruction(tx, ctx.agent_id, args.key, args.content)
        return ToolOutcome(text=f"Instruction {args.key} updated; it applies from the next turn.")
