"""A restarted gateway loads the model SDKs its agents use in the background, before a turn
needs them, and only those."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from openhermit.testing.gateway_process import GatewayProcess
from tests.polling import eventually

pytestmark = pytest.mark.e2e
ADMIN = {"Authorization": "Bearer e2e-admin"}
ANTHROPIC_CLIENT = "model client openhermit.runtime.models.anthropic_client loaded"
OPENAI_CLIENT = "model client openhermit.runtime.models.openai_client loaded"


async def _log_messages(http: httpx.AsyncClient) -> list[str]:
    response = await http.get("/api/admin/logs", params={"lines": "500"})
    assert response.status_code == 200
    return [line["message"] for line in response.json()]


async def test_restart_loads_the_agents_model_sdks_before_any_turn(tmp_path: Path, db_url: str) -> None:
    env = {"DATABASE_URL": db_url, "GATEWAY_ADMIN_TOKEN": "e2e-admin"}
    first = GatewayProcess(tmp_path / "home", **env).start()
    try:
        async with httpx.AsyncClient(base_url=first.url, headers=ADMIN, timeout=30) as http:
            assert (await http.post("/api/agents", json={"agentId": "claude"})).status_code == 201
            config = (await http.get("/api/agents/claude/config")).json()
            config["model"]["provider"] = "anthropic"
            assert (await http.put("/api/agents/claude/config", json=config)).status_code == 200
            # Started with no agents: nothing was loaded ahead of a turn.
            printed = await _log_messages(http)
            assert not [m for m in printed if "model client" in m]
    finally:
        first.stop()

    second = GatewayProcess(tmp_path / "home", **env).start()
    try:
        async with httpx.AsyncClient(base_url=second.url, headers=ADMIN, timeout=30) as http:
            printed = await eventually(
                lambda: _log_messages(http),
                lambda messages: any(ANTHROPIC_CLIENT in m for m in messages),
                what="the Anthropic client loaded after the restart",
            )
            # The fleet has no OpenAI-compatible agent: that SDK stays out of the process.
            assert not [m for m in printed if OPENAI_CLIENT in m]
    finally:
        second.stop()
