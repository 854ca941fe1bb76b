"""Tools for an agent's own capabilities: install its skills, see and switch its MCP servers."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from openhermit.errors import OpenHermitError
from openhermit.protocol.capabilities import SKILL_ID
from openhermit.runtime.skills import install_user_skill, uninstall_user_skill
from openhermit.runtime.tools.base import (
    OWNER,
    OWNER_USER,
    Tool,
    ToolContext,
    ToolFailed,
    ToolInput,
    ToolOutcome,
)
from openhermit.store.repos import assignments, mcp_servers
from openhermit.store.tables.capabilities import AgentMcpServer


class SkillFile(ToolInput):
    path: str = Field(min_length=1, max_length=512)
    content: str


class SkillInstall(Tool):
    name = "skill_install"
    description = (
        "Install (or replace) one of your own skills: SKILL.md instructions plus optional extra files "
        "(at most 32 files, 256 KiB in all). It is enabled for you and listed under Skills from the "
        "next turn."
    )
    default_grants = OWNER

    class Input(ToolInput):
        id: str = Field(pattern=SKILL_ID)
        name: str = Field(min_length=1, max_length=200)
        description: str = Field(min_length=1, max_length=2000)
        markdown: str = Field(min_length=1)
        files: list[SkillFile] = Field(default_factory=list)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        try:
            record = await install_user_skill(
                ctx.deps,
                ctx.agent_id,
                slug=args.id,
                name=args.name,
                description=args.description,
                markdown=args.markdown,
                files={f.path: f.content for f in args.files},
            )
        except OpenHermitError as exc:
            raise ToolFailed(exc.message) from None
        return ToolOutcome(text=f"Skill {args.id} installed and enabled.", details={"id": record.id})


class SkillUninstall(Tool):
    name = "skill_uninstall"
    description = "Remove one of your own installed skills (skills installed by the operator stay)."
    default_grants = OWNER

    class Input(ToolInput):
        id: str = Field(pattern=SKILL_ID)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        try:
            await uninstall_user_skill(ctx.deps, ctx.agent_id, args.id)
        except OpenHermitError as exc:
            raise ToolFailed(exc.message) from None
        return ToolOutcome(text=f"Skill {args.id} removed.")


class McpStatusTool(Tool):
    name = "mcp_status"
    description = "List your enabled MCP servers with their connection status, last error and tools."
    default_grants = OWNER_USER

    class Input(ToolInput):
        pass

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        hub = ctx.extras.get("mcp")
        states = hub.states() if hub is not None else []
        lines = [
            f"- {s.id} ({s.transport}): {s.status}"
            + (f" — {s.last_error}" if s.last_error else "")
            + (f" — tools: {', '.join(s.tools)}" if s.tools else "")
            for s in states
        ]
        return ToolOutcome(
            text="\n".join(lines) or "No MCP servers are enabled.", details=[s.wire() for s in states]
        )


class _McpSwitch(Tool):
    enabled: bool
    default_grants = OWNER

    class Input(ToolInput):
        server_id: str = Field(alias="serverId", min_length=1)

    async def run(self, ctx: ToolContext, args: Any) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            if await mcp_servers.get_server(tx, args.server_id) is None:
                raise ToolFailed(f"There is no MCP server {args.server_id}.")
            await assignments.set_enabled(tx, AgentMcpServer, ctx.agent_id, args.server_id, self.enabled)
        state = "enabled" if self.enabled else "disabled"
        return ToolOutcome(
            text=f"MCP server {args.server_id} {state} for you; it applies from the next turn."
        )


class McpEnable(_McpSwitch):
    name = "mcp_enable"
    description = "Enable an MCP server (by id) for yourself; its tools appear once it has connected."
    enabled = True


class McpDisable(_McpSwitch):
    name = "mcp_disable"
    description = "Disable an MCP server (by id) for yourself."
    enabled = False


CAPABILITY_TOOLS: list[Tool] = [SkillInstall(), SkillUninstall(), McpStatusTool(), McpEnable(), McpDisable()]
