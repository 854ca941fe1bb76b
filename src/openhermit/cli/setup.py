"""`hermit setup`: write `$OPENHERMIT_HOME/gateway/.env` with generated credentials."""

from __future__ import annotations

import base64
import os
import secrets as random
from pathlib import Path

import typer

from openhermit.cli.context import console, fail, settings
from openhermit.config import load_settings
from openhermit.errors import ConfigError


def new_token() -> str:
    return base64.urlsafe_b64encode(random.token_bytes(24)).decode().rstrip("=")


def new_secrets_key() -> str:
    return base64.b64encode(random.token_bytes(32)).decode()


def read_env(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
    return values


def write_env(path: Path, values: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "# Written by `hermit setup`. The real environment wins over these values.\n" + "".join(
        f"{key}={value}\n" for key, value in values.items()
    )
    fd = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(body)
    path.with_suffix(".tmp").replace(path)


def ensure_setup(
    *, database_url: str | None = None, admin_token: str | None = None, force: bool = False
) -> Path:
    """Create or complete the .env file; existing values are kept unless given or `force`."""
    path = settings().env_file
    values = {} if force else read_env(path)
    if database_url:
        values["DATABASE_URL"] = database_url
    values["GATEWAY_ADMIN_TOKEN"] = admin_token or values.get("GATEWAY_ADMIN_TOKEN") or new_token()
    values.setdefault("GATEWAY_JWT_SECRET", new_token() + new_token())
    values.setdefault("OPENHERMIT_SECRETS_KEY", new_secrets_key())
    values["OPENHERMIT_TOKEN"] = values["GATEWAY_ADMIN_TOKEN"]
    write_env(path, values)
    return path


def setup(
    non_interactive: bool = typer.Option(
        False, "--non-interactive", help="Use flags and defaults; ask nothing."
    ),
    database_url: str | None = typer.Option(
        None, "--database-url", help="PostgreSQL URL; leave unset for the embedded server."
    ),
    admin_token: str | None = typer.Option(
        None, "--admin-token", help="Admin token (generated when not given)."
    ),
    force: bool = typer.Option(False, "--force", help="Start from scratch: regenerate every value."),
) -> None:
    """Write $OPENHERMIT_HOME/gateway/.env: admin token, JWT secret, secrets key, database."""
    if not non_interactive:
        database_url = (
            database_url
            or typer.prompt("PostgreSQL URL (empty for the embedded server)", default="", show_default=False)
            or None
        )
        admin_token = (
            admin_token
            or typer.prompt(
                "Admin token (empty to generate one)", default="", show_default=False, hide_input=True
            )
            or None
        )
    path = ensure_setup(database_url=database_url, admin_token=admin_token, force=force)
    try:
        load_settings()
    except ConfigError as exc:
        raise fail(f"the written configuration is invalid: {exc.message}") from None
    console.print(f"Wrote {path} (mode 0600).")
    console.print("Next: [bold]hermit gateway start[/bold], then [bold]hermit status[/bold].")
