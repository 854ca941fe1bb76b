"""`--agent <id>` or `--all`: who a skill or MCP server switch applies to."""

from __future__ import annotations

import typer

from openhermit.cli.context import fail

AGENT = typer.Option(
    None, "--agent", "-a", help="Apply to this agent only (overrides the fleet-wide setting)."
)
ALL = typer.Option(False, "--all", help="Apply to every agent (fleet-wide, `*`).")


def target(agent: str | None, all_agents: bool) -> str:
    if bool(agent) == all_agents:
        raise fail("give exactly one of --agent <id> or --all")
    return "*" if all_agents else str(agent)


def describe(target_id: str) -> str:
    return "every agent" if target_id == "*" else f"agent {target_id}"
