"""The one interface every sandbox backend implements.

A sandbox is where an agent's external state lives (its workspace files) and where its commands
run. Paths given to a sandbox are sandbox paths: relative ones resolve against `agent_home`,
absolute ones must stay inside it (a backend refuses anything else with `SandboxPathError`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

from openhermit.errors import Invalid, NotFound

OUTPUT_CAP_BYTES = 256 * 1024
DEFAULT_EXEC_TIMEOUT_SECONDS = 120.0
SKILLS_DIR = ".openhermit/skills"


def cap_output(data: bytes | str | None) -> tuple[str, bool]:
    """Command output cut at `OUTPUT_CAP_BYTES`, and whether it was cut."""
    raw = data.encode() if isinstance(data, str) else (data or b"")
    return raw[:OUTPUT_CAP_BYTES].decode("utf-8", "replace"), len(raw) > OUTPUT_CAP_BYTES


class SandboxPathError(Invalid):
    """A path escapes the agent's home, or is otherwise not allowed."""

    code = "invalid_path"


class SandboxFileNotFound(NotFound):
    """The path does not exist inside the sandbox."""


@dataclass(frozen=True)
class ExecResult:
    stdout: str
    stderr: str
    exit_code: int
    duration_ms: int
    timed_out: bool = False
    truncated: bool = False  # stdout or stderr was cut at OUTPUT_CAP_BYTES


@dataclass(frozen=True)
class FileInfo:
    path: str  # sandbox path, relative to agent_home when inside it
    kind: Literal["file", "dir", "symlink", "other"]
    size: int
    modified: datetime


@dataclass(frozen=True)
class SkillBundle:
    """An enabled skill to place at `<agent_home>/.openhermit/skills/<source>/<id>/`."""

    id: str
    source: Literal["system", "user"]
    source_path: Path  # a folder on the gateway's machine holding SKILL.md


@dataclass(frozen=True)
class Capabilities:
    """What a backend offers; core code branches on these, never on backend names."""

    isolated: bool  # commands cannot see the gateway's files, environment or other agents
    network: bool  # commands may open network connections
    persistent: bool  # files survive `shutdown`
    local_files: bool  # the workspace is a folder on the gateway's machine
    extra: Mapping[str, bool] = field(default_factory=dict)


@runtime_checkable
class Sandbox(Protocol):
    """One agent's sandbox, addressed by (agent, alias)."""

    id: str
    type: str
    agent_home: str
    capabilities: Capabilities

    async def ensure(self) -> None:
        """Provision or reconnect; idempotent. Called before the first exec or file op."""
        ...

    async def exec(
        self,
        command: str,
        *,
        cwd: str | None = None,
        timeout_seconds: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        """Run `command` with `sh -c`; kill it and its children after `timeout_seconds`."""
        ...

    async def read_file(self, path: str) -> bytes: ...

    async def write_file(self, path: str, data: bytes, *, mode: int | None = None) -> None:
        """Create or replace a file, making parent folders."""
        ...

    async def list_files(self, path: str = ".") -> list[FileInfo]: ...

    async def stat(self, path: str) -> FileInfo: ...

    async def delete(self, path: str, *, recursive: bool = False) -> None: ...

    async def sync_skills(self, skills: Sequence[SkillBundle]) -> None:
        """Make `.openhermit/skills/{system,user}/` hold exactly these skills."""
        ...

    async def shutdown(self) -> None:
        """Stop what runs; files stay when `capabilities.persistent`."""
        ...


class SandboxResolver(Protocol):
    """How the runtime reaches an agent's sandbox (the default one when `alias` is None)."""

    async def for_agent(self, agent_id: str, alias: str | None = None) -> Sandbox: ...


@runtime_checkable
class TurnScopedResolver(SandboxResolver, Protocol):
    """A resolver that starts `session` sandboxes with a turn and stops them after it."""

    async def turn_started(self, agent_id: str, revision: object = None) -> None:
        """`revision` changes whenever the agent's sandbox rows may have: an unchanged one lets
        the resolver skip re-reading them."""
        ...

    async def turn_finished(self, agent_id: str) -> None: ...
