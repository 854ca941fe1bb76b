"""`e2b`: a cloud sandbox per agent sandbox, through the official `e2b` SDK.

`ensure` creates a sandbox from `template`; commands run through envd under `timeout -s KILL`;
files go through envd's file API. An E2B sandbox is not kept after `shutdown` (it is killed),
so `capabilities.persistent` is false. The API key is the config's `api_key` or, as the SDK
does, `E2B_API_KEY`.
"""

from __future__ import annotations

import contextlib
import posixpath
import shlex
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from openhermit.errors import Invalid, UpstreamError
from openhermit.sandbox.base import (
    Capabilities,
    ExecResult,
    FileInfo,
    SandboxFileNotFound,
    SandboxPathError,
    cap_output,
)
from openhermit.sandbox.registry import SandboxSpec, parse_config
from openhermit.sandbox.remote import RemoteFileOps

try:
    from e2b import AsyncSandbox, CommandExitException, FileType, NotFoundException, TimeoutException
    from e2b.exceptions import SandboxException
except ImportError:  # the optional extra is not installed
    AsyncSandbox = None


class E2BConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str = "base"
    username: str = "user"
    agent_home: str = Field("/home/user", pattern=r"^/")
    timeout_ms: int = Field(120_000, gt=0)  # per command
    sandbox_timeout_ms: int = Field(3_600_000, gt=0)  # the sandbox's lifetime without activity
    network: bool = True
    api_key: str | None = None
    api_url: str | None = None  # for self-hosted deployments and tests
    sandbox_url: str | None = None
    domain: str | None = None
    env: dict[str, str] = Field(default_factory=dict)


def unavailable_reason() -> str | None:
    if AsyncSandbox is None:
        return "the e2b SDK is not installed (pip install 'openhermit[e2b]')"
    return None


class E2BSandbox(RemoteFileOps):
    type = "e2b"

    def __init__(self, spec: SandboxSpec) -> None:
        self.config = parse_config(E2BConfig, spec, "e2b")
        self.id = spec.id
        self.spec = spec
        self.agent_home = self.config.agent_home
        self.capabilities = Capabilities(
            isolated=True, network=self.config.network, persistent=False, local_files=False
        )
        self.external_id: str | None = None
        self._box: Any = None

    def _opts(self) -> dict[str, Any]:
        keys = ("api_key", "api_url", "sandbox_url", "domain")
        return {k: getattr(self.config, k) for k in keys if getattr(self.config, k) is not None}

    def _info(self, entry: Any) -> FileInfo:
        kind = "dir" if entry.type == FileType.DIR else "file"
        if getattr(entry, "symlink_target", None):
            kind = "symlink"
        modified = getattr(entry, "modified_time", None) or datetime.now(UTC)
        return FileInfo(
            path=posixpath.relpath(entry.path, self.agent_home),
            kind=kind,
            size=entry.size if kind == "file" else 0,
            modified=modified,
        )

    async def ensure(self) -> None:
        if self._box is not None:
            return
        if AsyncSandbox is None:
            raise Invalid(unavailable_reason() or "")
        try:
            self._box = await AsyncSandbox.create(
                template=self.config.template,
                timeout=max(1, self.config.sandbox_timeout_ms // 1000),
                envs={**self.config.env, **self.spec.env},
                metadata={"openhermit.agent": self.spec.agent_id, "openhermit.sandbox": self.id},
                allow_internet_access=self.config.network,
                **self._opts(),
            )
        except SandboxException as exc:
            raise UpstreamError(f"E2B: {exc}") from None
        self.external_id = self._box.sandbox_id

    async def exec(
        self,
        command: str,
        *,
        cwd: str | None = None,
        timeout_seconds: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        await self.ensure()
        timeout = timeout_seconds or self.config.timeout_ms / 1000
        wrapped = f"timeout -s KILL {timeout:g} sh -c {shlex.quote(command)}"
        started = time.monotonic()
        try:
            result = await self._box.commands.run(
                wrapped,
                cwd=self._path(cwd or "."),
                envs=dict(env or {}),
                user=self.config.username,
                timeout=timeout + 10,
            )
        except CommandExitException as exc:
            result = exc
        except (SandboxException, TimeoutException) as exc:
            raise UpstreamError(f"E2B exec failed: {exc}") from None
        stdout, cut_out = cap_output(result.stdout)
        stderr, cut_err = cap_output(result.stderr)
        elapsed = time.monotonic() - started
        return ExecResult(
            stdout=stdout,
            stderr=stderr,
            exit_code=result.exit_code,
            duration_ms=int(elapsed * 1000),
            timed_out=result.exit_code in (124, 137) and elapsed >= timeout,
            truncated=cut_out or cut_err,
        )

    async def read_file(self, path: str) -> bytes:
        await self.ensure()
        try:
            return bytes(
                await self._box.files.read(self._path(path), format="bytes", user=self.config.username)
            )
        except NotFoundException:
            raise SandboxFileNotFound(f"No such file: {path}") from None

    async def write_file(self, path: str, data: bytes, *, mode: int | None = None) -> None:
        await self.ensure()
        target = self._path(path)
        if target == self.agent_home:
            raise SandboxPathError(f"{path} is a folder.")
        await self._box.files.write(target, data, user=self.config.username)

    async def list_files(self, path: str = ".") -> list[FileInfo]:
        await self.ensure()
        try:
            entries = await self._box.files.list(self._path(path), depth=1, user=self.config.username)
        except NotFoundException:
            raise SandboxFileNotFound(f"No such folder: {path}") from None
        return sorted((self._info(e) for e in entries), key=lambda f: f.path)

    async def stat(self, path: str) -> FileInfo:
        await self.ensure()
        try:
            return self._info(await self._box.files.get_info(self._path(path), user=self.config.username))
        except NotFoundException:
            raise SandboxFileNotFound(f"No such file: {path}") from None

    async def _remove(self, target: str, *, is_dir: bool) -> None:
        await self._box.files.remove(target, user=self.config.username)

    async def shutdown(self) -> None:
        """Kill the E2B sandbox (its files go with it)."""
        box, self._box = self._box, None
        if box is not None:
            with contextlib.suppress(SandboxException):
                await box.kill()


def create(spec: SandboxSpec) -> E2BSandbox:
    return E2BSandbox(spec)


create.unavailable_reason = unavailable_reason  # type: ignore[attr-defined]
