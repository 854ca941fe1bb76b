"""What every command needs: settings, a gateway client, and output for people or scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from openhermit.config import Settings, load_settings
from openhermit.sdk import GatewayClient

console = Console(soft_wrap=True)
errors = Console(stderr=True, soft_wrap=True)


def settings() -> Settings:
    return load_settings()


def client(timeout: float = 30.0) -> GatewayClient:
    """A client of the configured gateway, with `OPENHERMIT_TOKEN` (or the admin token)."""
    current = settings()
    token = current.token or current.admin_token
    return GatewayClient(
        current.effective_gateway_url, token.get_secret_value() if token else None, timeout=timeout
    )


def agent_option() -> Any:
    return typer.Option(None, "--agent", "-a", help="Agent id (default: OPENHERMIT_AGENT_ID or main).")


def agent_or_default(agent: str | None) -> str:
    return agent or settings().agent_id


def fail(message: str, code: int = 1) -> typer.Exit:
    errors.print(f"hermit: {message}", markup=False, highlight=False)
    return typer.Exit(code)


def emit(data: Any, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    elif isinstance(data, (dict, list)):
        console.print_json(json.dumps(data, default=str))
    else:
        console.print(str(data), markup=False)


def table(
    rows: Iterable[dict[str, Any]], columns: Sequence[str], as_json: bool, title: str | None = None
) -> None:
    rows = list(rows)
    if as_json:
        emit(rows, True)
        return
    view = Table(title=title)
    for column in columns:
        view.add_column(column)
    for row in rows:
        view.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    console.print(view)
