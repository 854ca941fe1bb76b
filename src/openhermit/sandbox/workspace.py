"""File operations on a workspace folder of the gateway's machine, seen from inside a sandbox.

Backends whose workspace is a local folder (local, host, docker) share this: sandbox paths are
translated to host paths, and every resolved path (symlinks followed) must stay inside the folder.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import shutil
import stat as st
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from openhermit.sandbox.base import SKILLS_DIR, FileInfo, SandboxFileNotFound, SandboxPathError, SkillBundle


class WorkspaceFiles:
    """`read_file`/`write_file`/`list_files`/`stat`/`delete`/`sync_skills` on `root`, which the
    sandbox sees at `agent_home`. With `owner`, written files are chowned to that uid/gid."""

    def __init__(self, root: Path, agent_home: str, owner: tuple[int, int] | None = None) -> None:
        self.root = root
        self.agent_home = agent_home
        self.owner = owner

    # Paths ---------------------------------------------------------------------------------
    def relative(self, path: str) -> str:
        """The sandbox path relative to `agent_home` ("." for the home itself)."""
        joined = posixpath.normpath(posixpath.join(self.agent_home, path))
        if joined != self.agent_home and not joined.startswith(self.agent_home.rstrip("/") + "/"):
            raise SandboxPathError(f"The path {path!r} is outside the agent's home {self.agent_home}.")
        return posixpath.relpath(joined, self.agent_home)

    def host_path(self, path: str, *, follow_last: bool = True) -> Path:
        """The host path for a sandbox path; symlinks may not lead outside the workspace."""
        rel = self.relative(path)
        root = os.path.realpath(self.root)
        if rel == ".":
            return Path(root)
        candidate = self.root / rel
        parent = os.path.realpath(candidate.parent)
        resolved = os.path.realpath(candidate) if follow_last else os.path.join(parent, candidate.name)
        for real in (parent, resolved):
            if real != root and not real.startswith(root + os.sep):
                raise SandboxPathError(f"The path {path!r} leads outside the agent's home.")
        return Path(resolved)

    def _info(self, host: Path) -> FileInfo:
        try:
            meta = host.lstat()
        except FileNotFoundError:
            raise SandboxFileNotFound(f"No such file: {self._sandbox_rel(host)}") from None
        kind = (
            "symlink"
            if st.S_ISLNK(meta.st_mode)
            else "dir"
            if st.S_ISDIR(meta.st_mode)
            else "file"
            if st.S_ISREG(meta.st_mode)
            else "other"
        )
        return FileInfo(
            path=self._sandbox_rel(host),
            kind=kind,
            size=meta.st_size if kind == "file" else 0,
            modified=datetime.fromtimestamp(meta.st_mtime, UTC),
        )

    def _sandbox_rel(self, host: Path) -> str:
        return os.path.relpath(host, os.path.realpath(self.root))

    def _chown(self, host: Path) -> None:
        if self.owner is not None:
            os.chown(host, *self.owner, follow_symlinks=False)

    # Blocking operations, run in a thread ----------------------------------------------------
    def _read(self, path: str) -> bytes:
        host = self.host_path(path)
        if host.is_dir():
            raise SandboxPathError(f"{path} is a folder.")
        try:
            return host.read_bytes()
        except FileNotFoundError:
            raise SandboxFileNotFound(f"No such file: {path}") from None

    def _write(self, path: str, data: bytes, mode: int | None) -> None:
        host = self.host_path(path)
        if self.relative(path) == "." or host.is_dir():
            raise SandboxPathError(f"{path} is a folder.")
        missing = []
        parent = host.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        host.parent.mkdir(parents=True, exist_ok=True)
        for folder in missing:
            self._chown(folder)
        host.write_bytes(data)
        if mode is not None:
            host.chmod(mode)
        self._chown(host)

    def _list(self, path: str) -> list[FileInfo]:
        host = self.host_path(path)
        if not host.exists():
            raise SandboxFileNotFound(f"No such folder: {path}")
        if not host.is_dir():
            raise SandboxPathError(f"{path} is not a folder.")
        return sorted((self._info(child) for child in host.iterdir()), key=lambda f: f.path)

    def _stat(self, path: str) -> FileInfo:
        return self._info(self.host_path(path, follow_last=False))

    def _delete(self, path: str, recursive: bool) -> None:
        if self.relative(path) == ".":
            raise SandboxPathError("The agent's home itself cannot be deleted.")
        host = self.host_path(path, follow_last=False)
        if host.is_dir() and not host.is_symlink():
            if not recursive:
                raise SandboxPathError(f"{path} is a folder; delete it with recursive=true.")
            shutil.rmtree(host)
        else:
            try:
                host.unlink()
            except FileNotFoundError:
                raise SandboxFileNotFound(f"No such file: {path}") from None

    def _sync_skills(self, skills: Sequence[SkillBundle]) -> None:
        base = self.host_path(SKILLS_DIR)
        for source in ("system", "user"):
            folder = base / source
            if folder.exists():
                shutil.rmtree(folder)
        for skill in skills:
            for file in sorted(skill.source_path.rglob("*")):
                if file.is_file():
                    rel = file.relative_to(skill.source_path).as_posix()
                    self._write(f"{SKILLS_DIR}/{skill.source}/{skill.id}/{rel}", file.read_bytes(), None)

    def prepare(self) -> None:
        """Create the workspace folder (owned by `owner` when set)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.owner is not None and (self.root.stat().st_uid, self.root.stat().st_gid) != self.owner:
            for folder, dirs, files in os.walk(self.root):
                for name in [*dirs, *files]:
                    os.chown(os.path.join(folder, name), *self.owner, follow_symlinks=False)
            os.chown(self.root, *self.owner)

    # Async interface ------------------------------------------------------------------------
    async def read_file(self, path: str) -> bytes:
        return await asyncio.to_thread(self._read, path)

    async def write_file(self, path: str, data: bytes, *, mode: int | None = None) -> None:
        await asyncio.to_thread(self._write, path, data, mode)

    async def list_files(self, path: str = ".") -> list[FileInfo]:
        return await asyncio.to_thread(self._list, path)

    async def stat(self, path: str) -> FileInfo:
        return await asyncio.to_thread(self._stat, path)

    async def delete(self, path: str, *, recursive: bool = False) -> None:
        await asyncio.to_thread(self._delete, path, recursive)

    async def sync_skills(self, skills: Sequence[SkillBundle]) -> None:
        await asyncio.to_thread(self._sync_skills, skills)


class WorkspaceFileOps:
    """The file half of `Sandbox` for backends whose workspace is a local folder (`self.files`);
    writes `ensure` the sandbox first so the folder exists with the right owner."""

    files: WorkspaceFiles

    async def ensure(self) -> None:
        raise NotImplementedError

    async def read_file(self, path: str) -> bytes:
        return await self.files.read_file(path)

    async def write_file(self, path: str, data: bytes, *, mode: int | None = None) -> None:
        await self.ensure()
        await self.files.write_file(path, data, mode=mode)

    async def list_files(self, path: str = ".") -> list[FileInfo]:
        return await self.files.list_files(path)

    async def stat(self, path: str) -> FileInfo:
        return await self.files.stat(path)

    async def delete(self, path: str, *, recursive: bool = False) -> None:
        await self.files.delete(path, recursive=recursive)

    async def sync_skills(self, skills: Sequence[SkillBundle]) -> None:
        await self.ensure()
        await self.files.sync_skills(skills)
