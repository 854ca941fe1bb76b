"""What the docker backend asks the engine for: one named container per agent sandbox, the
workspace bind-mounted, limits set, network off; reused across shutdowns."""

from __future__ import annotations

from pathlib import Path

import pytest

from openhermit.sandbox.registry import build, unavailable_reason
from openhermit.testing.fake_docker import FakeDockerServer
from tests.contracts.sandbox_backends import spec

pytestmark = pytest.mark.skipif(
    unavailable_reason("docker") is not None or not FakeDockerServer.usable(),
    reason="the docker SDK or bwrap (for the fake engine) is missing",
)


async def test_container_per_agent_with_limits(tmp_path: Path) -> None:
    with FakeDockerServer() as engine:
        config = {"docker_host": engine.base_url, "memory_limit": "512m", "nano_cpus": 500_000_000}
        box = build("docker", spec(tmp_path / "ws", "ann", config, sid="sbx-1"))
        await box.ensure()
        assert "POST /images/create" in engine.state.calls  # pulled once, as it was missing
        [container] = engine.state.containers.values()
        assert container.name == "openhermit-ann-workspace"
        assert container.binds == [f"{(tmp_path / 'ws').resolve()}:/root:rw"]
        host = container.host_config
        assert (host["Memory"], host["NanoCpus"], host["PidsLimit"]) == (512 * 1024**2, 500_000_000, 512)
        assert container.labels == {"openhermit.agent": "ann", "openhermit.sandbox": "sbx-1"}
        assert box.external_id == container.id  # type: ignore[attr-defined]
        await box.shutdown()
        assert container.running is False
        again = build("docker", spec(tmp_path / "ws", "ann", config, sid="sbx-1"))
        await again.ensure()  # the same container, started again
        assert list(engine.state.containers.values()) == [container]
        assert container.running is True
        await again.shutdown()


async def test_alias_names_its_own_container(tmp_path: Path) -> None:
    with FakeDockerServer() as engine:
        config = {"docker_host": engine.base_url}
        base = spec(tmp_path / "ws", "ann", config)
        scratch = type(base)(**{**base.__dict__, "alias": "scratch"})
        box = build("docker", scratch)
        await box.ensure()
        assert [c.name for c in engine.state.containers.values()] == ["openhermit-ann-workspace-scratch"]
        await box.shutdown()
