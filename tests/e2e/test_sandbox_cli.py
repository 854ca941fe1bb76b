"""Sandboxes through a real gateway process: the CLI manages them, the fake model runs commands
in the `local` sandbox, and neither the gateway's environment nor a fork bomb gets through."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from openhermit.sandbox.registry import unavailable_reason
from openhermit.sdk import AsyncGatewayClient
from openhermit.store.engine import Database
from openhermit.testing.fake_model import FakeModelServer, Reply
from openhermit.testing.gateway_process import GatewayProcess, base_env
from tests.runtime_helpers import point_at_fake

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(unavailable_reason("local") is not None, reason=f"{unavailable_reason('local')}"),
]
TOKEN = "sandbox-admin"
CANARY = f"canary-{uuid.uuid4().hex}"
HERMIT = shutil.which("hermit", path=str(Path(sys.executable).parent)) or "hermit"


@pytest.fixture
def gateway(tmp_path: Path, db_url: str) -> Iterator[GatewayProcess]:
    process = GatewayProcess(
        tmp_path / "home",
        DATABASE_URL=db_url,
        GATEWAY_ADMIN_TOKEN=TOKEN,
        FAKE_API_KEY="sk",
        SANDBOX_CANARY=CANARY,
    ).start()
    yield process
    process.stop()


def hermit(gateway: GatewayProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = base_env(gateway.home, OPENHERMIT_GATEWAY_URL=gateway.url, OPENHERMIT_TOKEN=TOKEN)
    return subprocess.run([HERMIT, *args], env=env, capture_output=True, text=True, timeout=60)


async def test_cli_manages_sandboxes(gateway: GatewayProcess) -> None:
    async with AsyncGatewayClient(gateway.url, TOKEN) as gw:
        await gw.create_agent("cli-box")
    added = hermit(
        gateway,
        "sandbox",
        "add",
        "--agent",
        "cli-box",
        "--alias",
        "net",
        "--type",
        "local",
        "--config",
        '{"network": true}',
    )
    assert added.returncode == 0, added.stderr
    assert "sandbox net (local) added: pending" in added.stdout
    listed = hermit(gateway, "sandbox", "list", "--agent", "cli-box", "--json")
    assert [(r["alias"], r["config"]) for r in json.loads(listed.stdout)] == [("net", {"network": True})]
    dup = hermit(gateway, "sandbox", "add", "--agent", "cli-box", "--alias", "net", "--preset", "local")
    assert dup.returncode != 0
    assert "already has a sandbox named net" in dup.stderr
    bad = hermit(gateway, "sandbox", "add", "--agent", "cli-box", "--config", "{nope")
    assert bad.returncode != 0
    assert "--config is not valid JSON" in bad.stderr
    presets = hermit(gateway, "sandbox", "presets", "--json")
    assert json.loads(presets.stdout)["autoProvisionSandbox"] == "local"
    removed = hermit(gateway, "sandbox", "remove", "net", "--agent", "cli-box")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(hermit(gateway, "sandbox", "list", "--agent", "cli-box", "--json").stdout) == []


async def test_gateway_environment_stays_out_and_fork_bomb_is_contained(
    gateway: GatewayProcess, db: Database, fake_model: FakeModelServer
) -> None:
    async with AsyncGatewayClient(gateway.url, TOKEN) as gw:
        await gw.create_agent("boxed")
        await point_at_fake(db, "boxed", fake_model, memory={"introspection": {"enabled": False}})
        await gw.open_session("boxed", "api:1")
        fake_model.script(
            Reply(tool_calls=[("exec", {"command": "env; cat /proc/*/environ; echo; ls -a ~ /home"})]),
            Reply(
                tool_calls=[
                    ("exec", {"command": "bomb() { bomb | bomb & }; bomb; sleep 2", "timeout_seconds": 6})
                ]
            ),
            Reply(tool_calls=[("exec", {"command": "python3 -c 'print(6*7)'"})]),
            Reply(text="done"),
        )
        answer = await gw.send("boxed", "api:1", "look around", wait=True)
        calls = answer["toolCalls"]
        assert len(calls) == 3, answer
        assert CANARY not in calls[0]["text"]
        assert TOKEN not in calls[0]["text"]
        assert "HOME=/home/agent" in calls[0]["text"]
        assert calls[2]["text"].splitlines()[0] == "42"
        assert (await gw.health())["ok"] is True
