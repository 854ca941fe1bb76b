"""`hermit sandbox …`: an agent's sandboxes (by alias) and the gateway's presets."""

from __future__ import annotations

import json

import typer

from openhermit.cli.context import agent_or_default, client, console, emit, fail, table

app = typer.Typer(
    help="Sandboxes of an agent: where its files live and its commands run.", no_args_is_help=True
)
AGENT = typer.Option(None, "--agent", "-a", help="Agent id (default: OPENHERMIT_AGENT_ID or main).")
JSON = typer.Option(False, "--json", help="Print JSON.")


@app.command("list")
def list_sandboxes(agent: str | None = AGENT, as_json: bool = JSON) -> None:
    """List the agent's sandboxes (the first is its default)."""
    with client() as gw:
        rows = gw.list_sandboxes(agent_or_default(agent))
    table(rows, ["alias", "type", "status", "id", "lastSeenAt"], as_json)


@app.command("add")
def add(
    agent: str | None = AGENT,
    alias: str = typer.Option("default", "--alias", help="Name the tools use to pick this sandbox."),
    preset: str | None = typer.Option(None, "--preset", help="A preset name (see `hermit sandbox presets`)."),
    type_name: str | None = typer.Option(
        None, "--type", help="Backend: local, host, docker, … (instead of a preset)."
    ),
    config: str | None = typer.Option(
        None, "--config", help="Backend config as JSON, e.g. '{\"network\": true}'."
    ),
    as_json: bool = JSON,
) -> None:
    """Give the agent a sandbox from a preset, or from --type and --config."""
    parsed = None
    if config is not None:
        try:
            parsed = json.loads(config)
        except json.JSONDecodeError as exc:
            raise fail(f"--config is not valid JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise fail("--config must be a JSON object")
    with client() as gw:
        row = gw.create_sandbox(
            agent_or_default(agent), alias=alias, preset=preset, type=type_name, config=parsed
        )
    if as_json:
        emit(row, True)
    else:
        console.print(f"sandbox {row['alias']} ({row['type']}) added: {row['status']}", markup=False)


@app.command("remove")
def remove(alias: str = typer.Argument(..., help="The sandbox alias."), agent: str | None = AGENT) -> None:
    """Remove (soft-delete) one of the agent's sandboxes; its workspace files stay."""
    with client() as gw:
        gw.delete_sandbox(agent_or_default(agent), alias)
    console.print(f"sandbox {alias} removed", markup=False)


@app.command("presets")
def presets(as_json: bool = JSON) -> None:
    """Show the gateway's sandbox presets and the one new agents get."""
    with client() as gw:
        data = gw.sandbox_presets()
    if as_json:
        emit(data, True)
        return
    rows = [
        {"name": name, "type": p["type"], "config": json.dumps(p.get("config") or {})}
        for name, p in data["presets"].items()
    ]
    table(rows, ["name", "type", "config"], False, title=f"default: {data.get('autoProvisionSandbox')}")
