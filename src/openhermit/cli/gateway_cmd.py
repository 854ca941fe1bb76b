"""`hermit gateway start|stop|run|status`."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer

from openhermit.cli.context import console, fail, settings
from openhermit.cli.daemon import Daemon

app = typer.Typer(help="Run and manage the gateway process.", no_args_is_help=True)


@app.command("run")
def run() -> NoReturn:
    """Run the gateway in the foreground (embedded PostgreSQL unless DATABASE_URL is set). Ctrl-C stops it."""
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "openhermit.gateway"])


@app.command("start")
def start() -> None:
    """Start the gateway in the background and wait until it answers /health."""
    daemon = Daemon.gateway(settings())
    if daemon.pid() is not None and daemon.healthy():
        console.print(f"The gateway is already running (pid {daemon.pid()}) at {daemon.health_url[:-7]}.")
        return
    with console.status("Starting the gateway…"):
        try:
            pid = daemon.start()
        except RuntimeError as exc:
            raise fail(str(exc)) from None
    console.print(f"Gateway running at {daemon.health_url[:-7]} (pid {pid}); log: {daemon.log_file}")


@app.command("stop")
def stop() -> None:
    """Stop the background gateway (and its embedded PostgreSQL)."""
    daemon = Daemon.gateway(settings())
    with console.status("Stopping the gateway…"):
        stopped = daemon.stop()
    console.print("Gateway stopped." if stopped else "The gateway was not running.")


@app.command("status")
def status() -> None:
    """Whether the background gateway runs and answers."""
    daemon = Daemon.gateway(settings())
    pid = daemon.pid()
    if daemon.healthy():
        console.print(f"running at {daemon.health_url[:-7]}" + (f" (pid {pid})" if pid else ""))
    elif pid:
        raise fail(f"process {pid} is running but {daemon.health_url} does not answer")
    else:
        raise fail("not running (start it with: hermit gateway start)")
