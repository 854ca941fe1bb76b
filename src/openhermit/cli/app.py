"""The `hermit` command line."""

from __future__ import annotations

import typer

from openhermit import __version__
from openhermit.cli import (
    agents_cmd,
    config_cmd,
    db,
    gateway_cmd,
    instructions_cmd,
    mcp_cmd,
    ops,
    sandbox_cmd,
    schedules_cmd,
    skills_cmd,
)
from openhermit.cli.chat import chat
from openhermit.cli.context import errors
from openhermit.cli.setup import setup
from openhermit.cli.up import up
from openhermit.errors import ConfigError
from openhermit.sdk import GatewayError, GatewayUnreachable

app = typer.Typer(
    name="hermit",
    help="Operate an OpenHermit platform: gateway, agents, chat, configuration.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(gateway_cmd.app, name="gateway")
app.add_typer(agents_cmd.app, name="agents")
app.add_typer(config_cmd.app, name="config")
app.add_typer(instructions_cmd.app, name="instructions")
app.add_typer(schedules_cmd.app, name="schedules")
app.add_typer(sandbox_cmd.app, name="sandbox")
app.add_typer(skills_cmd.app, name="skills")
app.add_typer(mcp_cmd.app, name="mcp")
app.add_typer(db.app, name="db")
app.command("setup")(setup)
app.command("up")(up)
app.command("chat")(chat)
app.command("status")(ops.status)
app.command("stats")(ops.stats)
app.command("doctor")(ops.doctor)
app.command("logs")(ops.logs)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hermit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """OpenHermit: run fleets of AI agents as production services."""


def main() -> None:
    """Entry point: failures are one line on stderr and a non-zero exit, never a traceback."""
    try:
        app()
    except GatewayUnreachable as exc:
        errors.print(f"hermit: {exc} — is it running? (hermit gateway start)", markup=False, highlight=False)
        raise SystemExit(1) from None
    except GatewayError as exc:
        errors.print(f"hermit: {exc} ({exc.status} {exc.code})", markup=False, highlight=False)
        raise SystemExit(1) from None
    except ConfigError as exc:
        errors.print(f"hermit: {exc.message}", markup=False, highlight=False)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
