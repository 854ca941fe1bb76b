"""What every secret store offers. Values leave a store only through `values`/`get`."""

from __future__ import annotations

from typing import Protocol

from openhermit.protocol.secrets import SecretInfo


class SecretStore(Protocol):
    """Per-agent named secrets. Names follow `^[A-Za-z_][A-Za-z0-9_]*$`."""

    persistent_in_database: bool

    async def list(self, agent_id: str) -> dict[str, SecretInfo]:
        """Every secret of the agent, masked."""
        ...

    async def get(self, agent_id: str, name: str) -> str | None: ...

    async def values(self, agent_id: str) -> dict[str, str]:
        """Every secret value of the agent (for `${{NAME}}` expansion and redaction)."""
        ...

    async def set(
        self, agent_id: str, name: str, value: str | None, pass_through: bool | None = None
    ) -> None:
        """Create or replace a value; with `value=None`, only flip `pass_through` of an existing one."""
        ...

    async def delete(self, agent_id: str, name: str) -> bool: ...

    async def pass_through(self, agent_id: str) -> dict[str, str]:
        """Secrets marked pass-through: the only ones a sandbox may see, as env vars."""
        ...
