"""Agents and sessions routes: defaults, lifecycle, filters, and bad input."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from openhermit.gateway.platform import Platform
from openhermit.runtime.leases import Leases
from openhermit.store.engine import Database
from openhermit.store.repos import instructions, sessions, turns, users
from openhermit.testing.fake_model import FakeModelServer, Reply
from tests.polling import eventually
from tests.runtime_helpers import create_agent, open_session, point_at_fake

H = {"Authorization": "Bearer test-admin-token"}


async def test_new_agent_defaults(client: httpx.AsyncClient, db: Database, platform: Platform) -> None:
    response = await client.post("/api/agents", json={"agentId": "main", "name": "Main"}, headers=H)
    assert response.status_code == 201
    body = response.json()
    assert body["agentId"] == "main"
    assert body["status"] == "stopped"
    assert body["workspaceDir"] == str(platform.settings.workspaces_dir / "main")
    async with db.transaction() as tx:
        keys = [i.key for i in await instructions.list_instructions(tx, "main")]
        inbox = await sessions.get_record(tx, "main", "inbox")
    assert keys == ["identity", "rules", "soul"]
    assert inbox is not None
    assert inbox.source.kind == "inbox"
    # The workspace folders are made when the agent first runs, not by its creation.
    workspace = platform.settings.workspaces_dir / "main"
    assert not workspace.exists()
    started = await client.post("/api/agents/main/manage/start", headers=H)
    assert started.json()["status"] == "running"
    for folder in (".openhermit/skills/system", ".openhermit/tool_results"):
        assert (workspace / folder).is_dir()
    listed = (await client.get("/api/agents", headers=H)).json()
    assert listed == [
        {"agentId": "main", "status": "running", "name": "Main", "workspaceDir": body["workspaceDir"]}
    ]
    duplicate = await client.post("/api/agents", json={"agentId": "main"}, headers=H)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["code"] == "conflict"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"agentId": ""},
        {"agentId": "../etc"},
        {"agentId": "a b"},
        {"agentId": "ok", "access": "secret"},
        {"agentId": "ok", "unknown": 1},
        [],
    ],
)
async def test_create_agent_rejects_bad_bodies(client: httpx.AsyncClient, body: object) -> None:
    response = await client.post("/api/agents", json=body, headers=H)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


async def test_create_agent_rejects_non_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/agents", content=b"{not json", headers={**H, "content-type": "application/json"}
    )
    assert response.status_code == 400


async def test_lifecycle_actions(client: httpx.AsyncClient, platform: Platform) -> None:
    await create_agent(client, H, "life")

    async def act(action: str) -> httpx.Response:
        return await client.post(f"/api/agents/life/manage/{action}", headers=H)

    assert (await client.get("/api/agents/life/health")).json() == {
        "agentId": "life",
        "ok": False,
        "status": "stopped",
    }
    assert (await act("start")).json() == {"agentId": "life", "status": "running"}
    assert (await client.get("/api/agents/life/health")).json()["ok"] is True
    assert (await act("restart")).json()["status"] == "running"
    assert (await act("stop")).json()["status"] == "stopped"
    assert platform.fleet.peek("life") is None
    delete_active = await act("delete")
    assert delete_active.status_code == 400
    assert (await act("disable")).json()["status"] == "disabled"
    assert (await client.get("/api/agents/life/info", headers=H)).status_code == 404
    assert (await act("start")).status_code == 400
    assert (await act("enable")).json()["status"] == "active"
    assert (await client.get("/api/agents/life/info", headers=H)).json()["status"] == "running"
    await act("disable")
    assert (await act("delete")).json()["status"] == "deleted"
    assert (await act("enable")).status_code == 404
    assert (await act("explode")).status_code == 400


async def test_unknown_agent_and_session_are_404(
    client: httpx.AsyncClient, fake_model: FakeModelServer
) -> None:
    spec = {"sessionId": "s", "source": {"kind": "api", "interactive": True}}
    for method, path, body in [
        ("POST", "/api/agents/ghost/sessions", spec),
        ("GET", "/api/agents/ghost/sessions", None),
        ("POST", "/api/agents/ghost/sessions/s/messages", {"text": "hi"}),
        ("GET", "/api/agents/ghost/info", None),
    ]:
        response = await client.request(method, path, json=body, headers=H)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    await create_agent(client, H, "real")
    for suffix in ("messages", "interrupt"):
        response = await client.post(
            f"/api/agents/real/sessions/nope/{suffix}", json={"text": "x"}, headers=H
        )
        assert response.status_code == 404
    assert (await client.get("/api/agents/real/sessions/nope/messages", headers=H)).status_code == 404
    assert (await client.delete("/api/agents/real/sessions/nope", headers=H)).status_code == 404


@pytest.mark.parametrize(
    "spec",
    [
        {},
        {"sessionId": "x"},
        {"sessionId": "x", "source": {"kind": "api"}},
        {"sessionId": "", "source": {"kind": "api", "interactive": True}},
        {"sessionId": "x", "source": {"kind": "api", "interactive": True}, "metadata": {"nested": {"a": 1}}},
        {"sessionId": "x", "source": {"kind": "api", "interactive": True}, "metadata": {"list": [1]}},
    ],
)
async def test_invalid_session_spec(client: httpx.AsyncClient, spec: dict[str, object]) -> None:
    await create_agent(client, H, "specs")
    response = await client.post("/api/agents/specs/sessions", json=spec, headers=H)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    ("body", "params"),
    [
        ({}, {}),
        ({"text": 5}, {}),
        ({"text": "hi", "sender": {"channel": "x"}}, {}),
        ({"text": "hi", "appendAs": "assistant"}, {}),
        ({"text": "hi", "occurredAt": "2026-01-01T00:00:00Z"}, {"wait": "true"}),
        ({"text": "hi", "occurredAt": "yesterday"}, {"append": "true"}),
        ({"text": "hi"}, {"wait": "maybe"}),
        ({"text": "hi"}, {"wait": "true", "timeout": "-1"}),
    ],
)
async def test_invalid_session_message(
    client: httpx.AsyncClient, fake_model: FakeModelServer, body: dict[str, object], params: dict[str, str]
) -> None:
    await create_agent(client, H, "msgs")
    await open_session(client, H, "msgs", "s")
    response = await client.post("/api/agents/msgs/sessions/s/messages", params=params, json=body, headers=H)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert fake_model.received == []


async def test_inbox_is_read_only(client: httpx.AsyncClient) -> None:
    await create_agent(client, H, "box")
    response = await client.post("/api/agents/box/sessions/inbox/messages", json={"text": "hi"}, headers=H)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "inbox_read_only"


async def test_session_list_filters_and_delete(
    client: httpx.AsyncClient, fake_model: FakeModelServer
) -> None:
    await create_agent(client, H, "lists")
    specs = [
        {"sessionId": "cli:1", "source": {"kind": "cli", "interactive": True}, "metadata": {"team": "a"}},
        {
            "sessionId": "telegram:1",
            "source": {"kind": "channel", "platform": "telegram", "interactive": True},
        },
        {
            "sessionId": "schedule:x",
            "source": {"kind": "schedule", "interactive": False},
            "metadata": {"team": "b"},
        },
    ]
    for spec in specs:
        assert (await client.post("/api/agents/lists/sessions", json=spec, headers=H)).status_code == 200

    async def ids(**params: str) -> list[str]:
        found = (await client.get("/api/agents/lists/sessions", params=params, headers=H)).json()
        return sorted(s["sessionId"] for s in found)

    assert await ids() == ["cli:1", "schedule:x", "telegram:1"]
    assert await ids(kind="cli") == ["cli:1"]
    assert await ids(platform="telegram") == ["telegram:1"]
    assert await ids(interactive="false") == ["schedule:x"]
    assert await ids(channel="telegram") == ["telegram:1"]
    assert await ids(**{"metadata.team": "b"}) == ["schedule:x"]
    assert await ids(limit="1") in (["cli:1"], ["schedule:x"], ["telegram:1"])
    assert (
        await client.get("/api/agents/lists/sessions", params={"limit": "0"}, headers=H)
    ).status_code == 400
    assert (await client.delete("/api/agents/lists/sessions/cli:1", headers=H)).json() == {"deleted": True}
    assert await ids() == ["schedule:x", "telegram:1"]
    assert (await client.delete("/api/agents/lists/sessions/inbox", headers=H)).status_code == 400


async def test_session_summary_fields(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    await create_agent(client, H, "sums")
    await point_at_fake(db, "sums", fake_model)
    await open_session(client, H, "sums", "s")
    long_text = (
        "Please   help me\nplan a trip to the mountains next week with my two kids and our dog Rex, thanks"
    )
    await client.post(
        "/api/agents/sums/sessions/s/messages", params={"wait": "true"}, json={"text": long_text}, headers=H
    )
    [summary] = (await client.get("/api/agents/sums/sessions", headers=H)).json()
    assert summary["messageCount"] == 1
    assert summary["status"] == "idle"
    assert summary["description"].startswith("Please help me plan a trip")
    assert summary["description"].endswith("...")
    assert len(summary["description"]) == 80
    assert summary["lastMessagePreview"] == long_text
    assert summary["lastEventId"] > 0


async def test_agent_routes_need_credentials(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/agents")).status_code == 401
    assert (await client.post("/api/agents", json={"agentId": "x"})).status_code == 401
    assert (await client.get("/api/agents/x/info")).status_code == 401
    assert (await client.get("/api/providers")).status_code == 401


async def test_concurrent_first_requests_hydrate_once(client: httpx.AsyncClient, platform: Platform) -> None:
    await create_agent(client, H, "hot")
    before = platform.fleet.hydrations
    results = await asyncio.gather(*(client.get("/api/agents/hot/info", headers=H) for _ in range(20)))
    assert {r.status_code for r in results} == {200}
    assert platform.fleet.hydrations == before + 1


async def test_idle_agent_is_evicted_and_answers_again(
    client: httpx.AsyncClient, db: Database, platform: Platform, fake_model: FakeModelServer
) -> None:
    await create_agent(client, H, "sleepy")
    await point_at_fake(db, "sleepy", fake_model)
    await open_session(client, H, "sleepy", "s")
    fake_model.script(Reply(text="first"))
    assert (
        await client.post(
            "/api/agents/sleepy/sessions/s/messages", params={"wait": "true"}, json={"text": "a"}, headers=H
        )
    ).json()["text"] == "first"
    assert platform.fleet.peek("sleepy") is not None
    # Eviction starts only now, so the check above cannot race it however slow the machine.
    platform.fleet.ttl_seconds = 0.2  # the eviction ticker then looks every 0.05 s
    platform.fleet.start()

    async def hot() -> bool:
        return platform.fleet.peek("sleepy") is not None

    await eventually(hot, lambda loaded: not loaded, what="the idle agent evicted")
    fake_model.script(Reply(text="second"))
    again = await client.post(
        "/api/agents/sleepy/sessions/s/messages", params={"wait": "true"}, json={"text": "b"}, headers=H
    )
    assert again.json()["text"] == "second"
    # Context survived eviction: the model saw the first exchange.
    assert "first" in fake_model.received[-1].text()


async def test_config_and_security_round_trip(client: httpx.AsyncClient) -> None:
    await create_agent(client, H, "conf")
    config = (await client.get("/api/agents/conf/config", headers=H)).json()
    assert config["model"]["provider"] == "openrouter"
    assert config["model"]["model"] == "google/gemini-3-flash-preview"
    assert config["model"]["max_tokens"] == 8192
    assert config["memory"]["introspection"]["turn_interval"] == 5
    config["model"]["model"] = "openai/gpt-5-mini"
    assert (await client.put("/api/agents/conf/config", json=config, headers=H)).json() == {"ok": True}
    assert (await client.get("/api/agents/conf/config", headers=H)).json()["model"][
        "model"
    ] == "openai/gpt-5-mini"
    bad = await client.put("/api/agents/conf/config", json={"model": {"max_tokens": -5}}, headers=H)
    assert bad.status_code == 400
    assert "max_tokens" in bad.json()["error"]["message"]
    assert (await client.put("/api/agents/conf/config", json=[1], headers=H)).status_code == 400
    assert (
        await client.put("/api/agents/conf/security", json={"access": "secret"}, headers=H)
    ).status_code == 400
    assert (await client.put("/api/agents/conf/security", json={"access": "private"}, headers=H)).json() == {
        "ok": True
    }
    assert (await client.get("/api/agents/conf/security", headers=H)).json() == {"access": "private"}
    assert (await client.get("/api/agents/ghost/config", headers=H)).status_code == 404
    assert (await client.get("/api/agents/conf/config")).status_code == 401


COUNT = sessions.MessageCount("hi", "hi")


async def test_a_turn_left_without_a_worker_in_this_process_is_ended_once_its_lease_runs_out(
    client: httpx.AsyncClient, db: Database, platform: Platform
) -> None:
    await create_agent(client, H, "orphan")
    await open_session(client, H, "orphan", "s")
    async with db.transaction() as tx:
        await turns.queue_turn(
            tx, "orphan", "s", message_id=None, request={"correlationId": "c-1"}, counting=COUNT
        )
        claim = await turns.claim_next(tx, "orphan", "s", lease=turns.Lease(platform.runtime.instance_id, 60))
    assert claim is not None
    claimed = claim.turn
    assert claimed is not None
    assert await platform.recovery.sweep() == 0  # its lease still runs: a worker here may hold it
    async with db.transaction() as tx:
        await tx.execute(
            text("UPDATE turns SET lease_expires_at = now() - interval '1 second' WHERE id = :id"),
            {"id": claimed.id},
        )
    assert await platform.recovery.sweep() == 1
    async with db.transaction() as tx:
        session = await sessions.get_record(tx, "orphan", "s")
        turn = await turns.get_turn(tx, claimed.id)
    assert session is not None
    assert session.status == "idle"
    assert turn is not None
    assert turn.status == "error"


async def test_leases_of_held_turns_are_renewed_together_until_released(
    client: httpx.AsyncClient, db: Database
) -> None:
    await create_agent(client, H, "leased")
    claimed = []
    for session_id in ("a", "b"):
        await open_session(client, H, "leased", session_id)
        async with db.transaction() as tx:
            await turns.queue_turn(tx, "leased", session_id, message_id=None, request={}, counting=COUNT)
            claim = await turns.claim_next(tx, "leased", session_id, lease=turns.Lease("me", 0.6))
        assert claim is not None
        assert claim.turn is not None
        claimed.append(claim.turn.id)

    async def expired() -> list[bool]:
        async with db.transaction() as tx:
            rows = await tx.execute(
                text("SELECT lease_expires_at < now() FROM turns WHERE id = ANY(:ids) ORDER BY id"),
                {"ids": claimed},
            )
            return [bool(r[0]) for r in rows]

    leases = Leases(db, "me", lease_seconds=0.6)
    try:
        for turn_id in claimed:
            leases.hold(turn_id)
        await asyncio.sleep(1.2)  # two leases' length: alive only if renewed
        assert await expired() == [False, False]
        leases.release(claimed[0])
        await eventually(expired, lambda found: found == [True, False], what="the released lease run out")
    finally:
        await leases.aclose()
    await eventually(expired, lambda found: found == [True, True], what="every lease run out after close")


async def test_new_agent_with_an_owner(client: httpx.AsyncClient, db: Database) -> None:
    async with db.transaction() as tx:
        await users.insert_user(tx, "usr-ann", "Ann")
    made = await client.post("/api/agents", json={"agentId": "anns", "ownerUserId": "usr-ann"}, headers=H)
    assert made.status_code == 201
    owned = (await client.get("/api/admin/users/usr-ann/agents", headers=H)).json()
    assert [(a["agentId"], a["role"]) for a in owned] == [("anns", "owner")]

    nobody = await client.post(
        "/api/agents", json={"agentId": "orphan", "ownerUserId": "usr-none"}, headers=H
    )
    assert nobody.status_code == 404
    assert nobody.json()["error"]["code"] == "not_found"
    assert (await client.get("/api/agents/orphan/info", headers=H)).status_code == 404  # nothing kept


async def test_an_agent_whose_workspace_cannot_be_made_still_starts(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    spec = {"agentId": "stuck", "workspaceDir": str(blocker / "workspace")}
    assert (await client.post("/api/agents", json=spec, headers=H)).status_code == 201
    started = await client.post("/api/agents/stuck/manage/start", headers=H)
    assert started.status_code == 200
    assert started.json()["status"] == "running"
