"""An in-memory sandbox: files in a dict, no command execution. For tests of code that only
needs the sandbox interface (attachments, skills sync) without a real backend."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from openhermit.sandbox.base import (
    SKILLS_DIR,
    Capabilities,
    ExecResult,
    FileInfo,
    SandboxFileNotFound,
    SandboxPathError,
    SkillBundle,
)


@dataclass
class FakeSandbox:
    """Implements `openhermit.sandbox.base.Sandbox`; `exec` only records the command."""

    id: str = "fake"
    type: str = "fake"
    agent_home: str = "/home/agent"
    capabilities: Capabilities = field(
        default_factory=lambda: Capabilities(isolated=True, network=False, persistent=True, local_files=False)
    )
    files: dict[str, bytes] = field(default_factory=dict)  # relative path -> content
    commands: list[str] = field(default_factory=list)
    ensured: int = 0
    stopped: bool = False

    def _rel(self, path: str) -> str:
        joined = posixpath.normpath(posixpath.join(self.agent_home, path))
        if joined != self.agent_home and not joined.startswith(self.agent_home + "/"):
            raise SandboxPathError(f"The path {path!r} is outside the agent's home.")
        return posixpath.relpath(joined, self.agent_home)

    async def ensure(self) -> None:
        self.ensured += 1

    async def exec(
        self,
        command: str,
        *,
        cwd: str | None = None,
        timeout_seconds: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        self.commands.append(command)
        return ExecResult(stdout="", stderr="the fake sandbox runs no commands", exit_code=127, duration_ms=0)

    async def read_file(self, path: str) -> bytes:
        rel = self._rel(path)
        if rel not in self.files:
            raise SandboxFileNotFound(f"No such file: {path}")
        return self.files[rel]

    async def write_file(self, path: str, data: bytes, *, mode: int | None = None) -> None:
        self.files[self._rel(path)] = bytes(data)

    async def list_files(self, path: str = ".") -> list[FileInfo]:
        rel = self._rel(path)
        prefix = "" if rel == "." else rel + "/"
        now = datetime.now(UTC)
        seen: dict[str, FileInfo] = {}
        for name, data in self.files.items():
            if not name.startswith(prefix):
                continue
            head, _, rest = name[len(prefix) :].partition("/")
            entry = prefix + head
            seen[entry] = FileInfo(entry, "dir" if rest else "file", 0 if rest else len(data), now)
        if not seen and rel != ".":
            raise SandboxFileNotFound(f"No such folder: {path}")
        return sorted(seen.values(), key=lambda f: f.path)

    async def stat(self, path: str) -> FileInfo:
        rel = self._rel(path)
        if rel in self.files:
            return FileInfo(rel, "file", len(self.files[rel]), datetime.now(UTC))
        if any(name.startswith(rel + "/") for name in self.files):
            return FileInfo(rel, "dir", 0, datetime.now(UTC))
        raise SandboxFileNotFound(f"No such file: {path}")

    async def delete(self, path: str, *, recursive: bool = False) -> None:
        rel = self._rel(path)
        inside = [name for name in self.files if name.startswith(rel + "/")]
        if rel in self.files:
            del self.files[rel]
        elif inside and recursive:
            for name in inside:
                del self.files[name]
        elif inside:
            raise SandboxPathError(f"{path} is a folder; delete it with recursive=true.")
        else:
            raise SandboxFileNotFound(f"No such file: {path}")

    async def sync_skills(self, skills: Sequence[SkillBundle]) -> None:
        managed = (f"{SKILLS_DIR}/system/", f"{SKILLS_DIR}/user/")  # workspace skills stay
        for name in [n for n in self.files if n.startswith(managed)]:
            del self.files[name]
        for skill in skills:
            for file in sorted(skill.source_path.rglob("*")):
                if file.is_file():
                    rel = file.relative_to(skill.source_path).as_posix()
                    self.files[f"{SKILLS_DIR}/{skill.source}/{skill.id}/{rel}"] = file.read_bytes()

    async def shutdown(self) -> None:
        self.stopped = True


@dataclass
class FakeSandboxResolver:
    """One `FakeSandbox` per (agent, alias), created on first use."""

    sandboxes: dict[tuple[str, str], FakeSandbox] = field(default_factory=dict)

    async def for_agent(self, agent_id: str, alias: str | None = None) -> FakeSandbox:
        key = (agent_id, alias or "default")
        if key not in self.sandboxes:
            self.sandboxes[key] = FakeSandbox(id=f"fake-{agent_id}-{key[1]}")
        return self.sandboxes[key]
