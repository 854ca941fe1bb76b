"""Pointing agents at the fake model server, and reading what they stored."""

from __future__ import annotations

from typing import Any

import httpx

from openhermit.store.engine import Database
from openhermit.store.repos import agents
from openhermit.testing.fake_model import FakeModelServer

FAKE_KEY_NAME = "FAKE_API_KEY"


def fake_model_config(server: FakeModelServer, api: str = "openai", **overrides: Any) -> dict[str, Any]:
    return {"model": server.agent_model(api, timeout_seconds=10, **overrides)}


async def point_at_fake(
    db: Database, agent_id: str, server: FakeModelServer, api: str = "openai", **config: Any
) -> None:
    async with db.transaction() as tx:
        record = await agents.get_agent(tx, agent_id)
        assert record is not None
        merged = {**record.config, **fake_model_config(server, api), **config}
        await agents.update_agent(tx, agent_id, config=merged)


async def create_agent(client: httpx.AsyncClient, headers: dict[str, str], agent_id: str) -> None:
    response = await client.post("/api/agents", json={"agentId": agent_id}, headers=headers)
    assert response.status_code == 201, response.text


async def open_session(
    client: httpx.AsyncClient, headers: dict[str, str], agent_id: str, session_id: str, **source: Any
) -> None:
    spec = {"sessionId": session_id, "source": {"kind": "api", "interactive": True, **source}}
    response = await client.post(f"/api/agents/{agent_id}/sessions", json=spec, headers=headers)
    assert response.status_code == 200, response.text


def parse_sse(body: str) -> list[dict[str, Any]]:
    """Frames of an SSE body as dicts with `event`, `id`, `data` (comments and pings dropped)."""
    import json

    frames = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        frame: dict[str, Any] = {}
        for line in block.splitlines():
            if line.startswith(":"):
                continue
            key, _, value = line.partition(":")
            frame[key] = value[1:] if value.startswith(" ") else value
        if "data" in frame:
            frame["data"] = json.loads(frame["data"])
            frames.append(frame)
    return frames
