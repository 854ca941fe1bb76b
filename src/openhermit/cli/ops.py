"""`hermit status|stats|doctor|logs`."""

from __future__ import annotations

import shutil
import sys
import time

import typer

from openhermit.cli.context import client, console, emit, settings
from openhermit.errors import ConfigError
from openhermit.sdk import GatewayError

JSON = typer.Option(False, "--json", help="Print JSON.")


def status(as_json: bool = JSON) -> None:
    """Is the gateway up, and what is it doing."""
    with client(timeout=5) as gw:
        health = gw.health()
        stats = gw.stats()
    if as_json:
        emit({"health": health, "stats": stats}, True)
        return
    console.print(
        f"gateway: [green]ok[/green] at {settings().effective_gateway_url} (up {stats['uptime']:.0f}s)"
    )
    counts = stats["counts"]
    console.print(
        f"agents: {counts['agents']} ({stats['agents']['running']} loaded)  sessions: {counts['sessions']}  "
        f"events: {counts['sessionEvents']}  users: {counts['users']}"
    )


def stats(as_json: bool = JSON) -> None:
    """Gateway statistics (memory, counts, usage)."""
    with client(timeout=5) as gw:
        emit(gw.stats(), as_json or True)


def doctor() -> None:
    """Check the installation; each check says ok, warn or fail, and how to fix it."""
    failed = False

    def report(state: str, name: str, detail: str) -> None:
        nonlocal failed
        colour = {"ok": "green", "warn": "yellow", "fail": "red"}[state]
        failed = failed or state == "fail"
        console.print(f"[{colour}]{state:4}[/{colour}] {name}: {detail}")

    report("ok" if sys.version_info >= (3, 11) else "fail", "python", sys.version.split()[0])
    try:
        current = settings()
    except ConfigError as exc:
        report("fail", "configuration", f"{exc.message}")
        raise typer.Exit(1) from None
    report(
        "ok" if current.env_file.is_file() else "warn",
        "setup",
        str(current.env_file) if current.env_file.is_file() else "no .env yet; run: hermit setup",
    )
    report("ok", "database", "DATABASE_URL" if current.database_url else f"embedded, in {current.pgdata}")
    report(
        "ok" if current.admin_token else "warn",
        "admin token",
        "set" if current.admin_token else "GATEWAY_ADMIN_TOKEN unset; run: hermit setup",
    )
    report(
        "ok" if current.secrets_key else "warn",
        "secrets key",
        "set" if current.secrets_key else "unset: secrets are plaintext files; run: hermit setup",
    )
    report(
        "ok" if shutil.which("bwrap") else "warn",
        "bubblewrap",
        "found"
        if shutil.which("bwrap")
        else "not installed (apt-get install bubblewrap) for the local sandbox",
    )
    try:
        with client(timeout=3) as gw:
            gw.health()
        report("ok", "gateway", f"answering at {current.effective_gateway_url}")
    except GatewayError as exc:
        report("fail", "gateway", f"{exc} — start it with: hermit gateway start")
    if failed:
        raise typer.Exit(1)


def logs(
    lines: int = typer.Option(50, "--lines", "-n", help="How many lines."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep printing new lines."),
) -> None:
    """Recent gateway log lines."""
    seen: set[tuple[str, str]] = set()
    with client(timeout=5) as gw:
        while True:
            for line in gw.logs(lines):
                key = (line["timestamp"], line["message"])
                if key not in seen:
                    seen.add(key)
                    console.print(f"{line['timestamp']} {line['message']}", markup=False, highlight=False)
            if not follow:
                return
            time.sleep(1.0)
