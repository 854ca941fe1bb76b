"""How the contract suite reaches each sandbox backend: a real one when this machine has it,
else a local server speaking the vendor's API (driven by the vendor's own SDK)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from openhermit.sandbox.base import Sandbox
from openhermit.sandbox.registry import SandboxSpec, build, unavailable_reason
from openhermit.testing.fake_docker import FakeDockerServer

BackendFixture = Callable[[Path, str], AbstractAsyncContextManager[Sandbox]]


def spec(
    workspace: Path, agent_id: str, config: dict[str, Any] | None = None, sid: str = "sbx"
) -> SandboxSpec:
    return SandboxSpec(
        id=sid, agent_id=agent_id, alias="default", config=config or {}, workspace_dir=workspace
    )


@asynccontextmanager
async def local_backend(workspace: Path, agent_id: str) -> AsyncIterator[Sandbox]:
    reason = unavailable_reason("local")
    if reason:
        pytest.skip(f"local sandbox unavailable: {reason}")
    sandbox = build("local", spec(workspace, agent_id))
    try:
        yield sandbox
    finally:
        await sandbox.shutdown()


@asynccontextmanager
async def host_backend(workspace: Path, agent_id: str) -> AsyncIterator[Sandbox]:
    sandbox = build("host", spec(workspace, agent_id))
    try:
        yield sandbox
    finally:
        await sandbox.shutdown()


def _real_docker_reason() -> str | None:
    """None when a Docker engine answers (DOCKER_HOST or the default socket)."""
    if not os.environ.get("DOCKER_HOST") and not Path("/var/run/docker.sock").exists():
        return "no Docker engine (DOCKER_HOST unset, /var/run/docker.sock missing)"
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:
        return f"no Docker engine reachable ({type(exc).__name__})"
    return None


@asynccontextmanager
async def docker_fake_backend(workspace: Path, agent_id: str) -> AsyncIterator[Sandbox]:
    """The docker backend, through the docker SDK, against a fake Engine API on 127.0.0.1."""
    reason = unavailable_reason("docker")
    if reason or not FakeDockerServer.usable():
        pytest.skip(f"docker backend untestable here: {reason or 'the fake engine needs bwrap'}")
    with FakeDockerServer() as engine:
        sandbox = build(
            "docker", spec(workspace, agent_id, {"docker_host": engine.base_url, "image": "ubuntu:24.04"})
        )
        try:
            yield sandbox
        finally:
            await sandbox.shutdown()


@asynccontextmanager
async def docker_real_backend(workspace: Path, agent_id: str) -> AsyncIterator[Sandbox]:
    """The docker backend against a real engine, when one is reachable."""
    reason = unavailable_reason("docker") or _real_docker_reason()
    if reason:
        pytest.skip(f"real docker: {reason}")
    sandbox = build(
        "docker", spec(workspace, f"{agent_id}-{uuid.uuid4().hex[:6]}", {"image": "python:3.12-slim"})
    )
    try:
        yield sandbox
    finally:
        await sandbox.shutdown()


@asynccontextmanager
async def e2b_fake_backend(workspace: Path, agent_id: str) -> AsyncIterator[Sandbox]:
    """The e2b backend, through the e2b SDK, against a fake E2B API + envd on 127.0.0.1."""
    reason = unavailable_reason("e2b")
    if reason or shutil.which("bwrap") is None:
        pytest.skip(f"e2b backend untestable here: {reason or 'the fake envd needs bwrap'}")
    from tests.contracts.fake_e2b import FakeE2B

    with FakeE2B() as fake:
        config = {"api_key": "e2b_fake", "api_url": fake.url, "sandbox_url": fake.url}
        sandbox = build("e2b", spec(workspace, agent_id, config))
        try:
            yield sandbox
        finally:
            await sandbox.shutdown()


@asynccontextmanager
async def e2b_real_backend(workspace: Path, agent_id: str) -> AsyncIterator[Sandbox]:
    """The e2b backend against E2B itself, when E2B_API_KEY is set."""
    reason = unavailable_reason("e2b") or (
        None if os.environ.get("E2B_API_KEY") else "E2B_API_KEY is not set"
    )
    if reason:
        pytest.skip(f"real e2b: {reason}")
    sandbox = build("e2b", spec(workspace, agent_id, {}))
    try:
        yield sandbox
    finally:
        await sandbox.shutdown()


@asynccontextmanager
async def daytona_fake_backend(workspace: Path, agent_id: str) -> AsyncIterator[Sandbox]:
    """The daytona backend, through the daytona SDK, against a fake control plane + toolbox."""
    reason = unavailable_reason("daytona")
    if reason or shutil.which("bwrap") is None:
        pytest.skip(f"daytona backend untestable here: {reason or 'the fake toolbox needs bwrap'}")
    from tests.contracts.fake_daytona import FakeDaytona

    with FakeDaytona() as fake:
        config = {"api_key": "dtn_fake", "api_url": fake.url, "target": "local"}
        sandbox = build("daytona", spec(workspace, agent_id, config))
        try:
            yield sandbox
        finally:
            await sandbox.shutdown()


@asynccontextmanager
async def daytona_real_backend(workspace: Path, agent_id: str) -> AsyncIterator[Sandbox]:
    """The daytona backend against Daytona itself, when DAYTONA_API_KEY is set."""
    key_missing = None if os.environ.get("DAYTONA_API_KEY") else "DAYTONA_API_KEY is not set"
    reason = unavailable_reason("daytona") or key_missing
    if reason:
        pytest.skip(f"real daytona: {reason}")
    sandbox = build("daytona", spec(workspace, agent_id, {}))
    try:
        yield sandbox
    finally:
        await sandbox.shutdown()


BACKENDS: dict[str, BackendFixture] = {
    "daytona": daytona_fake_backend,
    "daytona-real": daytona_real_backend,
    "e2b": e2b_fake_backend,
    "e2b-real": e2b_real_backend,
    "local": local_backend,
    "host": host_backend,
    "docker": docker_fake_backend,
    "docker-real": docker_real_backend,
}
