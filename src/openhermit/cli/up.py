"""`hermit up`: everything a laptop needs, in one command."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import typer

from openhermit.cli.context import client, console, fail
from openhermit.cli.daemon import Daemon
from openhermit.cli.setup import ensure_setup
from openhermit.config import load_settings
from openhermit.sdk import Conflict, GatewayError

DEFAULT_AGENT = "main"


def up(
    foreground: bool = typer.Option(
        True, "--foreground/--background", help="Stay attached (Ctrl-C stops all)."
    ),
) -> None:
    """Set up if needed, start PostgreSQL and the gateway, create agent `main`, print how to use it."""
    settings = load_settings()
    if not settings.env_file.is_file():
        ensure_setup()
        console.print(f"Wrote {settings.env_file}.")
        settings = load_settings()
    daemon = Daemon.gateway(settings)
    process: subprocess.Popen[bytes] | None = None
    if daemon.healthy():
        console.print("The gateway is already running.")
    elif foreground:
        process = subprocess.Popen([sys.executable, "-m", "openhermit.gateway"])
        deadline = time.monotonic() + 60
        while not daemon.healthy(timeout=1.0):
            if process.poll() is not None or time.monotonic() > deadline:
                raise fail("the gateway did not start; see the lines above")
            time.sleep(0.2)
    else:
        try:
            daemon.start()
        except RuntimeError as exc:
            raise fail(str(exc)) from None
    try:
        with client() as gw:
            try:
                gw.create_agent(DEFAULT_AGENT)
                console.print(f"Created agent {DEFAULT_AGENT}.")
            except Conflict:
                pass
    except GatewayError as exc:
        raise fail(str(exc)) from None
    url = settings.effective_gateway_url
    console.print(f"\nGateway:  {url}   (health: {url}/health, API docs: {url}/docs)")
    console.print(f"Token:    GATEWAY_ADMIN_TOKEN in {settings.env_file}")
    console.print(f"Chat:     hermit chat --agent {DEFAULT_AGENT}")
    console.print("Model:    hermit config secrets set OPENROUTER_API_KEY <key> --agent main")
    if process is None:
        return
    console.print("\nCtrl-C stops the gateway and PostgreSQL.")
    try:
        process.wait()
    except KeyboardInterrupt:
        process.send_signal(signal.SIGINT)
        process.wait()
