"""`docker`: a long-lived container per agent sandbox, through the `docker` SDK.

The container `openhermit-<agentId>-workspace` (plus `-<alias>` for other aliases) runs
`sleep infinity` with the agent's workspace folder bind-mounted at `agent_home`, memory and CPU
limits, and no network unless `network: true`. Commands run through `docker exec` under
`timeout -s KILL` (GNU timeout signals its whole process group); file operations go straight to
the workspace folder on the gateway's machine, with path translation.
"""

from __future__ import annotations

import asyncio
import contextlib
import posixpath
import re
import shlex
import time
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from openhermit.errors import Invalid, UpstreamError
from openhermit.sandbox.base import (
    DEFAULT_EXEC_TIMEOUT_SECONDS,
    Capabilities,
    ExecResult,
    cap_output,
)
from openhermit.sandbox.registry import SandboxSpec, parse_config
from openhermit.sandbox.workspace import WorkspaceFileOps, WorkspaceFiles

try:
    import docker
    from docker.errors import DockerException, ImageNotFound, NotFound
except ImportError:  # the optional extra is not installed
    docker = None


class DockerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image: str = "ubuntu:24.04"
    username: str = "root"
    agent_home: str = Field("/root", pattern=r"^/")
    memory_limit: str | None = "2g"  # docker's syntax: 512m, 2g …
    cpu_shares: int | None = None
    nano_cpus: int | None = Field(None, description="CPU limit in units of 1e-9 CPUs (1e9 = one CPU).")
    pids_limit: int | None = 512
    network: bool = False
    docker_host: str | None = None  # e.g. tcp://127.0.0.1:2375; default: the SDK's environment
    timeout_seconds: float = Field(DEFAULT_EXEC_TIMEOUT_SECONDS, gt=0)
    env: dict[str, str] = Field(default_factory=dict)


def unavailable_reason() -> str | None:
    if docker is None:
        return "the docker SDK is not installed (pip install 'openhermit[docker]')"
    return None


def container_name(agent_id: str, alias: str) -> str:
    base = re.sub(r"[^a-zA-Z0-9_.-]", "-", agent_id)
    return f"openhermit-{base}-workspace" + ("" if alias == "default" else f"-{alias}")


class DockerSandbox(WorkspaceFileOps):
    type = "docker"

    def __init__(self, spec: SandboxSpec) -> None:
        self.config = parse_config(DockerConfig, spec, "docker")
        self.id = spec.id
        self.spec = spec
        self.agent_home = self.config.agent_home
        self.name = container_name(spec.agent_id, spec.alias)
        self.capabilities = Capabilities(
            isolated=True, network=self.config.network, persistent=True, local_files=True
        )
        self.files = WorkspaceFiles(spec.workspace_dir, self.agent_home)
        self.external_id: str | None = None
        self._client: Any = None
        self._container: Any = None

    # Engine ---------------------------------------------------------------------------------
    def _connect(self) -> Any:
        if docker is None:
            raise Invalid(unavailable_reason() or "")
        if self._client is None:
            host = self.config.docker_host
            self._client = docker.DockerClient(base_url=host) if host else docker.from_env()
        return self._client

    def _ensure_blocking(self) -> None:
        self.files.prepare()
        client = self._connect()
        try:
            container = client.containers.get(self.name)
        except NotFound:
            try:
                client.images.get(self.config.image)
            except ImageNotFound:
                repository, _, tag = self.config.image.partition(":")
                client.images.pull(repository, tag=tag or "latest")
            container = client.containers.run(
                self.config.image,
                ["sleep", "infinity"],
                name=self.name,
                detach=True,
                working_dir=self.agent_home,
                volumes={str(self.spec.workspace_dir.resolve()): {"bind": self.agent_home, "mode": "rw"}},
                mem_limit=self.config.memory_limit,
                cpu_shares=self.config.cpu_shares,
                nano_cpus=self.config.nano_cpus,
                pids_limit=self.config.pids_limit,
                network_disabled=not self.config.network,
                labels={"openhermit.agent": self.spec.agent_id, "openhermit.sandbox": self.id},
            )
        if container.status != "running":
            container.start()
            container.reload()
        self._container = container
        self.external_id = container.id

    async def ensure(self) -> None:
        if self._container is not None:
            return
        try:
            await asyncio.to_thread(self._ensure_blocking)
        except DockerException as exc:
            raise UpstreamError(f"Docker: {exc}") from None

    async def exec(
        self,
        command: str,
        *,
        cwd: str | None = None,
        timeout_seconds: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ExecResult:
        await self.ensure()
        workdir = posixpath.normpath(posixpath.join(self.agent_home, self.files.relative(cwd or ".")))
        timeout = timeout_seconds or self.config.timeout_seconds
        wrapped = f"timeout -s KILL {timeout:g} sh -c {shlex.quote(command)}"
        environment = {**self.config.env, **self.spec.env, **(env or {}), "HOME": self.agent_home}
        started = time.monotonic()
        try:
            result = await asyncio.wait_for(
                asyncio.to_thread(
                    self._container.exec_run,
                    ["sh", "-c", wrapped],
                    workdir=workdir,
                    environment=environment,
                    user=self.config.username,
                    demux=True,
                ),
                timeout + 10,
            )
        except (DockerException, TimeoutError) as exc:
            raise UpstreamError(f"Docker exec failed: {exc}") from None
        out, err = result.output if result.output else (b"", b"")
        stdout, cut_out = cap_output(out)
        stderr, cut_err = cap_output(err)
        timed_out = result.exit_code in (124, 137) and time.monotonic() - started >= timeout
        return ExecResult(
            stdout=stdout,
            stderr=stderr,
            exit_code=int(result.exit_code if result.exit_code is not None else -1),
            duration_ms=int((time.monotonic() - started) * 1000),
            timed_out=timed_out,
            truncated=cut_out or cut_err,
        )

    async def shutdown(self) -> None:
        """Stop the container (it and the workspace stay for the next `ensure`)."""
        container, self._container = self._container, None
        if container is not None:
            with contextlib.suppress(DockerException):
                await asyncio.to_thread(container.stop, timeout=5)
        if self._client is not None:
            await asyncio.to_thread(self._client.close)
            self._client = None


def create(spec: SandboxSpec) -> DockerSandbox:
    return DockerSandbox(spec)


create.unavailable_reason = unavailable_reason  # type: ignore[attr-defined]
