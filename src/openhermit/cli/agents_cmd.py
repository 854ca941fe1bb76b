"""`hermit agents …`."""

from __future__ import annotations

import typer

from openhermit.cli.context import client, console, emit, table

app = typer.Typer(help="Create and manage agents.", no_args_is_help=True)
JSON = typer.Option(False, "--json", help="Print JSON.")


@app.command("list")
def list_agents(as_json: bool = JSON) -> None:
    """List every agent."""
    with client() as gw:
        agents = gw.list_agents()
    table(agents, ["agentId", "name", "status", "workspaceDir"], as_json)


@app.command("create")
def create(
    agent_id: str,
    name: str | None = typer.Option(None, "--name", help="Display name."),
    workspace_dir: str | None = typer.Option(None, "--workspace-dir", help="Workspace directory."),
    owner: str | None = typer.Option(None, "--owner", help="User id of the owner."),
    as_json: bool = JSON,
) -> None:
    """Create an agent with the default config, instructions and inbox."""
    extra = {k: v for k, v in {"workspaceDir": workspace_dir, "ownerUserId": owner}.items() if v}
    with client() as gw:
        created = gw.create_agent(agent_id, name=name, **extra)
    emit(created, True) if as_json else console.print(f"Created agent {created['agentId']}.")


def _action(action: str, help_text: str) -> None:
    def command(agent_id: str, as_json: bool = JSON) -> None:
        with client() as gw:
            result = gw.manage_agent(agent_id, action)
        emit(result, True) if as_json else console.print(f"{result['agentId']}: {result['status']}")

    command.__doc__ = help_text
    app.command(action)(command)


_action("start", "Load the agent now (it also loads on first use).")
_action("stop", "Unload the agent from memory (it stays enabled).")
_action("restart", "Unload and load the agent again.")
_action("enable", "Enable a disabled agent.")
_action("disable", "Disable the agent: it stops answering.")
_action("delete", "Delete a disabled agent and everything it stored.")
