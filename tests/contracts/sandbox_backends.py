"""How the contract suite reaches each sandbox backend: a real one when this machine has it,
else a local server speaking the vendor's API (driven by the vendor's own SDK)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from openhermit.sandbox.base import Sandbox
from openhermit.sandbox.registry import SandboxSpec, build, unavailable_reason

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


BACKENDS: dict[str, BackendFixture] = {"local": local_backend, "host": host_backend}
