"""Sandbox rows through the API: create by preset or type, aliases, the host limit, presets,
the admin view, soft deletion, and the runtime pool's lifecycle."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from openhermit.gateway.platform import Platform
from openhermit.store.engine import Database
from openhermit.store.repos import sandboxes, users
from tests.runtime_helpers import create_agent

H = {"Authorization": "Bearer test-admin-token"}
BASE = "/api/agents/box/sandboxes"


@pytest.fixture
async def agent(client: httpx.AsyncClient) -> str:
    await create_agent(client, H, "box")
    return "box"


async def test_create_list_get_delete(client: httpx.AsyncClient, agent: str) -> None:
    created = await client.post(BASE, json={"alias": "main", "preset": "local"}, headers=H)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["alias"], body["type"], body["status"], body["agentId"]) == (
        "main",
        "local",
        "pending",
        "box",
    )
    second = await client.post(
        BASE, json={"alias": "net", "type": "local", "config": {"network": True}}, headers=H
    )
    assert second.status_code == 201
    listed = (await client.get(BASE, headers=H)).json()
    assert [s["alias"] for s in listed] == ["main", "net"]
    one = await client.get(f"{BASE}/net", headers=H)
    assert one.json()["config"] == {"network": True}
    assert (await client.delete(f"{BASE}/net", headers=H)).json() == {"ok": True}
    assert (await client.get(f"{BASE}/net", headers=H)).status_code == 404
    assert (await client.delete(f"{BASE}/net", headers=H)).status_code == 404
    # The alias is free again once the row is soft-deleted.
    again = await client.post(BASE, json={"alias": "net", "type": "local"}, headers=H)
    assert again.status_code == 201


async def test_duplicate_alias_is_409(client: httpx.AsyncClient, agent: str) -> None:
    assert (await client.post(BASE, json={"preset": "local"}, headers=H)).status_code == 201
    dup = await client.post(BASE, json={"type": "local"}, headers=H)
    assert dup.status_code == 409
    assert dup.json()["error"]["code"] == "conflict"
    assert "default" in dup.json()["error"]["message"]


async def test_only_one_host_sandbox_per_gateway(client: httpx.AsyncClient, agent: str) -> None:
    await create_agent(client, H, "other")
    first = await client.post(BASE, json={"alias": "h", "type": "host"}, headers=H)
    assert first.status_code == 201, first.text
    second = await client.post("/api/agents/other/sandboxes", json={"type": "host"}, headers=H)
    assert second.status_code == 409
    assert "one host sandbox" in second.json()["error"]["message"]
    await client.delete(f"{BASE}/h", headers=H)
    assert (
        await client.post("/api/agents/other/sandboxes", json={"type": "host"}, headers=H)
    ).status_code == 201


async def test_only_admins_give_an_unisolated_sandbox(
    client: httpx.AsyncClient, platform: Platform, db: Database, agent: str
) -> None:
    async with db.transaction() as tx:
        await users.insert_user(tx, "usr-olga", "olga")
        await users.link_identity(tx, "usr-olga", "cli", "olga")
        await users.set_role(tx, "usr-olga", agent, "owner")
    token, _ = platform.signer.mint("cli", "olga")
    owner = {"Authorization": f"Bearer {token}"}
    refused = await client.post(BASE, json={"alias": "h", "type": "host"}, headers=owner)
    assert refused.status_code == 403
    assert "admin" in refused.json()["error"]["message"]
    allowed = await client.post(BASE, json={"alias": "box", "type": "local"}, headers=owner)
    assert allowed.status_code == 201, allowed.text
    assert [s["alias"] for s in (await client.get(BASE, headers=owner)).json()] == ["box"]


@pytest.mark.parametrize(
    "body",
    [
        {"alias": "Bad Alias!"},
        {"preset": "local", "type": "local"},
        {"config": {"network": True}},
        {"type": "no-such-backend"},
        {"type": "local", "config": {"network": "sometimes"}},
        {"type": "local", "config": {"unknown_option": 1}},
        {"type": "local", "config": {"lifecycle": {"stop": "never"}}},
        {"alias": "x", "extra": 1},
    ],
)
async def test_invalid_bodies_are_400(client: httpx.AsyncClient, agent: str, body: dict) -> None:
    response = await client.post(BASE, json=body, headers=H)
    assert response.status_code == 400, response.text
    assert set(response.json()["error"]) == {"code", "message"}


async def test_unknown_agent_and_preset_are_404(client: httpx.AsyncClient, agent: str) -> None:
    assert (await client.get("/api/agents/ghost/sandboxes", headers=H)).status_code == 404
    assert (await client.post("/api/agents/ghost/sandboxes", json={}, headers=H)).status_code == 404
    missing = await client.post(BASE, json={"preset": "no-such-preset"}, headers=H)
    assert missing.status_code == 404
    assert "no-such-preset" in missing.json()["error"]["message"]


async def test_presets_default_and_update(client: httpx.AsyncClient, agent: str) -> None:
    presets = (await client.get("/api/sandbox-presets", headers=H)).json()
    assert presets["presets"]["local"] == {"type": "local", "config": {}}
    assert presets["presets"]["docker-ubuntu"]["type"] == "docker"
    assert presets["autoProvisionSandbox"] == "local"
    update = {
        "presets": {"tiny": {"type": "local", "config": {"memory_mb": 256}}},
        "autoProvisionSandbox": "tiny",
    }
    saved = await client.put("/api/sandbox-presets", json=update, headers=H)
    assert saved.status_code == 200, saved.text
    created = await client.post(BASE, json={}, headers=H)  # no preset: the auto-provision one
    assert created.json()["config"] == {"memory_mb": 256}
    bad = {"presets": {"x": {"type": "nope"}}, "autoProvisionSandbox": None}
    assert (await client.put("/api/sandbox-presets", json=bad, headers=H)).status_code == 400
    dangling = {"presets": {}, "autoProvisionSandbox": "gone"}
    assert (await client.put("/api/sandbox-presets", json=dangling, headers=H)).status_code == 400


async def test_pool_provisions_and_admin_sees_runtime(
    client: httpx.AsyncClient, platform: Platform, db: Database, agent: str
) -> None:
    await client.post(BASE, json={"alias": "work", "type": "host"}, headers=H)
    box = await platform.sandboxes.for_agent(agent, "work")
    result = await box.exec("echo ready")
    assert result.stdout.strip() == "ready"
    async with db.transaction() as tx:
        record = await sandboxes.get_sandbox(tx, agent, "work")
    assert record is not None
    assert record.status == "provisioned"
    assert record.last_seen_at is not None
    admin = (await client.get("/api/admin/sandboxes", headers=H)).json()
    assert [(r["agentName"], r["alias"], r["runtime"]["running"]) for r in admin] == [(None, "work", True)]
    # Unused past the idle timeout: shut down and dropped from the live set.
    assert await platform.sandboxes.sweep_idle(time.monotonic() + 3600) == [record.id]
    admin = (await client.get("/api/admin/sandboxes", headers=H)).json()
    assert admin[0].get("runtime") is None
    # Deleting the row forgets the live sandbox; the alias no longer resolves.
    await platform.sandboxes.for_agent(agent, "work")
    await client.delete(f"{BASE}/work", headers=H)
    assert platform.sandboxes.live == {}
    with pytest.raises(Exception, match="No sandbox named work"):
        await platform.sandboxes.for_agent(agent, "work")


async def test_session_lifecycle_stops_after_the_turn(
    client: httpx.AsyncClient, platform: Platform, agent: str
) -> None:
    lifecycle = {"start": "session", "stop": "session"}
    created = await client.post(
        BASE, json={"alias": "s", "type": "host", "config": {"lifecycle": lifecycle}}, headers=H
    )
    assert created.status_code == 201, created.text
    await platform.sandboxes.turn_started(agent)
    await asyncio.gather(*platform.sandboxes._starting)
    assert [live.record.alias for live in platform.sandboxes.live.values()] == ["s"]
    await platform.sandboxes.turn_finished(agent)
    assert platform.sandboxes.live == {}
