"""`hermit config …`: an agent's config object and secrets."""

from __future__ import annotations

import json
from typing import Any

import typer

from openhermit.cli.context import agent_or_default, client, console, emit, fail, table

app = typer.Typer(help="Show and change an agent's configuration.", no_args_is_help=True)
secrets_app = typer.Typer(help="An agent's secrets (values are never shown).", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")
AGENT = typer.Option(None, "--agent", "-a", help="Agent id (default: OPENHERMIT_AGENT_ID or main).")
JSON = typer.Option(False, "--json", help="Print JSON.")


def coerce(value: str) -> Any:
    """Numbers, booleans, null and JSON literals become themselves; anything else stays text."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def dig(data: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(data, dict) or part not in data:
            raise fail(f"no config value at {path}")
        data = data[part]
    return data


@app.command("show")
def show(agent: str | None = AGENT) -> None:
    """Print the agent's config."""
    with client() as gw:
        emit(gw.get_config(agent_or_default(agent)), True)


@app.command("get")
def get(path: str, agent: str | None = AGENT) -> None:
    """Print one value, by dot path (model.model)."""
    with client() as gw:
        emit(dig(gw.get_config(agent_or_default(agent)), path), True)


@app.command("set")
def set_value(path: str, value: str, agent: str | None = AGENT) -> None:
    """Set one value by dot path; numbers and booleans are parsed."""
    agent_id = agent_or_default(agent)
    with client() as gw:
        config = gw.get_config(agent_id)
        node = config
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise fail(f"{part} is not an object")
        node[parts[-1]] = coerce(value)
        gw.put_config(agent_id, config)
    console.print(f"{path} = {json.dumps(coerce(value))}", markup=False)


@secrets_app.command("list")
def secrets_list(agent: str | None = AGENT, as_json: bool = JSON) -> None:
    """List secret names with masked values."""
    with client() as gw:
        found = gw.list_secrets(agent_or_default(agent))
    rows = [
        {"name": name, "masked": v["masked"], "passThrough": v["passThrough"]} for name, v in found.items()
    ]
    table(rows, ["name", "masked", "passThrough"], as_json)


@secrets_app.command("set")
def secrets_set(
    name: str,
    value: str,
    agent: str | None = AGENT,
    pass_through: bool | None = typer.Option(
        None, "--pass-through/--no-pass-through", help="Expose it to sandbox commands as an env var."
    ),
) -> None:
    """Create or replace a secret."""
    with client() as gw:
        gw.set_secret(agent_or_default(agent), name, value, pass_through=pass_through)
    console.print(f"Secret {name} saved.", markup=False)


@secrets_app.command("remove")
def secrets_remove(name: str, agent: str | None = AGENT) -> None:
    """Delete a secret."""
    with client() as gw:
        gw.remove_secret(agent_or_default(agent), name)
    console.print(f"Secret {name} removed.", markup=False)
