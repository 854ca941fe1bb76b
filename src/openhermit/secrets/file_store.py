"""Plaintext per-agent `secrets.json` files, for development without a secrets key.

Layout: `$OPENHERMIT_HOME/agents/<agentId>/secrets.json`, an object of
`NAME: value` or `NAME: {"value": ..., "passThrough": bool}`. Files are written 0600.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from openhermit.errors import NotFound
from openhermit.protocol.secrets import SecretInfo, check_secret_name, mask_secret

FILE_NAME = "secrets.json"


def read_secrets_file(path: Path) -> dict[str, tuple[str, bool]]:
    """Parse a secrets file into `{name: (value, pass_through)}`; missing file → empty."""
    if not path.is_file():
        return {}
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8") or "{}")
    parsed: dict[str, tuple[str, bool]] = {}
    for name, entry in raw.items():
        if isinstance(entry, dict):
            parsed[name] = (str(entry.get("value", "")), bool(entry.get("passThrough", False)))
        else:
            parsed[name] = (str(entry), False)
    return parsed


def _write(path: Path, secrets: dict[str, tuple[str, bool]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {name: {"value": value, "passThrough": pt} for name, (value, pt) in sorted(secrets.items())}
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(body, handle, indent=2)
    tmp.replace(path)


class FileSecretStore:
    persistent_in_database = False

    def __init__(self, home: Path) -> None:
        self._home = home
        self._lock = asyncio.Lock()
        self._parsed: dict[str, tuple[tuple[int, int, int] | None, dict[str, tuple[str, bool]]]] = {}

    def path(self, agent_id: str) -> Path:
        return self._home / "agents" / agent_id / FILE_NAME

    async def _read(self, agent_id: str) -> dict[str, tuple[str, bool]]:
        """The parsed file, read again only when its inode, size or mtime changed (a hand edit
        is seen at once; a turn costs one `stat`)."""
        path = self.path(agent_id)
        try:
            status = path.stat()
            signature: tuple[int, int, int] | None = (status.st_ino, status.st_size, status.st_mtime_ns)
        except FileNotFoundError:
            signature = None
        cached = self._parsed.get(agent_id)
        if cached is not None and cached[0] == signature:
            return dict(cached[1])
        parsed = await asyncio.to_thread(read_secrets_file, path) if signature is not None else {}
        self._parsed[agent_id] = (signature, parsed)
        return dict(parsed)

    async def list(self, agent_id: str) -> dict[str, SecretInfo]:
        return {
            n: SecretInfo(masked=mask_secret(v), pass_through=pt)
            for n, (v, pt) in (await self._read(agent_id)).items()
        }

    async def get(self, agent_id: str, name: str) -> str | None:
        entry = (await self._read(agent_id)).get(name)
        return entry[0] if entry else None

    async def values(self, agent_id: str) -> dict[str, str]:
        return {n: v for n, (v, _) in (await self._read(agent_id)).items()}

    async def set(
        self, agent_id: str, name: str, value: str | None, pass_through: bool | None = None
    ) -> None:
        check_secret_name(name)
        async with self._lock:
            secrets = await self._read(agent_id)
            if value is None:
                if name not in secrets or pass_through is None:
                    raise NotFound(f"Secret {name} does not exist.")
                secrets[name] = (secrets[name][0], pass_through)
            else:
                previous = secrets.get(name, ("", False))[1]
                secrets[name] = (value, previous if pass_through is None else pass_through)
            await asyncio.to_thread(_write, self.path(agent_id), secrets)

    async def delete(self, agent_id: str, name: str) -> bool:
        async with self._lock:
            secrets = await self._read(agent_id)
            if secrets.pop(name, None) is None:
                return False
            await asyncio.to_thread(_write, self.path(agent_id), secrets)
            return True

    async def pass_through(self, agent_id: str) -> dict[str, str]:
        return {n: v for n, (v, pt) in (await self._read(agent_id)).items() if pt}
