"""Tokens, users, memberships, visibility, secrets hygiene, async approvals and fan-out."""

from __future__ import annotations

import base64
import logging
import time

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import text

from openhermit.gateway.platform import Platform
from openhermit.store.engine import Database
from openhermit.store.repos import agents, instructions, users
from openhermit.testing.fake_model import FakeModelServer, Reply
from tests.runtime_helpers import create_agent, open_session, point_at_fake

H = {"Authorization": "Bearer test-admin-token"}


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def device_key(private: ec.EllipticCurvePrivateKey, stamp: int) -> str:
    raw = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    signature = private.sign(str(stamp).encode(), ec.ECDSA(hashes.SHA256()))
    return f"{_b64url(raw)}.{stamp}.{_b64url(signature)}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_device_key_login(client: httpx.AsyncClient) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    body = {
        "grant_type": "device-key",
        "device_key": device_key(key, int(time.time())),
        "display_name": "Ada",
    }
    first = await client.post("/api/auth/token", json=body)
    assert first.status_code == 200, first.text
    issued = first.json()
    assert issued["isNewDevice"] is True
    assert issued["displayName"] == "Ada"
    assert issued["expiresAt"] > time.time() + 23 * 3600
    again = (await client.post("/api/auth/token", json={**body, "display_name": None})).json()
    assert again["isNewDevice"] is False
    assert again["userId"] == issued["userId"]
    assert (await client.get("/api/users/me/agents", headers=bearer(issued["token"]))).json() == []

    stale = {"grant_type": "device-key", "device_key": device_key(key, int(time.time()) - 600)}
    assert (await client.post("/api/auth/token", json=stale)).status_code == 401
    other = ec.generate_private_key(ec.SECP256R1())
    forged_key, stamp, _ = device_key(key, int(time.time())).split(".")
    forged_sig = device_key(other, int(stamp)).split(".")[2]
    forged = {"grant_type": "device-key", "device_key": f"{forged_key}.{stamp}.{forged_sig}"}
    assert (await client.post("/api/auth/token", json=forged)).status_code == 401
    assert (await client.post("/api/auth/token", json={"grant_type": "password"})).status_code == 400


async def test_exchange_token_works_once(client: httpx.AsyncClient) -> None:
    issued = await client.post(
        "/api/admin/auth/issue-token",
        json={"channel": "sso", "channelUserId": "ada@example.com", "purpose": "exchange", "ttlSeconds": 60},
        headers=H,
    )
    assert issued.json()["purpose"] == "exchange"
    exchange_token = issued.json()["token"]
    # An exchange token is not a session credential.
    assert (await client.get("/api/users/me/agents", headers=bearer(exchange_token))).status_code == 401
    first = await client.post("/api/auth/exchange", json={"token": exchange_token})
    assert first.status_code == 200
    assert (
        await client.get("/api/users/me/agents", headers=bearer(first.json()["token"]))
    ).status_code == 200
    second = await client.post("/api/auth/exchange", json={"token": exchange_token})
    assert second.status_code == 401
    assert (
        await client.post(
            "/api/admin/auth/issue-token", json={"channel": "admin", "channelUserId": "x"}, headers=H
        )
    ).status_code == 400


async def test_members_roles_and_visibility(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    await create_agent(client, H, "team")
    await point_at_fake(db, "team", fake_model)
    alice = (
        await client.post(
            "/api/admin/auth/issue-token", json={"channel": "cli", "channelUserId": "alice"}, headers=H
        )
    ).json()
    bob = (
        await client.post(
            "/api/admin/auth/issue-token", json={"channel": "cli", "channelUserId": "bob"}, headers=H
        )
    ).json()
    promoted = await client.post(f"/api/agents/team/users/{alice['userId']}/promote-to-owner", headers=H)
    assert promoted.json() == {"ok": True, "userId": alice["userId"], "role": "owner"}
    conflict = await client.post(f"/api/agents/team/users/{bob['userId']}/promote-to-owner", headers=H)
    assert conflict.status_code == 409
    # Public agent: Bob becomes a guest on first contact.
    bob_h, alice_h = bearer(bob["token"]), bearer(alice["token"])
    assert (await client.get("/api/agents/team/info", headers=bob_h)).status_code == 200
    ownership = (await client.get("/api/agents/team/ownership", headers=bob_h)).json()
    assert ownership["hasOwner"] is True
    assert ownership["me"]["role"] == "guest"
    members = (await client.get("/api/agents/team/members", headers=alice_h)).json()
    assert {m["userId"]: m["role"] for m in members} == {alice["userId"]: "owner", bob["userId"]: "guest"}
    assert (await client.get("/api/agents/team/members", headers=bob_h)).status_code == 404

    # Sessions: Bob sees his own; Alice (owner) may read it but lists only hers unless observing.
    spec = {"sessionId": "api:bob", "source": {"kind": "api", "interactive": True}}
    assert (await client.post("/api/agents/team/sessions", json=spec, headers=bob_h)).status_code == 200
    fake_model.script(Reply(text="hi bob"))
    sent = await client.post(
        "/api/agents/team/sessions/api:bob/messages",
        params={"wait": "true"},
        json={"text": "hello"},
        headers=bob_h,
    )
    assert sent.json()["text"] == "hi bob"
    assert [
        s["sessionId"] for s in (await client.get("/api/agents/team/sessions", headers=bob_h)).json()
    ] == ["api:bob"]
    assert (await client.get("/api/agents/team/sessions", headers=alice_h)).json() == []
    observed = (
        await client.get("/api/agents/team/sessions", params={"observe": "true"}, headers=alice_h)
    ).json()
    assert [s["sessionId"] for s in observed] == ["api:bob"]
    assert (
        await client.get("/api/agents/team/sessions/api:bob/messages", headers=alice_h)
    ).status_code == 200
    # Carol, another guest, cannot see or write Bob's session: 404, never 403.
    carol = (
        await client.post(
            "/api/admin/auth/issue-token", json={"channel": "cli", "channelUserId": "carol"}, headers=H
        )
    ).json()
    carol_h = bearer(carol["token"])
    assert (
        await client.get("/api/agents/team/sessions/api:bob/messages", headers=carol_h)
    ).status_code == 404
    assert (
        await client.post("/api/agents/team/sessions/api:bob/messages", json={"text": "x"}, headers=carol_h)
    ).status_code == 404
    assert (
        await client.post("/api/agents/team/sessions/inbox/messages", json={"text": "x"}, headers=alice_h)
    ).status_code == 403
    # Bob may only speak as himself.
    impersonation = {"text": "x", "sender": {"channel": "cli", "channelUserId": "alice"}}
    assert (
        await client.post(
            "/api/agents/team/sessions/api:bob/messages",
            params={"append": "true"},
            json=impersonation,
            headers=bob_h,
        )
    ).status_code == 401
    # Owners add others but cannot grant owner; private agents refuse self-join.
    added = await client.post(
        "/api/agents/team/members",
        json={"channel": "cli", "channelUserId": "dan", "role": "user"},
        headers=alice_h,
    )
    assert added.json()["role"] == "user"
    assert (
        await client.post(
            "/api/agents/team/members", json={"userId": carol["userId"], "role": "owner"}, headers=alice_h
        )
    ).status_code == 400
    await client.put("/api/agents/team/security", json={"access": "private"}, headers=alice_h)
    erin = (
        await client.post(
            "/api/admin/auth/issue-token", json={"channel": "cli", "channelUserId": "erin"}, headers=H
        )
    ).json()
    assert (await client.get("/api/agents/team/info", headers=bearer(erin["token"]))).status_code == 404
    assert (
        await client.post(
            "/api/agents/team/members", json={"userId": erin["userId"]}, headers=bearer(erin["token"])
        )
    ).status_code == 404
    mine = (await client.get("/api/users/me/agents", headers=bob_h)).json()
    assert mine == [{"agentId": "team", "role": "guest", "name": None, "status": "active"}]


async def test_protected_agent_self_join_needs_the_access_token(client: httpx.AsyncClient) -> None:
    await create_agent(client, H, "club")
    await client.put(
        "/api/agents/club/security", json={"access": "protected", "access_token": "sesame"}, headers=H
    )
    frank = (
        await client.post(
            "/api/admin/auth/issue-token", json={"channel": "cli", "channelUserId": "frank"}, headers=H
        )
    ).json()
    frank_h = bearer(frank["token"])
    assert (await client.get("/api/agents/club/info", headers=frank_h)).status_code == 404
    wrong = await client.post(
        "/api/agents/club/members", json={"userId": frank["userId"], "accessToken": "nope"}, headers=frank_h
    )
    assert wrong.status_code == 404
    joined = await client.post(
        "/api/agents/club/members",
        json={"userId": frank["userId"], "accessToken": "sesame", "role": "owner"},
        headers=frank_h,
    )
    assert joined.json()["role"] == "guest"  # a self-joiner never becomes owner
    assert (await client.get("/api/agents/club/info", headers=frank_h)).status_code == 200


async def test_identity_link_and_merge(db: Database) -> None:
    async with db.transaction() as tx:
        a, _ = await users.ensure_user(tx, "telegram", "111", "Ann")
        b, _ = await users.ensure_user(tx, "web", "fp", "Ann on web")
        await agents.insert_agent(tx, "m", workspace_dir="/tmp/m")
        await users.set_role(tx, b, "m", "user")
        await users.merge(tx, b, a)
        assert await users.resolve(tx, "web", "fp") == a
        assert await users.get_user(tx, b) is None
        assert await users.role_of(tx, a, "m") == "user"
        c, _ = await users.ensure_user(tx, "slack", "U1")
        await users.link_identity(tx, a, "slack", "U1")  # c is left without identities
        assert await users.get_user(tx, c) is None


async def test_canary_secret_never_leaks(
    client: httpx.AsyncClient,
    db: Database,
    fake_model: FakeModelServer,
    platform: Platform,
    caplog: pytest.LogCaptureFixture,
) -> None:
    canary = "sk-canary-7f3a9c1e5b2d4806"
    caplog.set_level(logging.DEBUG)
    await create_agent(client, H, "vault")
    await point_at_fake(
        db,
        "vault",
        fake_model,
        model={
            "provider": "acme",
            "model": "m",
            "base_url": fake_model.openai_base_url,
            "api": "openai-completions",
            "max_retries": 0,
        },
    )
    assert (
        await client.put("/api/agents/vault/secrets/ACME_API_KEY", json={"value": canary}, headers=H)
    ).json() == {"ok": True}
    assert (
        await client.put(
            "/api/agents/vault/secrets/PASS", json={"value": canary + "-2", "passThrough": True}, headers=H
        )
    ).status_code == 200
    await open_session(client, H, "vault", "s")
    fake_model.script(Reply(tool_calls=[("memory_list", {})]), Reply(text="done"))
    responses = [
        await client.post(
            "/api/agents/vault/sessions/s/messages", params={"wait": "true"}, json={"text": "hi"}, headers=H
        ),
        await client.get("/api/agents/vault/secrets", headers=H),
        await client.get("/api/agents/vault/sessions/s/messages", headers=H),
        await client.get("/api/agents/vault/config", headers=H),
        await client.get("/api/agents/vault/security", headers=H),
        await client.get("/api/admin/stats", headers=H),
        await client.get("/api/admin/logs", params={"lines": "1000"}, headers=H),
        await client.get("/metrics"),
        await client.get("/api/admin/agents/fleet", headers=H),
    ]
    masked = responses[1].json()
    assert masked["ACME_API_KEY"] == {"masked": "sk-c********4806", "passThrough": False}
    assert masked["PASS"]["passThrough"] is True
    for response in responses:
        assert canary not in response.text, response.request.url
    assert all(canary not in r.text() for r in fake_model.received)
    assert fake_model.received[0].headers["authorization"] == f"Bearer {canary}"  # used, only as the key
    async with db.transaction() as tx:
        dumped = (
            await tx.execute(
                text("SELECT string_agg(payload::text || coalesce(content, ''), ' ') FROM session_events")
            )
        ).scalar_one()
        stored = (
            await tx.execute(text("SELECT string_agg(value_ciphertext, ' ') FROM agent_secrets"))
        ).scalar_one()
    assert canary not in dumped
    assert canary not in stored
    assert canary not in caplog.text


async def test_async_approval_flow(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    await create_agent(client, H, "guarded")
    await point_at_fake(db, "guarded", fake_model)
    gus = (
        await client.post(
            "/api/admin/auth/issue-token", json={"channel": "cli", "channelUserId": "gus"}, headers=H
        )
    ).json()
    gus_h = bearer(gus["token"])
    policy = {
        "resourceType": "tool",
        "resourceKey": "memory_add",
        "effect": "require_approval",
        "grants": [{"type": "any"}],
    }
    assert (await client.post("/api/agents/guarded/policies", json=policy, headers=H)).status_code == 201
    spec = {"sessionId": "api:gus", "source": {"kind": "api", "interactive": True}}
    await client.post("/api/agents/guarded/sessions", json=spec, headers=gus_h)
    fake_model.script(
        Reply(tool_calls=[("memory_add", {"key": "k", "content": "v"})]), Reply(text="asked the owner")
    )
    body = (
        await client.post(
            "/api/agents/guarded/sessions/api:gus/messages",
            params={"wait": "true"},
            json={"text": "remember"},
            headers=gus_h,
        )
    ).json()
    assert body["toolCalls"][0]["isError"] is True
    assert "Approval required" in body["toolCalls"][0]["text"]
    [pending] = (
        await client.get("/api/agents/guarded/approvals", params={"status": "pending"}, headers=H)
    ).json()
    assert pending["requesterId"] == gus["userId"]
    inbox = (await client.get("/api/agents/guarded/sessions/inbox/messages", headers=H)).json()
    assert inbox[-1]["actions"][0]["shortId"] == pending["shortId"]
    reviewed = await client.post(
        f"/api/agents/guarded/approvals/by-short/{pending['shortId']}/review",
        json={"decision": "approved", "resolution": "persistent"},
        headers=H,
    )
    assert reviewed.json()["status"] == "approved"
    again = await client.post(
        f"/api/agents/guarded/approvals/{pending['id']}/review", json={"decision": "rejected"}, headers=H
    )
    assert again.status_code == 400
    rules = (await client.get("/api/agents/guarded/policies", headers=H)).json()
    assert any(
        r["effect"] == "allow" and r["grants"] == [{"type": "user", "value": gus["userId"]}] for r in rules
    )
    history = (await client.get("/api/agents/guarded/sessions/api:gus/messages", headers=gus_h)).json()
    assert history  # the requester's session also got the resolution event
    fake_model.script(Reply(tool_calls=[("memory_add", {"key": "k", "content": "v"})]), Reply(text="saved"))
    body = (
        await client.post(
            "/api/agents/guarded/sessions/api:gus/messages",
            params={"wait": "true"},
            json={"text": "now?"},
            headers=gus_h,
        )
    ).json()
    assert body["toolCalls"][0]["isError"] is False


async def test_guest_tool_list_is_filtered(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    await create_agent(client, H, "tools")
    await point_at_fake(db, "tools", fake_model)
    hank = (
        await client.post(
            "/api/admin/auth/issue-token", json={"channel": "cli", "channelUserId": "hank"}, headers=H
        )
    ).json()
    hank_h = bearer(hank["token"])
    await client.post(
        "/api/agents/tools/sessions",
        json={"sessionId": "api:h", "source": {"kind": "api", "interactive": True}},
        headers=hank_h,
    )
    await client.post(
        "/api/agents/tools/sessions/api:h/messages",
        params={"wait": "true"},
        json={"text": "hi"},
        headers=hank_h,
    )
    guest_tools = set(fake_model.received[-1].tool_names)
    assert "memory_recall" in guest_tools
    assert "memory_add" not in guest_tools  # owner+user only
    assert "instruction_update" not in guest_tools
    await open_session(client, H, "tools", "admin-s")
    await client.post(
        "/api/agents/tools/sessions/admin-s/messages", params={"wait": "true"}, json={"text": "hi"}, headers=H
    )
    assert {"memory_add", "instruction_update", "policy_set"} <= set(fake_model.received[-1].tool_names)


async def test_fanout_over_a_thousand_agents(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    async with db.transaction() as tx:
        await tx.execute(
            text(
                "INSERT INTO agents (agent_id, workspace_dir) "
                "SELECT 'fleet-' || g, '/tmp/fleet' FROM generate_series(1, 1000) g"
            )
        )
    response = await client.post(
        "/api/admin/instructions/fanout",
        json={"mode": "append", "key": "rules", "content": "Never share PII."},
        headers=H,
    )
    body = response.json()
    assert len(body["agents"]) == 1000
    assert body["seconds"] >= 0  # reported for information; how fast is for bench/, not a test
    async with db.transaction() as tx:
        count = (
            await tx.execute(
                text(
                    "SELECT count(*) FROM instructions "
                    "WHERE key = 'rules' AND content LIKE '%Never share PII.'"
                )
            )
        ).scalar_one()
    assert count == 1000
    await client.post("/api/agents", json={"agentId": "fleet-probe"}, headers=H)
    await client.post(
        "/api/admin/instructions/fanout",
        json={"mode": "append", "key": "rules", "content": "Always cite sources."},
        headers=H,
    )
    await point_at_fake(db, "fleet-probe", fake_model)
    await open_session(client, H, "fleet-probe", "s")
    await client.post(
        "/api/agents/fleet-probe/sessions/s/messages", params={"wait": "true"}, json={"text": "hi"}, headers=H
    )
    assert "Always cite sources." in fake_model.received[-1].system_prompt
    async with db.transaction() as tx:
        assert (await instructions.get_instruction(tx, "fleet-7", "rules")).content.endswith(
            "Always cite sources."
        )  # type: ignore[union-attr]


async def test_identity_link_across_channels(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    await create_agent(client, H, "linker")
    await point_at_fake(db, "linker", fake_model)
    ivy_cli = (
        await client.post(
            "/api/admin/auth/issue-token", json={"channel": "cli", "channelUserId": "ivy"}, headers=H
        )
    ).json()
    ivy_web = (
        await client.post(
            "/api/admin/auth/issue-token", json={"channel": "web", "channelUserId": "ivy-key"}, headers=H
        )
    ).json()
    assert ivy_cli["userId"] != ivy_web["userId"]
    for token, sid in ((ivy_cli["token"], "cli:ivy"), (ivy_web["token"], "web:ivy")):
        spec = {"sessionId": sid, "source": {"kind": "api", "interactive": True}}
        await client.post("/api/agents/linker/sessions", json=spec, headers=bearer(token))
    fake_model.script(Reply(tool_calls=[("identity_link_request", {})]), Reply(text="code sent"))
    asked = (
        await client.post(
            "/api/agents/linker/sessions/cli:ivy/messages",
            params={"wait": "true"},
            json={"text": "link me"},
            headers=bearer(ivy_cli["token"]),
        )
    ).json()
    code = asked["toolCalls"][0]["text"].split("code is ")[1][:8]
    fake_model.script(Reply(tool_calls=[("identity_link_confirm", {"token": code})]), Reply(text="linked"))
    confirmed = (
        await client.post(
            "/api/agents/linker/sessions/web:ivy/messages",
            params={"wait": "true"},
            json={"text": code},
            headers=bearer(ivy_web["token"]),
        )
    ).json()
    assert confirmed["toolCalls"][0]["isError"] is False, confirmed
    async with db.transaction() as tx:
        assert await users.resolve(tx, "web", "ivy-key") == ivy_cli["userId"]
        assert await users.get_user(tx, ivy_web["userId"]) is None  # left without identities
    fake_model.script(Reply(tool_calls=[("identity_link_confirm", {"token": code})]), Reply(text="again"))
    reused = (
        await client.post(
            "/api/agents/linker/sessions/cli:ivy/messages",
            params={"wait": "true"},
            json={"text": code},
            headers=bearer(ivy_cli["token"]),
        )
    ).json()
    assert reused["toolCalls"][0]["isError"] is True
