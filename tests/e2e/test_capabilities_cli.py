"""`hermit skills …` and `hermit mcp …` against a real gateway process: fleet-wide rollout,
per-agent override, and an MCP server whose header secret never reaches the gateway's log."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from openhermit.sdk import GatewayClient
from openhermit.store.engine import Database
from openhermit.testing.fake_model import FakeModelServer, Reply
from openhermit.testing.gateway_process import GatewayProcess, base_env, free_port
from tests.mcp.servers import HttpEchoServer, calls
from tests.runtime_helpers import point_at_fake

pytestmark = pytest.mark.e2e
TOKEN = "cli-admin"
SECRET = "e2e-secret-token-5521"
HERMIT = shutil.which("hermit", path=str(Path(sys.executable).parent)) or "hermit"


@pytest.fixture
def gateway(tmp_path: Path, db_url: str) -> Iterator[GatewayProcess]:
    process = GatewayProcess(
        tmp_path / "home",
        DATABASE_URL=db_url,
        GATEWAY_ADMIN_TOKEN=TOKEN,
        FAKE_API_KEY="sk",
        OPENHERMIT_LOG_LEVEL="debug",
        OPENHERMIT_MCP_RETRY_BASE_SECONDS="0.2",
    ).start()
    yield process
    process.stop()


def hermit(gateway: GatewayProcess, *args: str) -> str:
    env = base_env(gateway.home, OPENHERMIT_GATEWAY_URL=gateway.url, OPENHERMIT_TOKEN=TOKEN)
    result = subprocess.run([HERMIT, *args], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def prompt_of(gw: GatewayClient, fake: FakeModelServer, agent: str) -> str:
    fake.script(Reply(text="ok"))
    assert gw.send(agent, "s", "hi", wait=True)["text"] == "ok"
    return fake.received[-1].system_prompt


async def test_skills_roll_out_with_all_and_a_per_agent_disable_wins(
    gateway: GatewayProcess, db: Database, fake_model: FakeModelServer, tmp_path: Path
) -> None:
    folder = tmp_path / "standup"
    folder.mkdir()
    (folder / "SKILL.md").write_text(
        "---\nname: Standup\ndescription: Post the daily standup summary.\n---\n"
    )
    with GatewayClient(gateway.url, TOKEN) as gw:
        for agent in ("a1", "a2"):
            gw.create_agent(agent)
            await point_at_fake(db, agent, fake_model, memory={"introspection": {"enabled": False}})
            gw.open_session(agent, "s")

        listed = hermit(gateway, "skills", "list", "--json")
        assert {"openhermit-admin", "openhermit-guide", "skill-creator"} <= {
            s["id"] for s in json.loads(listed)
        }
        assert "registered standup" in hermit(gateway, "skills", "register", "standup", "--path", str(folder))
        assert "every agent" in hermit(gateway, "skills", "enable", "standup", "--all")
        line = "- **Standup**: Post the daily standup summary."
        assert line in prompt_of(gw, fake_model, "a1")
        assert line in prompt_of(gw, fake_model, "a2")

        hermit(gateway, "skills", "disable", "standup", "--agent", "a2")
        assert line in prompt_of(gw, fake_model, "a1")
        assert line not in prompt_of(gw, fake_model, "a2")
        rows = json.loads(hermit(gateway, "skills", "assignments", "--json"))
        assert {(r["agentId"], r["enabled"]) for r in rows if r["skillId"] == "standup"} == {
            ("*", True),
            ("a2", False),
        }
        assert "standup" in hermit(gateway, "skills", "list", "--agent", "a1")
        hermit(gateway, "skills", "delete", "standup")
        assert line not in prompt_of(gw, fake_model, "a1")


async def test_mcp_server_added_with_the_cli_keeps_its_secret_out_of_logs(
    gateway: GatewayProcess, db: Database, fake_model: FakeModelServer, tmp_path: Path
) -> None:
    server = HttpEchoServer(tmp_path / "calls.jsonl", free_port())
    server.start()
    try:
        with GatewayClient(gateway.url, TOKEN) as gw:
            gw.create_agent("m1")
            await point_at_fake(db, "m1", fake_model, memory={"introspection": {"enabled": False}})
            gw.open_session("m1", "s")
            gw.set_secret("m1", "API_TOKEN", SECRET)
            hermit(
                gateway,
                "mcp",
                "add",
                "remote",
                "--url",
                server.url,
                "--header",
                "Authorization=Bearer ${{API_TOKEN}}",
            )
            assert "every agent" in hermit(gateway, "mcp", "enable", "remote", "--all")
            deadline = time.monotonic() + 60
            while json.loads(hermit(gateway, "mcp", "status", "--agent", "m1", "--json"))[0]["status"] != (
                "connected"
            ):
                assert time.monotonic() < deadline, "the MCP server never connected"
                await asyncio.sleep(0.1)
            fake_model.script(Reply(tool_calls=[("mcp__remote__echo", {"text": "cli"})]), Reply(text="done"))
            answer = gw.send("m1", "s", "go", wait=True)
            assert answer["toolCalls"][0]["text"] == "echo: cli"
            listed = hermit(gateway, "mcp", "list", "--json")
            assert json.loads(listed)[0]["headerKeys"] == ["Authorization"]
            assert SECRET not in listed
        assert calls(server.log)[-1]["authorization"] == f"Bearer {SECRET}"
    finally:
        server.stop()
    gateway.stop()
    log = gateway.log.read_text()
    assert SECRET not in log
