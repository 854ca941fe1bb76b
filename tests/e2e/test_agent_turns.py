"""Issue acceptance, end to end: the real gateway process, real HTTP, the fake model server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openhermit.store.engine import Database
from openhermit.testing.fake_model import FakeModelServer, Reply
from openhermit.testing.gateway_process import GatewayProcess
from tests.runtime_helpers import point_at_fake

pytestmark = pytest.mark.e2e
H = {"Authorization": "Bearer e2e-admin"}


@pytest.fixture
def gateway(tmp_path: Path, db_url: str) -> Iterator[GatewayProcess]:
    process = GatewayProcess(
        tmp_path / "home", DATABASE_URL=db_url, GATEWAY_ADMIN_TOKEN="e2e-admin", FAKE_API_KEY="sk-e2e"
    ).start()
    try:
        yield process
    finally:
        process.stop()


async def _frames(response: httpx.Response) -> list[tuple[str, dict[str, object]]]:
    frames = []
    event = None
    async for line in response.aiter_lines():
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and event:
            frames.append((event, json.loads(line.split(":", 1)[1])))
            event = None
    return frames


@pytest.mark.parametrize("api", ["openai", "anthropic"])
async def test_agent_remembers_across_sessions_and_streams(
    gateway: GatewayProcess, db: Database, fake_model: FakeModelServer, api: str
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, headers=H, timeout=30) as http:
        assert (await http.post("/api/agents", json={"agentId": "main"})).status_code == 201
        await point_at_fake(db, "main", fake_model, api=api)
        for sid in ("one", "two", "three"):
            spec = {"sessionId": sid, "source": {"kind": "api", "interactive": True}}
            assert (await http.post("/api/agents/main/sessions", json=spec)).status_code == 200

        fake_model.script(
            Reply(tool_calls=[("memory_add", {"key": "city", "content": "The user lives in Lisbon"})]),
            Reply(text="I will remember Lisbon."),
        )
        first = await http.post(
            "/api/agents/main/sessions/one/messages?wait=true", json={"text": "I live in Lisbon"}
        )
        assert first.status_code == 200
        assert first.json()["text"] == "I will remember Lisbon."

        fake_model.script(Reply(tool_calls=[("memory_recall", {"query": "lives"})]), Reply(text="Lisbon."))
        second = await http.post(
            "/api/agents/main/sessions/two/messages?wait=true", json={"text": "Where do I live?"}
        )
        assert second.json()["text"] == "Lisbon."
        assert "The user lives in Lisbon" in second.json()["toolCalls"][0]["text"]

        fake_model.script(Reply(text="Streaming works fine."))
        async with http.stream(
            "POST",
            "/api/agents/main/sessions/three/messages?stream=true",
            json={"text": "hi", "messageId": "s-1"},
        ) as response:
            frames = await _frames(response)
        kinds = [k for k, _ in frames]
        assert kinds[:3] == ["message_ack", "user_message", "agent_start"]
        assert kinds[-2:] == ["text_final", "agent_end"]
        assert set(kinds[3:-2]) == {"text_delta"}
        assert "".join(str(d["text"]) for k, d in frames if k == "text_delta") == "Streaming works fine."

        history = (await http.get("/api/agents/main/sessions/three/messages")).json()
        assert [h["role"] for h in history] == ["user", "assistant"]
        assert all(r.api == api for r in fake_model.received)


async def test_model_failure_then_recovery(
    gateway: GatewayProcess, db: Database, fake_model: FakeModelServer
) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, headers=H, timeout=30) as http:
        await http.post("/api/agents", json={"agentId": "flaky"})
        await point_at_fake(db, "flaky", fake_model)
        await http.post(
            "/api/agents/flaky/sessions",
            json={"sessionId": "s", "source": {"kind": "api", "interactive": True}},
        )
        fake_model.script(Reply(status=500))
        failed = (
            await http.post("/api/agents/flaky/sessions/s/messages?wait=true", json={"text": "hi"})
        ).json()
        assert failed["text"] is None
        assert "model request failed" in failed["error"]
        fake_model.script(Reply(text="recovered"))
        assert (
            await http.post("/api/agents/flaky/sessions/s/messages?wait=true", json={"text": "hi"})
        ).json()["text"] == "recovered"
        bad = await http.post("/api/agents/flaky/sessions/s/messages", json={"txt": "typo"})
        assert bad.status_code == 400
        assert bad.json()["error"]["code"] == "validation_error"
        assert (
            await http.post("/api/agents/nobody/sessions/s/messages", json={"text": "x"})
        ).status_code == 404


@pytest.mark.parametrize("level", ["info", "warning"])
async def test_the_gateway_logs_at_its_configured_level(
    tmp_path: Path, db_url: str, db: Database, fake_model: FakeModelServer, level: str
) -> None:
    gateway = GatewayProcess(
        tmp_path / "home",
        DATABASE_URL=db_url,
        GATEWAY_ADMIN_TOKEN="e2e-admin",
        FAKE_API_KEY="sk-e2e",
        OPENHERMIT_LOG_LEVEL=level,
    ).start()
    try:
        async with httpx.AsyncClient(base_url=gateway.url, headers=H, timeout=30) as http:
            await http.post("/api/agents", json={"agentId": "quiet"})
            await point_at_fake(db, "quiet", fake_model)
            spec = {"sessionId": "s", "source": {"kind": "api", "interactive": True}}
            assert (await http.post("/api/agents/quiet/sessions", json=spec)).status_code == 200
            fake_model.default = Reply(text="done")
            for _ in range(3):
                reply = await http.post(
                    "/api/agents/quiet/sessions/s/messages?wait=true", json={"text": "hi"}
                )
                assert reply.json()["text"] == "done"
            kept = [line["message"] for line in (await http.get("/api/admin/logs", headers=H)).json()]
    finally:
        gateway.stop()
    printed = gateway.log.read_text().splitlines()
    # Model calls are not logged line by line at info, nor anything below the level set.
    assert not [line for line in printed + kept if "HTTP Request" in line]
    if level == "info":
        assert any("gateway listening" in line for line in printed)
        assert any("gateway listening" in line for line in kept)
    else:
        assert not [line for line in printed + kept if " INFO " in f" {line}"]
