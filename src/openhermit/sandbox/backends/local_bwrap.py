"""`local`: commands run under bubblewrap on the gateway's machine.

Read-only system folders, the agent's workspace bind-mounted writable at `/home/agent`, a fresh
/tmp, own PID/IPC/UTS/network namespaces (network only when the config says `network: true`),
all capabilities dropped, an environment built from scratch (only pass-through secrets and the
call's `env`), and rlimits on address space, CPU time, processes and file size. When the
gateway runs as root, commands run as a per-agent unprivileged uid so the process limit is
enforced (the kernel does not apply RLIMIT_NPROC to root).
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import shutil
import zlib
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from openhermit.errors import Invalid
from openhermit.sandbox.base import (
    DEFAULT_EXEC_TIMEOUT_SECONDS,
    Capabilities,
    ExecResult,
)
from openhermit.sandbox.process import run_capped
from openhermit.sandbox.registry import SandboxSpec, parse_config
from openhermit.sandbox.workspace import WorkspaceFileOps, WorkspaceFiles

AGENT_HOME = "/home/agent"
SYSTEM_DIRS = ("/usr", "/etc")
MERGED_USR = ("bin", "sbin", "lib", "lib32", "lib64")
BASE_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
UID_BASE, UID_SPAN = 200_000, 100_000


class LocalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    network: bool = False
    memory_mb: int = Field(2048, ge=64, le=1_048_576)  # address-space limit
    cpu_seconds: int = Field(600, ge=1)
    max_processes: int = Field(256, ge=8, le=65_536)
    max_file_mb: int = Field(1024, ge=1)
    timeout_seconds: float = Field(DEFAULT_EXEC_TIMEOUT_SECONDS, gt=0, le=86_400)
    env: dict[str, str] = Field(default_factory=dict)


def _bwrap() -> str | None:
    return shutil.which("bwrap")


def unavailable_reason() -> str | None:
    if _bwrap() is None:
        return "bubblewrap (bwrap) is not installed"
    if shutil.which("prlimit") is None:
        return "prlimit (util-linux) is not installed"
    return None


def agent_uid(agent_id: str) -> int:
    """A stable unprivileged uid per agent, for when the gateway runs as root."""
    return UID_BASE + zlib.crc32(agent_id.encode()) % UID_SPAN


class LocalSandbox(WorkspaceFileOps):
    type = "local"
    agent_home = AGENT_HOME

    def __init__(self, spec: SandboxSpec) -> None:
        self.config = parse_config(LocalConfig, spec, "local")
        self.id = spec.id
        self.spec = spec
        self.capabilities = Capabilities(
            isolated=True, network=self.config.network, persistent=True, local_files=True
        )
        self.uid = agent_uid(spec.agent_id) if os.geteuid() == 0 else None
        owner = (self.uid, self.uid) if self.uid is not None else None
        self.files = WorkspaceFiles(spec.workspace_dir, AGENT_HOME, owner)
        self._ready = False

    async def ensure(self) -> None:
        if self._ready:
            return
        reason = unavailable_reason()
        if reason:
            raise Invalid(f"The local sandbox cannot run here: {reason}.")
        await asyncio.to_thread(self.files.prepare)
        self._ready = True

    def _argv(self, command: str, cwd: str) -> list[str]:
        bwrap = _bwrap()
        assert bwrap is not None
        argv = [bwrap, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc"]
        argv += ["--unshare-uts", "--unshare-cgroup-try"]
        if not self.config.network:
            argv.append("--unshare-net")
        if self.uid is None:  # unprivileged gateway: a user namespace, no capabilities
            argv += ["--unshare-user", "--cap-drop", "ALL"]
        for folder in SYSTEM_DIRS:
            if os.path.isdir(folder):
                argv += ["--ro-bind", folder, folder]
        for name in MERGED_USR:
            target = f"/{name}"
            if os.path.islink(target):
                argv += ["--symlink", os.readlink(target), target]
            elif os.path.isdir(target):
                argv += ["--ro-bind", target, target]
        argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/home"]
        argv += ["--bind", str(self.spec.workspace_dir), AGENT_HOME, "--chdir", cwd]
        argv += ["--clearenv"]
        limits = [
            "prlimit",
            f"--as={self.config.memory_mb * 1024 * 1024}",
            f"--cpu={self.config.cpu_seconds}",
            f"--nproc={self.config.max_processes}",
            f"--fsize={self.config.max_file_mb * 1024 * 1024}",
            "--core=0",
            "--",
        ]
        drop: list[str] = []
        if self.uid is not None:
            drop = [
                "setpriv",
                f"--reuid={self.uid}",
                f"--regid={self.uid}",
                "--clear-groups",
                "--inh-caps=-all",
                "--bounding-set=-all",
                "--no-new-privs",
                "--",
            ]
        return [*argv, "--", *limits, *drop, "sh", "-c", command]

    def _env(self, extra: Mapping[str, str] | None) -> list[str]:
        env = {
            **self.config.env,
            **self.spec.env,
            **(extra or {}),
            "HOME": AGENT_HOME,
            "PATH": BASE_PATH,
            "USER": "agent",
            "LANG": "C.UTF-8",
            "TMPDIR": "/tmp",
        }
        pairs: list[str] = []
        for key, value in env.items():
            pairs += ["--setenv", key, value]
        return pairs

    async def exec(
        self,
        command: str,
        *,
        cwd: str | None = None,
        timeout_seconds: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        await self.ensure()
        inner_cwd = posixpath.join(AGENT_HOME, self.files.relative(cwd or "."))
        argv = self._argv(command, posixpath.normpath(inner_cwd))
        at = argv.index("--clearenv") + 1
        argv[at:at] = self._env(env)
        # bwrap itself starts from an empty environment: /proc/1/environ inside shows nothing.
        return await run_capped(argv, env={}, timeout_seconds=timeout_seconds or self.config.timeout_seconds)

    async def shutdown(self) -> None:
        """Nothing keeps running between calls; files stay."""
        self._ready = False


def create(spec: SandboxSpec) -> LocalSandbox:
    return LocalSandbox(spec)


create.unavailable_reason = unavailable_reason  # type: ignore[attr-defined]
