"""`daytona`: a Daytona sandbox per agent sandbox, through the official `daytona` SDK.

`ensure` creates the sandbox from `snapshot` (or the account's default); commands run through the
toolbox's `process/execute` under `timeout -s KILL`, with stdout and stderr separated in the
sandbox (the toolbox returns them combined); files go through the toolbox file API. The sandbox
is deleted at `shutdown`, so `capabilities.persistent` is false. The API key is the config's
`api_key` or, as the SDK does, `DAYTONA_API_KEY`.
"""

from __future__ import annotations

import contextlib
import posixpath
import shlex
import time
import uuid
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
    from daytona import (
        AsyncDaytona,
        CreateSandboxFromSnapshotParams,
        DaytonaConfig,
        DaytonaError,
        DaytonaNotFoundError,
    )
except ImportError:  # the optional extra is not installed
    AsyncDaytona = None


class DaytonaSandboxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    snapshot: str | None = None
    username: str = "daytona"
    agent_home: str = Field("/home/daytona", pattern=r"^/")
    auto_stop_interval_minutes: int | None = Field(None, ge=0)
    timeout_seconds: int = Field(120, gt=0)
    network: bool = True
    env: dict[str, str] = Field(default_factory=dict)
    api_key: str | None = None
    api_url: str | None = None
    target: str | None = None


def unavailable_reason() -> str | None:
    if AsyncDaytona is None:
        return "the daytona SDK is not installed (pip install 'openhermit[daytona]')"
    return None


def _split(output: str, marker: str) -> tuple[str, str, int | None]:
    """`<stdout>MARK<stderr>MARK<code>` as printed by the wrapped command."""
    parts = output.rsplit(marker, 2)
    if len(parts) != 3:
        return output, "", None
    code = parts[2].strip()
    return parts[0], parts[1], int(code) if code.lstrip("-").isdigit() else None


class DaytonaSandbox(RemoteFileOps):
    type = "daytona"

    def __init__(self, spec: SandboxSpec) -> None:
        self.config = parse_config(DaytonaSandboxConfig, spec, "daytona")
        self.id = spec.id
        self.spec = spec
        self.agent_home = self.config.agent_home
        self.capabilities = Capabilities(
            isolated=True, network=self.config.network, persistent=False, local_files=False
        )
        self.external_id: str | None = None
        self._client: Any = None
        self._box: Any = None

    def _info(self, entry: Any, path: str) -> FileInfo:
        modified = datetime.now(UTC)
        if getattr(entry, "modified_at", None):
            with contextlib.suppress(ValueError):
                modified = datetime.fromisoformat(entry.modified_at.replace("Z", "+00:00"))
        return FileInfo(
            path=posixpath.relpath(path, self.agent_home),
            kind="dir" if entry.is_dir else "file",
            size=0 if entry.is_dir else entry.size,
            modified=modified,
        )

    async def ensure(self) -> None:
        if self._box is not None:
            return
        if AsyncDaytona is None:
            raise Invalid(unavailable_reason() or "")
        options = {k: getattr(self.config, k) for k in ("api_key", "api_url", "target")}
        self._client = AsyncDaytona(DaytonaConfig(**{k: v for k, v in options.items() if v is not None}))
        params = CreateSandboxFromSnapshotParams(
            snapshot=self.config.snapshot,
            os_user=self.config.username,
            env_vars={**self.config.env, **self.spec.env},
            labels={"openhermit.agent": self.spec.agent_id, "openhermit.sandbox": self.id},
            auto_stop_interval=self.config.auto_stop_interval_minutes,
            network_block_all=not self.config.network,
        )
        try:
            self._box = await self._client.create(params)
        except DaytonaError as exc:
            await self._close_client()
            raise UpstreamError(f"Daytona: {exc}") from None
        self.external_id = self._box.id

    async def exec(
        self,
        command: str,
        *,
        cwd: str | None = None,
        timeout_seconds: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        await self.ensure()
        timeout = int(timeout_seconds or self.config.timeout_seconds)
        tag = uuid.uuid4().hex
        marker, out, err = f"\x1e{tag}\x1e", f"/tmp/.oh-{tag}.out", f"/tmp/.oh-{tag}.err"
        wrapped = (
            f"timeout -s KILL {timeout} sh -c {shlex.quote(command)} >{out} 2>{err}; code=$?; "
            f"cat {out}; printf '{marker}'; cat {err}; printf '{marker}%d' $code; rm -f {out} {err}"
        )
        started = time.monotonic()
        try:
            response = await self._box.process.exec(
                wrapped, cwd=self._path(cwd or "."), env=dict(env or {}), timeout=timeout + 10
            )
        except DaytonaError as exc:
            raise UpstreamError(f"Daytona exec failed: {exc}") from None
        stdout, stderr, code = _split(response.result or "", marker)
        stdout, cut_out = cap_output(stdout)
        stderr, cut_err = cap_output(stderr)
        elapsed = time.monotonic() - started
        exit_code = code if code is not None else int(response.exit_code or 0)
        return ExecResult(
            stdout=stdout,
            stderr=stderr,
            exit_code=exit_code,
            duration_ms=int(elapsed * 1000),
            timed_out=exit_code in (124, 137) and elapsed >= timeout,
            truncated=cut_out or cut_err,
        )

    async def read_file(self, path: str) -> bytes:
        await self.ensure()
        try:
            return bytes(await self._box.fs.download_file(self._path(path)))
        except DaytonaNotFoundError:
            raise SandboxFileNotFound(f"No such file: {path}") from None
        except DaytonaError as exc:
            if "not found" in str(exc).lower() or "no such file" in str(exc).lower():
                raise SandboxFileNotFound(f"No such file: {path}") from None
            raise UpstreamError(f"Daytona: {exc}") from None

    async def write_file(self, path: str, data: bytes, *, mode: int | None = None) -> None:
        await self.ensure()
        target = self._path(path)
        if target == self.agent_home:
            raise SandboxPathError(f"{path} is a folder.")
        await self._box.fs.upload_file(bytes(data), target)

    async def list_files(self, path: str = ".") -> list[FileInfo]:
        await self.ensure()
        folder = self._path(path)
        try:
            entries = await self._box.fs.list_files(folder)
        except DaytonaNotFoundError:
            raise SandboxFileNotFound(f"No such folder: {path}") from None
        return sorted((self._info(e, posixpath.join(folder, e.name)) for e in entries), key=lambda f: f.path)

    async def stat(self, path: str) -> FileInfo:
        await self.ensure()
        target = self._path(path)
        try:
            return self._info(await self._box.fs.get_file_info(target), target)
        except DaytonaNotFoundError:
            raise SandboxFileNotFound(f"No such file: {path}") from None

    async def _remove(self, target: str, *, is_dir: bool) -> None:
        await self._box.fs.delete_file(target, recursive=is_dir)

    async def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()

    async def shutdown(self) -> None:
        """Delete the Daytona sandbox (its files go with it)."""
        box, self._box = self._box, None
        if box is not None and self._client is not None:
            with contextlib.suppress(DaytonaError):
                await self._client.delete(box)
        await self._close_client()


def create(spec: SandboxSpec) -> DaytonaSandbox:
    return DaytonaSandbox(spec)


create.unavailable_reason = unavailable_reason  # type: ignore[attr-defined]
