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


security_app = typer.Typer(help="An agent's security object (access level, approvals).", no_args_is_help=True)
policy_app = typer.Typer(help="An agent's policy rules.", no_args_is_help=True)
approvals_app = typer.Typer(help="Approval requests waiting for the owner.", no_args_is_help=True)
app.add_typer(security_app, name="security")
app.add_typer(policy_app, name="policy")
app.add_typer(approvals_app, name="approvals")


@security_app.command("show")
def security_show(agent: str | None = AGENT) -> None:
    """Print the security object."""
    with client() as gw:
        emit(gw.get_security(agent_or_default(agent)), True)


@security_app.command("set")
def security_set(path: str, value: str, agent: str | None = AGENT) -> None:
    """Set one key (access, access_token, require_approval_for, …); JSON values are parsed."""
    agent_id = agent_or_default(agent)
    with client() as gw:
        security = gw.get_security(agent_id)
        security[path] = coerce(value)
        gw.put_security(agent_id, security)
    console.print(f"{path} = {json.dumps(coerce(value))}", markup=False)


@policy_app.command("list")
def policy_list(
    agent: str | None = AGENT,
    resource_type: str | None = typer.Option(
        None, "--resource-type", help="tool, mcp, file, exec or memory."
    ),
    as_json: bool = JSON,
) -> None:
    """List policy rules."""
    with client() as gw:
        rules = gw.list_policies(agent_or_default(agent), resource_type)
    rows = [{**r, "grants": json.dumps(r["grants"])} for r in rules] if not as_json else rules
    table(rows, ["resourceType", "resourceKey", "effect", "grants"], as_json)


@policy_app.command("set")
def policy_set(
    resource_key: str,
    grants: str = typer.Argument(..., help='JSON list, e.g. [{"type": "role", "value": "owner"}]'),
    agent: str | None = AGENT,
    resource_type: str = typer.Option("tool", "--resource-type"),
    effect: str = typer.Option("allow", "--effect", help="allow, deny or require_approval."),
    scope: str | None = typer.Option(None, "--scope", help="JSON scope (file and exec rules)."),
) -> None:
    """Create or replace a rule."""
    rule = {
        "resourceType": resource_type,
        "resourceKey": resource_key,
        "effect": effect,
        "grants": coerce(grants),
        **({"scope": coerce(scope)} if scope else {}),
    }
    with client() as gw:
        gw.set_policy(agent_or_default(agent), rule)
    console.print(f"{resource_type}:{resource_key} {effect} saved.", markup=False)


@policy_app.command("delete")
def policy_delete(
    resource_key: str,
    agent: str | None = AGENT,
    resource_type: str = typer.Option("tool", "--resource-type"),
    effect: str | None = typer.Option(None, "--effect"),
) -> None:
    """Delete rules of a resource."""
    with client() as gw:
        gw.delete_policy(agent_or_default(agent), resource_type, resource_key, effect)
    console.print(f"{resource_type}:{resource_key} deleted.", markup=False)


@approvals_app.command("list")
def approvals_list(
    agent: str | None = AGENT,
    status: str | None = typer.Option("pending", "--status", help="pending, approved, rejected or expired."),
    as_json: bool = JSON,
) -> None:
    """List approval requests."""
    with client() as gw:
        found = gw.list_approvals(agent_or_default(agent), status)
    table(found, ["shortId", "requesterId", "resourceType", "resourceKey", "status", "createdAt"], as_json)


@approvals_app.command("review")
def approvals_review(
    request: str = typer.Argument(..., help="Request id, or its short number (12 or #12)."),
    decision: str = typer.Argument(..., help="approved or rejected."),
    agent: str | None = AGENT,
    resolution: str = typer.Option("once", "--resolution", help="once, or persistent (adds an allow rule)."),
    reason: str | None = typer.Option(None, "--reason"),
) -> None:
    """Approve or reject a request."""
    with client() as gw:
        result = gw.review_approval(
            agent_or_default(agent), request, decision, resolution=resolution, reason=reason
        )
    console.print(f"#{result['shortId']} {result['status']}", markup=False)
