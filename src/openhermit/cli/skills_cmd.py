"""`hermit skills …`: the skill registry and who has which skill enabled."""

from __future__ import annotations

import typer

from openhermit.cli.context import agent_or_default, client, console, emit, table
from openhermit.cli.targets import AGENT, ALL, describe, target

app = typer.Typer(
    help="Skills: register folders, enable them for one agent or the fleet.", no_args_is_help=True
)
JSON = typer.Option(False, "--json", help="Print JSON.")


@app.command("list")
def list_skills(
    agent: str | None = typer.Option(None, "--agent", "-a", help="Show the skills enabled for this agent."),
    as_json: bool = JSON,
) -> None:
    """List the registry, or with --agent the agent's enabled skills (where they are in its sandbox)."""
    with client() as gw:
        if agent:
            table(gw.agent_skills(agent_or_default(agent)), ["id", "name", "source", "path"], as_json)
            return
        table(gw.list_skills(), ["id", "source", "name", "description", "path"], as_json)


@app.command("assignments")
def assignments(as_json: bool = JSON) -> None:
    """Which skill is enabled or disabled for which agent (`*` = every agent)."""
    with client() as gw:
        table(gw.skill_assignments(), ["skillId", "agentId", "enabled"], as_json)


@app.command("scan")
def scan(
    register: bool = typer.Option(
        False, "--register", help="Register every valid folder not yet registered."
    ),
    as_json: bool = JSON,
) -> None:
    """Look for skill folders in <home>/gateway/registry/skills/ and the built-ins."""
    with client() as gw:
        found = gw.scan_skills()
        table(found, ["id", "registered", "name", "error", "path"], as_json)
        if register:
            for entry in found:
                if not entry["registered"] and not entry.get("error"):
                    gw.register_skill(entry["id"], entry["path"])
                    console.print(f"registered {entry['id']}")


@app.command("register")
def register(
    skill_id: str = typer.Argument(..., help="Skill id: lowercase letters, digits and '-'."),
    path: str = typer.Option(..., "--path", help="Folder on the gateway machine holding SKILL.md."),
    name: str | None = typer.Option(None, "--name", help="Display name (default: from SKILL.md)."),
    description: str | None = typer.Option(None, "--description", help="Default: from SKILL.md."),
) -> None:
    """Register (or re-register) a system skill from a folder."""
    with client() as gw:
        result = gw.register_skill(skill_id, path, name=name, description=description)
    console.print(f"registered {result['id']}: {result['name']}")


@app.command("sync")
def sync(skill_id: str | None = typer.Argument(None, help="Only this skill."), as_json: bool = JSON) -> None:
    """Re-read skill folders; changed skills reach running agents at once."""
    with client() as gw:
        result = gw.sync_skills(skill_id)
    if as_json:
        emit(result, True)
        return
    table(result["results"], ["id", "action", "changes"], False)
    console.print(f"{result['agentsRefreshed']} running agent(s) refreshed")


@app.command("enable")
def enable(skill_id: str, agent: str | None = AGENT, all_agents: bool = ALL) -> None:
    """Enable a skill for one agent (--agent) or every agent (--all)."""
    who = target(agent, all_agents)
    with client() as gw:
        gw.set_skill_enabled(skill_id, True, who)
    console.print(f"{skill_id} enabled for {describe(who)}")


@app.command("disable")
def disable(skill_id: str, agent: str | None = AGENT, all_agents: bool = ALL) -> None:
    """Disable a skill for one agent (--agent) or every agent (--all)."""
    who = target(agent, all_agents)
    with client() as gw:
        gw.set_skill_enabled(skill_id, False, who)
    console.print(f"{skill_id} disabled for {describe(who)}")


@app.command("delete")
def delete(skill_id: str) -> None:
    """Remove a skill from the registry (and from every agent)."""
    with client() as gw:
        gw.delete_skill(skill_id)
    console.print(f"{skill_id} deleted")
