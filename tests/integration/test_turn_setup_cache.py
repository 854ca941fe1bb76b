"""A running agent keeps its turn setup cached; every change to the agent, its instructions or
its policies still reaches the very next turn, whichever path made it."""

from __future__ import annotations

from pathlib import Path

import httpx

from openhermit.store.engine import Database
from openhermit.testing.fake_model import FakeModelServer, Received
from tests.runtime_helpers import create_agent, open_session, point_at_fake

H = {"Authorization": "Bearer test-admin-token"}


async def _turn(client: httpx.AsyncClient, model: FakeModelServer, text: str) -> Received:
    """Run a turn; return the model request made for it."""
    r = await client.post(
        "/api/agents/cached/sessions/s1/messages", params={"wait": "true"}, json={"text": text}, headers=H
    )
    assert r.status_code == 200, r.text
    return next(q for q in reversed(model.received) if text in str(q.body.get("messages", [])[-1:]))


async def test_changes_reach_the_next_turn_of_a_running_agent(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    await create_agent(client, H, "cached")
    await point_at_fake(db, "cached", fake_model)
    await open_session(client, H, "cached", "s1")
    seen = await _turn(client, fake_model, "one")
    assert "Speak like a pirate." not in seen.system_prompt

    r = await client.put(
        "/api/agents/cached/instructions/rules", json={"content": "Speak like a pirate."}, headers=H
    )
    assert r.status_code == 200, r.text
    seen = await _turn(client, fake_model, "two")
    assert "Speak like a pirate." in seen.system_prompt

    r = await client.post(
        "/api/admin/instructions/fanout",
        json={"mode": "append", "key": "rules", "content": "Never share PII."},
        headers=H,
    )
    assert r.status_code == 200, r.text
    seen = await _turn(client, fake_model, "three")
    assert "Never share PII." in seen.system_prompt

    assert "memory_add" in seen.tool_names
    deny = {
        "resourceType": "tool",
        "resourceKey": "memory_add",
        "effect": "deny",
        "grants": [{"type": "any"}],
    }
    assert (await client.post("/api/agents/cached/policies", json=deny, headers=H)).status_code == 201
    seen = await _turn(client, fake_model, "four")
    assert "memory_add" not in seen.tool_names

    config = (await client.get("/api/agents/cached/config", headers=H)).json()
    config["model"]["max_tokens"] = 777
    assert (await client.put("/api/agents/cached/config", json=config, headers=H)).status_code == 200
    seen = await _turn(client, fake_model, "five")
    assert seen.body.get("max_tokens") == 777 or (seen.body.get("max_completion_tokens") == 777)

    r = await client.delete("/api/agents/cached/instructions/rules", headers=H)
    assert r.status_code == 200, r.text
    seen = await _turn(client, fake_model, "six")
    assert "Speak like a pirate." not in seen.system_prompt


async def test_secret_and_skill_changes_reach_the_next_turn_of_a_running_agent(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, tmp_path: Path
) -> None:
    await create_agent(client, H, "cached")
    await point_at_fake(db, "cached", fake_model)
    await open_session(client, H, "cached", "s1")
    seen = await _turn(client, fake_model, "one")
    assert seen.headers["authorization"] != "Bearer sk-agent-own"

    # The agent's own key replaces the gateway's from the next turn on, and goes with its delete.
    r = await client.put("/api/agents/cached/secrets/FAKE_API_KEY", json={"value": "sk-agent-own"}, headers=H)
    assert r.status_code == 200, r.text
    assert (await _turn(client, fake_model, "two")).headers["authorization"] == "Bearer sk-agent-own"
    assert (await client.delete("/api/agents/cached/secrets/FAKE_API_KEY", headers=H)).status_code == 200
    assert (await _turn(client, fake_model, "three")).headers["authorization"] != "Bearer sk-agent-own"

    # A fleet-wide skill enable and a registry change reach the next turn's prompt.
    folder = tmp_path / "digest"
    folder.mkdir()
    (folder / "SKILL.md").write_text("---\nname: Morning digest\ndescription: Sum up the night.\n---\nBody\n")
    assert (
        await client.post("/api/admin/skills", json={"id": "digest", "path": str(folder)}, headers=H)
    ).status_code == 201
    assert "Morning digest" not in (await _turn(client, fake_model, "four")).system_prompt
    r = await client.post("/api/admin/skills/digest/enable", json={"agentId": "*"}, headers=H)
    assert r.status_code == 200, r.text
    assert "Morning digest" in (await _turn(client, fake_model, "five")).system_prompt
    assert (await client.delete("/api/admin/skills/digest", headers=H)).status_code == 200
    assert "Morning digest" not in (await _turn(client, fake_model, "six")).system_prompt
