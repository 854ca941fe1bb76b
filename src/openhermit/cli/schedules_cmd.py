"""`hermit schedules …`: cron and one-shot jobs of an agent, and their runs."""

from __future__ import annotations

from typing import Any

import typer

from openhermit.cli.context import agent_or_default, client, console, emit, fail, table

app = typer.Typer(
    help="Scheduled prompts (cron or one-shot) of an agent, and their runs.", no_args_is_help=True
)
AGENT = typer.Option(None, "--agent", "-a", help="Agent id (default: OPENHERMIT_AGENT_ID or main).")
JSON = typer.Option(False, "--json", help="Print JSON.")
COLUMNS = ["scheduleId", "type", "status", "when", "nextRunAt", "runCount", "consecutiveErrors", "prompt"]


def _when(row: dict[str, Any]) -> str:
    if row["type"] == "cron":
        zone = row.get("timezone") or "UTC"
        return f"{row['cronExpression']}" + ("" if zone == "UTC" else f" ({zone})")
    return str(row.get("runAt"))


@app.command("list")
def list_schedules(
    agent: str | None = AGENT,
    status: str | None = typer.Option(None, "--status", help="active, paused, completed or failed."),
    all_agents: bool = typer.Option(False, "--all", help="Every agent's schedules (admin)."),
    as_json: bool = JSON,
) -> None:
    """List schedules with their next fire and error count."""
    with client() as gw:
        rows = gw.list_schedules(None if all_agents else agent_or_default(agent), status)
    if as_json:
        emit(rows, True)
        return
    view = [{**r, "when": _when(r), "prompt": r["prompt"][:50].replace("\n", " ")} for r in rows]
    table(view, (["agentId"] if all_agents else []) + COLUMNS, False)


@app.command("create")
def create(
    prompt: str = typer.Option(..., "--prompt", "-p", help="What the agent is asked at each run."),
    kind: str = typer.Option("cron", "--type", help="cron or once."),
    cron: str | None = typer.Option(
        None, "--cron", help="Cron expression: 5 fields, or 6 with seconds first (type cron)."
    ),
    timezone: str | None = typer.Option(None, "--timezone", "--tz", help="IANA time zone (default UTC)."),
    run_at: str | None = typer.Option(None, "--run-at", help="ISO-8601 time with a zone (type once)."),
    schedule_id: str | None = typer.Option(None, "--id", help="Schedule id (default: generated)."),
    ephemeral: bool = typer.Option(False, "--ephemeral", help="A new session for every run."),
    deliver_to: str | None = typer.Option(
        None, "--deliver-to", help="Also post each answer to this session."
    ),
    timeout: int | None = typer.Option(None, "--timeout", help="Run time limit in seconds."),
    max_iterations: int | None = typer.Option(None, "--max-iterations", help="At most this many tool calls."),
    concurrency: str | None = typer.Option(
        None, "--concurrency", help="skip (default) or queue: a fire while the last run still runs."
    ),
    model: str | None = typer.Option(None, "--model", help="Model id for these runs."),
    agent: str | None = AGENT,
    as_json: bool = JSON,
) -> None:
    """Create a schedule; bad expressions, zones or past times are refused at once."""
    if kind not in ("cron", "once"):
        raise fail("--type is cron or once")
    body: dict[str, Any] = {"type": kind, "prompt": prompt}
    optional = {"cronExpression": cron, "timezone": timezone, "runAt": run_at, "id": schedule_id}
    body.update({k: v for k, v in optional.items() if v is not None})
    if ephemeral:
        body["sessionMode"] = {"kind": "ephemeral"}
    if deliver_to:
        body["delivery"] = {"kind": "session", "sessionId": deliver_to}
    policy = {
        "timeout_seconds": timeout,
        "max_iterations": max_iterations,
        "concurrency": concurrency,
        "model": model,
    }
    if any(v is not None for v in policy.values()):
        body["policy"] = {k: v for k, v in policy.items() if v is not None}
    with client() as gw:
        created = gw.create_schedule(agent_or_default(agent), body)
    if as_json:
        emit(created, True)
    else:
        console.print(f"created {created['scheduleId']}: next run {created['nextRunAt']}")


def _set_status(schedule_id: str, status: str, agent: str | None) -> None:
    with client() as gw:
        updated = gw.update_schedule(agent_or_default(agent), schedule_id, {"status": status})
    console.print(f"{schedule_id}: {updated['status']}, next run {updated.get('nextRunAt')}")


@app.command("pause")
def pause(schedule_id: str, agent: str | None = AGENT) -> None:
    """Stop firing until resumed."""
    _set_status(schedule_id, "paused", agent)


@app.command("resume")
def resume(schedule_id: str, agent: str | None = AGENT) -> None:
    """Fire again from the next due time (missed fires while paused are not run)."""
    _set_status(schedule_id, "active", agent)


@app.command("delete")
def delete(schedule_id: str, agent: str | None = AGENT) -> None:
    """Delete a schedule and its run history."""
    with client() as gw:
        gw.delete_schedule(agent_or_default(agent), schedule_id)
    console.print(f"{schedule_id}: deleted")


@app.command("trigger")
def trigger(schedule_id: str, agent: str | None = AGENT) -> None:
    """Run a schedule now (it starts within a second)."""
    with client() as gw:
        gw.trigger_schedule(agent_or_default(agent), schedule_id)
    console.print(f"{schedule_id}: triggered")


@app.command("runs")
def runs(
    schedule_id: str,
    limit: int = typer.Option(20, "--limit", "-n", help="How many recent runs."),
    agent: str | None = AGENT,
    as_json: bool = JSON,
) -> None:
    """Recent runs: status, session, duration and error."""
    with client() as gw:
        rows = gw.schedule_runs(agent_or_default(agent), schedule_id, limit)
    table(rows, ["id", "status", "fireAt", "startedAt", "durationMs", "sessionId", "error"], as_json)
