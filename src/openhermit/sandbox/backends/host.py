"""`host`: commands run directly on the gateway's machine, in the agent's workspace folder.

No isolation at all (opt-in only; the gateway allows one per gateway). The environment is still
built from scratch: the sandbox config's `env`, pass-through secrets and a minimal PATH/HOME.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from openhermit.sandbox.base import Capabilities, ExecResult
from openhermit.sandbox.process import run_capped
from openhermit.sandbox.registry import SandboxSpec, parse_config
from openhermit.sandbox.workspace import WorkspaceFileOps, WorkspaceFiles

BASE_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"


class HostConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cwd: str | None = None  # a folder under the workspace to start commands in
    shell: str = "sh"
    env: dict[str, str] = Field(default_factory=dict)
    timeout_ms: int = Field(300_000, gt=0)


class HostSandbox(WorkspaceFileOps):
    type = "host"

    def __init__(self, spec: SandboxSpec) -> None:
        self.config = parse_config(HostConfig, spec, "host")
        self.id = spec.id
        self.spec = spec
        self.agent_home = os.path.realpath(spec.workspace_dir)
        self.capabilities = Capabilities(isolated=False, network=True, persistent=True, local_files=True)
        self.files = WorkspaceFiles(spec.workspace_dir, self.agent_home)

    async def ensure(self) -> None:
        await asyncio.to_thread(self.files.prepare)

    async def exec(
        self,
        command: str,
        *,
        cwd: str | None = None,
        timeout_seconds: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        await self.ensure()
        folder = self.files.host_path(cwd or self.config.cwd or ".")
        shell = shutil.which(self.config.shell) or self.config.shell
        full_env = {
            "PATH": BASE_PATH,
            "LANG": "C.UTF-8",
            **self.config.env,
            **self.spec.env,
            **(env or {}),
            "HOME": self.agent_home,
        }
        timeout = timeout_seconds or self.config.timeout_ms / 1000
        return await run_capped(
            [shell, "-c", command], env=full_env, cwd=str(folder), timeout_seconds=timeout
        )

    async def shutdown(self) -> None:
        """Nothing keeps running between calls."""


def create(spec: SandboxSpec) -> HostSandbox:
    return HostSandbox(spec)
