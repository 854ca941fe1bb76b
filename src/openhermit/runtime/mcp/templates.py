"""`${{SECRET_NAME}}` in MCP header and env values, expanded from the agent's secrets.

Expanded values are credentials: they go to the server and nowhere else. `redact` removes them
from any text that could reach a log, an event, the model or an API response."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from openhermit.store.repos.mcp_servers import McpServerRow

TEMPLATE = re.compile(r"\$\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
REDACTED = "[redacted]"


class MissingSecret(Exception):
    """A template names a secret the agent does not have (the message names only the secret)."""


@dataclass(frozen=True)
class ExpandedServer:
    """What a connection needs: the row with header and env values expanded."""

    row: McpServerRow
    headers: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()  # the expanded secret values, for redaction

    @property
    def fingerprint(self) -> str:
        """Changes whenever anything that shapes the connection changes (hash, not the values)."""
        shape = [self.row.transport, self.row.url, self.row.command, self.row.args, self.headers, self.env]
        return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()


def _expand(value: str, secrets: Mapping[str, str], used: set[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in secrets:
            raise MissingSecret(f"The secret {name} used by this MCP server is not set for this agent.")
        used.add(secrets[name])
        return secrets[name]

    return TEMPLATE.sub(replace, value)


def expand(row: McpServerRow, secrets: Mapping[str, str]) -> ExpandedServer:
    used: set[str] = set()
    headers = {k: _expand(v, secrets, used) for k, v in row.headers.items()}
    env = {k: _expand(v, secrets, used) for k, v in row.env.items()}
    return ExpandedServer(row, headers, env, tuple(sorted((s for s in used if s), key=len, reverse=True)))


def redact(text: str, secrets: Iterable[str]) -> str:
    for value in secrets:
        if len(value) >= 4:
            text = text.replace(value, REDACTED)
    return text
