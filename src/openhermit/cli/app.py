"""The `hermit` command line."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer

from openhermit import __version__
from openhermit.cli import db

app = typer.Typer(
    name="hermit",
    help="Operate an OpenHermit platform: gateway, database, agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
gateway_app = typer.Typer(help="Run and manage the gateway process.", no_args_is_help=True)
app.add_typer(gateway_app, name="gateway")
app.add_typer(db.app, name="db")


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


@gateway_app.command("run")
def gateway_run() -> NoReturn:
    """Run the gateway in the foreground (embedded PostgreSQL unless DATABASE_URL is set). Ctrl-C stops it."""
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "openhermit.gateway"])


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        raise SystemExit(130) from None
