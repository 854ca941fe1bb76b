"""What backends whose files live in the sandbox itself (e2b, daytona) share: confining paths
to the agent's home, deleting through `stat` + `_remove`, and placing skills with `write_file`."""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Sequence

from openhermit.sandbox.base import SKILLS_DIR, FileInfo, SandboxFileNotFound, SandboxPathError, SkillBundle


class RemoteFileOps:
    agent_home: str

    async def ensure(self) -> None:
        raise NotImplementedError

    async def stat(self, path: str) -> FileInfo:
        raise NotImplementedError

    async def write_file(self, path: str, data: bytes, *, mode: int | None = None) -> None:
        raise NotImplementedError

    async def _remove(self, target: str, *, is_dir: bool) -> None:
        """Delete an absolute sandbox path (a folder with everything in it)."""
        raise NotImplementedError

    def _path(self, path: str) -> str:
        """The absolute sandbox path, which must stay inside the agent's home."""
        joined = posixpath.normpath(posixpath.join(self.agent_home, path))
        if joined != self.agent_home and not joined.startswith(self.agent_home.rstrip("/") + "/"):
            raise SandboxPathError(f"The path {path!r} is outside the agent's home {self.agent_home}.")
        return joined

    async def delete(self, path: str, *, recursive: bool = False) -> None:
        target = self._path(path)
        if target == self.agent_home:
            raise SandboxPathError("The agent's home itself cannot be deleted.")
        info = await self.stat(path)
        if info.kind == "dir" and not recursive:
            raise SandboxPathError(f"{path} is a folder; delete it with recursive=true.")
        await self._remove(target, is_dir=info.kind == "dir")

    async def sync_skills(self, skills: Sequence[SkillBundle]) -> None:
        await self.ensure()
        for source in ("system", "user"):
            with contextlib.suppress(SandboxFileNotFound):
                await self.delete(f"{SKILLS_DIR}/{source}", recursive=True)
        for skill in skills:
            for file in sorted(skill.source_path.rglob("*")):
                if file.is_file():
                    rel = file.relative_to(skill.source_path).as_posix()
                    await self.write_file(f"{SKILLS_DIR}/{skill.source}/{skill.id}/{rel}", file.read_bytes())
