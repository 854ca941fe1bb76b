"""`hermit mcp …`: the MCP server registry and who has which server enabled."""

from __future__ import annotations

from typing import Any

import typer

from openhermit.cli.context import agent_or_default, client, console, fail, table
from openhermit.cli.targets import AGENT, ALL, describe, target

app = typer.Typer(
    help="MCP servers: add them once, enable them for one agent or the fleet.", no_args_is_help=True
)
JSON = typer.Option(False, "--json", help="Print JSON.")


def _pairs(items: list[str], option: str) -> dict[str, str]:
    found = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise fail(f"{option} takes KEY=VALUE, got {item!r}")
        found[key] = value
    return found


@app.command("list")
def list_servers(as_json: bool = JSON) -> None:
    """List the registry (header and env values are never shown, only their names)."""
    with client() as gw:
        rows = gw.list_mcp_servers()
    view = [
        {**r, "target": r.get("url") or " ".join([r.get("command") or "", *r.get("args", [])])} for r in rows
    ]
    table(
        view if not as_json else rows, ["id", "transport", "name", "target", "headerKeys", "envKeys"], as_json
    )


@app.command("assignments")
def assignments(as_json: bool = JSON) -> None:
    """Which server is enabled or disabled for which agent (`*` = every agent)."""
    with client() as gw:
        table(gw.mcp_assignments(), ["mcpServerId", "agentId", "enabled"], as_json)


@app.command("add")
def add(
    server_id: str = typer.Argument(..., help="Server id; tools appear as mcp__<id>__<tool>."),
    name: str | None = typer.Option(None, "--name", help="Display name (default: the id)."),
    description: str = typer.Option("", "--description"),
    url: str | None = typer.Option(None, "--url", help="Streamable HTTP endpoint."),
    header: list[str] = typer.Option([], "--header", help="KEY=VALUE; VALUE may use ${{SECRET_NAME}}."),
    command: str | None = typer.Option(None, "--command", help="Executable of a local stdio server."),
    arg: list[str] = typer.Option([], "--arg", help="Argument of the stdio command (repeat)."),
    env: list[str] = typer.Option(
        [], "--env", help="KEY=VALUE for the stdio server; may use ${{SECRET_NAME}}."
    ),
) -> None:
    """Add or replace a server: --url (HTTP) or --command (stdio)."""
    if bool(url) == bool(command):
        raise fail("give exactly one of --url or --command")
    definition: dict[str, Any] = {"id": server_id, "name": name or server_id, "description": description}
    if url:
        definition.update(transport="http", url=url, headers=_pairs(header, "--header"))
    else:
        definition.update(transport="stdio", command=command, args=arg, env=_pairs(env, "--env"))
    with client() as gw:
        result = gw.put_mcp_server(definition)
    console.print(f"{server_id} {'added' if result.get('created') else 'replaced'}")


@app.command("status")
def status(agent: str | None = typer.Option(None, "--agent", "-a"), as_json: bool = JSON) -> None:
    """An agent's enabled servers and the gateway's connection to each."""
    with client() as gw:
        rows = gw.agent_mcp_servers(agent_or_default(agent))
    table(rows, ["id", "transport", "status", "lastError", "tools"], as_json)


@app.command("enable")
def enable(server_id: str, agent: str | None = AGENT, all_agents: bool = ALL) -> None:
    """Enable a server for one agent (--agent) or every agent (--all)."""
    who = target(agent, all_agents)
    with client() as gw:
        gw.set_mcp_server_enabled(server_id, True, who)
    console.print(f"{server_id} enabled for {describe(who)}")


@app.command("disable")
def disable(server_id: str, agent: str | None = AGENT, all_agents: bool = ALL) -> None:
    """Disable a server for one agent (--agent) or every agent (--all)."""
    who = target(agent, all_agents)
    with client() as gw:
        gw.set_mcp_server_enabled(server_id, False, who)
    console.print(f"{server_id} disabled for {describe(who)}")


@app.command("delete")
def delete(server_id: str) -> None:
    """Remove a server from the registry (and from every agent)."""
    with client() as gw:
        gw.delete_mcp_server(server_id)
    console.print(f"{server_id} deleted")
