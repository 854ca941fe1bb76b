"""Every route, for every kind of caller has an expected status.

The test fails when the app has a route without a row here, so a new route cannot ship
without deciding who may call it.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest

from openhermit.attachments.service import Upload
from openhermit.gateway.platform import Platform
from openhermit.protocol.capabilities import McpServerDefinition
from openhermit.protocol.sessions import SessionSource, SessionSpec
from openhermit.runtime import attachments as runtime_attachments
from openhermit.runtime.skill_files import BUILTIN_DIR
from openhermit.store.engine import Database
from openhermit.store.repos import (
    agents,
    approvals,
    channels,
    instructions,
    mcp_servers,
    policies,
    sandboxes,
    schedules,
    sessions,
    skills,
    users,
)
from tests.conftest import ADMIN_TOKEN

PRINCIPALS = (
    "anonymous",
    "admin",
    "owner",
    "user",
    "guest",
    "other_member",
    "channel",
    "other_channel",
    "expired",
    "tampered",
)
OK = "ok"
STREAM = "stream"
counter = itertools.count()


@dataclass
class World:
    client: httpx.AsyncClient
    db: Database
    platform: Platform
    headers: dict[str, dict[str, str]]
    ids: dict[str, str]

    def uid(self, prefix: str) -> str:
        return f"{prefix}{next(counter)}"


Request = dict[str, Any]
Builder = Callable[[World], Awaitable[Request]]


def fixed(method: str, url: str, json: Any = None, params: dict[str, str] | None = None) -> Builder:
    async def build(world: World) -> Request:
        return {"method": method, "url": url, "json": json, "params": params}

    return build


# Expected outcome per principal, for each kind of route.
def expect(
    admin: str, owner: str, user: str, guest: str, other: str, chan: str, other_chan: str
) -> dict[str, Any]:
    return {
        "anonymous": 401,
        "admin": admin,
        "owner": owner,
        "user": user,
        "guest": guest,
        "other_member": other,
        "channel": chan,
        "other_channel": other_chan,
        "expired": 401,
        "tampered": 401,
    }


PUBLIC = {p: OK for p in PRINCIPALS}
ADMIN_ONLY = expect(OK, 401, 401, 401, 401, 401, 401)
OWNER = expect(OK, OK, 404, 404, 404, 404, 401)
MEMBER = expect(OK, OK, OK, OK, 404, OK, 401)
SESSION = expect(OK, OK, OK, 404, 404, OK, 401)
ANY_CALLER = expect(OK, OK, OK, OK, OK, OK, OK)
USER_TOKEN = expect(401, OK, OK, OK, OK, 401, 401)
AUTH_REJECTS = {p: 401 for p in PRINCIPALS}


async def _new_session(world: World) -> str:
    session_id = world.uid("ext:d")
    spec = SessionSpec(session_id=session_id, source=SessionSource(kind="api", interactive=True))
    async with world.db.transaction() as tx:
        await sessions.insert_session(tx, "main", spec, user_ids=[world.ids["user"]])
    return session_id


async def delete_session(world: World) -> Request:
    return {"method": "DELETE", "url": f"/api/agents/main/sessions/{await _new_session(world)}"}


async def create_agent(world: World) -> Request:
    return {"method": "POST", "url": "/api/agents", "json": {"agentId": world.uid("made-")}}


async def open_session(world: World) -> Request:
    spec = {"sessionId": world.uid("ext:new"), "source": {"kind": "api", "interactive": True}}
    return {"method": "POST", "url": "/api/agents/main/sessions", "json": spec}


async def promote(world: World) -> Request:
    agent_id, user_id = world.uid("promo-"), world.uid("usr-promo")
    async with world.db.transaction() as tx:
        await agents.insert_agent(tx, agent_id, workspace_dir=f"/tmp/{agent_id}")
        await users.insert_user(tx, user_id)
    return {"method": "POST", "url": f"/api/agents/{agent_id}/users/{user_id}/promote-to-owner"}


async def create_channel(world: World) -> Request:
    return {"method": "POST", "url": "/api/agents/main/channels", "json": {"namespace": world.uid("ns")}}


async def delete_channel(world: World) -> Request:
    async with world.db.transaction() as tx:
        row = await channels.insert_external(
            tx,
            "main",
            world.uid("gone"),
            label=None,
            token_prefix="oh_ch_zzzzzz",
            ciphertext="x",
            created_by=None,
        )
    return {"method": "DELETE", "url": f"/api/agents/main/channels/{row.id}"}


async def delete_secret(world: World) -> Request:
    name = world.uid("SECRET_")
    await world.platform.secrets.set("main", name, "value")
    return {"method": "DELETE", "url": f"/api/agents/main/secrets/{name}"}


async def delete_instruction(world: World) -> Request:
    key = world.uid("note")
    async with world.db.transaction() as tx:
        await instructions.put_instruction(tx, "main", key, "text")
    return {"method": "DELETE", "url": f"/api/agents/main/instructions/{key}"}


async def delete_member(world: World) -> Request:
    user_id = world.uid("usr-m")
    async with world.db.transaction() as tx:
        await users.insert_user(tx, user_id)
        await users.set_role(tx, user_id, "main", "guest")
    return {"method": "DELETE", "url": f"/api/agents/main/members/{user_id}"}


async def delete_policy(world: World) -> Request:
    key = world.uid("tool_")
    async with world.db.transaction() as tx:
        await policies.upsert_policy(tx, "main", "tool", key, "deny", [{"type": "any"}], None)
    return {"method": "DELETE", "url": f"/api/agents/main/policies/tool/{key}"}


async def _approval(world: World) -> Any:
    async with world.db.transaction() as tx:
        return await approvals.create(tx, "main", "ext:s", world.ids["user"], "tool", "memory_add", {})


async def get_approval(world: World) -> Request:
    return {"method": "GET", "url": f"/api/agents/main/approvals/{(await _approval(world)).id}"}


async def review_approval(world: World) -> Request:
    record = await _approval(world)
    return {
        "method": "POST",
        "url": f"/api/agents/main/approvals/{record.id}/review",
        "json": {"decision": "rejected"},
    }


async def review_by_short(world: World) -> Request:
    record = await _approval(world)
    url = f"/api/agents/main/approvals/by-short/{record.short_id}/review"
    return {"method": "POST", "url": url, "json": {"decision": "approved"}}


async def upload_attachment(world: World) -> Request:
    return {"method": "POST", "url": f"{S}/attachments", "files": {"file": ("a.txt", b"abc", "text/plain")}}


async def _attachment_id(world: World) -> str:
    upload = Upload(agent_id="main", session_id="ext:s", filename="a.txt", data=b"abc")
    return (await runtime_attachments.upload(world.platform.runtime, upload)).id


async def get_attachment(world: World) -> Request:
    return {"method": "GET", "url": f"{S}/attachments/{await _attachment_id(world)}"}


async def attachment_bytes(world: World) -> Request:
    return {"method": "GET", "url": f"{S}/attachments/{await _attachment_id(world)}/bytes"}


async def _schedule(world: World) -> str:
    schedule_id = world.uid("sched")
    async with world.db.transaction() as tx:
        await schedules.insert_schedule(
            tx, agent_id="main", schedule_id=schedule_id, type="cron", cron_expression="0 9 * * *", prompt="p"
        )
    return schedule_id


def on_schedule(method: str, suffix: str = "", json: Any = None) -> Builder:
    async def build(world: World) -> Request:
        url = f"/api/agents/main/schedules/{await _schedule(world)}{suffix}"
        return {"method": method, "url": url, "json": json}

    return build


async def _registered_skill(world: World) -> str:
    skill_id = world.uid("sk-")
    async with world.db.transaction() as tx:
        await skills.upsert_skill(
            tx,
            skill_id=skill_id,
            slug=skill_id,
            name="S",
            description="d",
            path=str(BUILTIN_DIR / "skill-creator"),
            source="system",
        )
    return skill_id


async def _registered_server(world: World) -> str:
    server_id = world.uid("srv-")
    async with world.db.transaction() as tx:
        await mcp_servers.upsert_server(
            tx, McpServerDefinition(id=server_id, name="S", url="http://127.0.0.1:9/mcp")
        )
    return server_id


def on_skill(method: str, pattern: str, json: Any = None) -> Builder:
    async def build(world: World) -> Request:
        return {"method": method, "url": pattern.format(await _registered_skill(world)), "json": json}

    return build


async def create_schedule(world: World) -> Request:
    body = {"type": "cron", "prompt": "p", "cronExpression": "0 9 * * *", "id": world.uid("new")}
    return {"method": "POST", "url": "/api/agents/main/schedules", "json": body}


async def _sandbox(world: World) -> str:
    alias = world.uid("box")
    async with world.db.transaction() as tx:
        await sandboxes.create_sandbox(tx, "main", alias, "local", {})
    return alias


async def create_sandbox(world: World) -> Request:
    body = {"alias": world.uid("box"), "type": "local", "config": {}}
    return {"method": "POST", "url": "/api/agents/main/sandboxes", "json": body}


async def get_sandbox(world: World) -> Request:
    return {"method": "GET", "url": f"/api/agents/main/sandboxes/{await _sandbox(world)}"}


async def delete_sandbox(world: World) -> Request:
    return {"method": "DELETE", "url": f"/api/agents/main/sandboxes/{await _sandbox(world)}"}


PRESETS = {"presets": {"local": {"type": "local", "config": {}}}, "autoProvisionSandbox": "local"}


def on_server(method: str, pattern: str, json: Any = None) -> Builder:
    async def build(world: World) -> Request:
        return {"method": method, "url": pattern.format(await _registered_server(world)), "json": json}

    return build


async def register_skill(world: World) -> Request:
    body = {"id": world.uid("reg-"), "path": str(BUILTIN_DIR / "openhermit-guide")}
    return {"method": "POST", "url": "/api/admin/skills", "json": body}


async def register_server(world: World) -> Request:
    body = {"id": world.uid("new-"), "name": "N", "command": "true"}
    return {"method": "POST", "url": "/api/admin/mcp-servers", "json": body}


S = "/api/agents/main/sessions/ext:s"
MATRIX: dict[tuple[str, str], tuple[Builder, dict[str, Any]]] = {
    ("GET", "/health"): (fixed("GET", "/health"), PUBLIC),
    ("GET", "/metrics"): (fixed("GET", "/metrics"), PUBLIC),
    ("GET", "/api/agents/{agent_id}/health"): (fixed("GET", "/api/agents/main/health"), PUBLIC),
    ("POST", "/api/auth/token"): (
        fixed("POST", "/api/auth/token", {"grant_type": "device-key", "device_key": "bad.123.bad"}),
        AUTH_REJECTS,
    ),
    ("POST", "/api/auth/exchange"): (
        fixed("POST", "/api/auth/exchange", {"token": "not-a-jwt"}),
        AUTH_REJECTS,
    ),
    ("GET", "/api/admin/agents/fleet"): (fixed("GET", "/api/admin/agents/fleet"), ADMIN_ONLY),
    ("GET", "/api/admin/agents/{agent_id}/usage"): (fixed("GET", "/api/admin/agents/main/usage"), ADMIN_ONLY),
    ("POST", "/api/admin/auth/issue-token"): (
        fixed("POST", "/api/admin/auth/issue-token", {"channel": "api", "channelUserId": "x"}),
        ADMIN_ONLY,
    ),
    ("POST", "/api/admin/instructions/fanout"): (
        fixed("POST", "/api/admin/instructions/fanout", {"mode": "append", "key": "rules", "content": "x"}),
        ADMIN_ONLY,
    ),
    ("GET", "/api/admin/logs"): (fixed("GET", "/api/admin/logs"), ADMIN_ONLY),
    ("GET", "/api/admin/stats"): (fixed("GET", "/api/admin/stats"), ADMIN_ONLY),
    ("GET", "/api/admin/users"): (fixed("GET", "/api/admin/users"), ADMIN_ONLY),
    ("GET", "/api/admin/users/{user_id}/agents"): (
        fixed("GET", "/api/admin/users/usr-owner/agents"),
        ADMIN_ONLY,
    ),
    ("GET", "/api/admin/users/{user_id}/identities"): (
        fixed("GET", "/api/admin/users/usr-owner/identities"),
        ADMIN_ONLY,
    ),
    ("POST", "/api/admin/users/{user_id}/identities"): (
        fixed("POST", "/api/admin/users/usr-owner/identities", {"channel": "mail", "channelUserId": "o@x"}),
        ADMIN_ONLY,
    ),
    ("GET", "/api/agents"): (fixed("GET", "/api/agents"), ADMIN_ONLY),
    ("POST", "/api/agents"): (create_agent, ADMIN_ONLY),
    ("POST", "/api/agents/{agent_id}/manage/{action}"): (
        fixed("POST", "/api/agents/main/manage/start"),
        ADMIN_ONLY,
    ),
    ("POST", "/api/agents/{agent_id}/users/{user_id}/promote-to-owner"): (promote, ADMIN_ONLY),
    ("POST", "/api/users"): (
        fixed("POST", "/api/users", {"channel": "api", "channelUserId": "new"}),
        ADMIN_ONLY,
    ),
    ("GET", "/api/users/me/agents"): (fixed("GET", "/api/users/me/agents"), USER_TOKEN),
    ("GET", "/api/providers"): (fixed("GET", "/api/providers"), ANY_CALLER),
    ("GET", "/api/agents/{agent_id}/info"): (fixed("GET", "/api/agents/main/info"), MEMBER),
    ("GET", "/api/agents/{agent_id}/ownership"): (fixed("GET", "/api/agents/main/ownership"), MEMBER),
    ("GET", "/api/agents/{agent_id}/sessions"): (fixed("GET", "/api/agents/main/sessions"), MEMBER),
    ("POST", "/api/agents/{agent_id}/sessions"): (open_session, MEMBER),
    ("GET", "/api/agents/{agent_id}/sessions/{session_id}/messages"): (
        fixed("GET", f"{S}/messages"),
        SESSION,
    ),
    ("POST", "/api/agents/{agent_id}/sessions/{session_id}/messages"): (
        fixed("POST", f"{S}/messages", {"text": "hi"}, {"append": "true"}),
        SESSION,
    ),
    ("GET", "/api/agents/{agent_id}/sessions/{session_id}/events"): (
        fixed("GET", f"{S}/events"),
        {**SESSION, **{k: STREAM for k, v in SESSION.items() if v == OK}},
    ),
    ("POST", "/api/agents/{agent_id}/sessions/{session_id}/approve"): (
        fixed("POST", f"{S}/approve", {"toolCallId": "t", "approved": True}),
        SESSION,
    ),
    ("POST", "/api/agents/{agent_id}/sessions/{session_id}/interrupt"): (
        fixed("POST", f"{S}/interrupt"),
        SESSION,
    ),
    ("POST", "/api/agents/{agent_id}/sessions/{session_id}/checkpoint"): (
        fixed("POST", f"{S}/checkpoint", {"reason": "manual"}),
        SESSION,
    ),
    ("DELETE", "/api/agents/{agent_id}/sessions/{session_id}"): (delete_session, SESSION),
    ("POST", "/api/agents/{agent_id}/sessions/{session_id}/attachments"): (upload_attachment, SESSION),
    ("GET", "/api/agents/{agent_id}/sessions/{session_id}/attachments"): (
        fixed("GET", f"{S}/attachments"),
        SESSION,
    ),
    ("GET", "/api/agents/{agent_id}/sessions/{session_id}/attachments/{attachment_id}"): (
        get_attachment,
        SESSION,
    ),
    ("GET", "/api/agents/{agent_id}/sessions/{session_id}/attachments/{attachment_id}/bytes"): (
        attachment_bytes,
        SESSION,
    ),
    ("POST", "/api/agents/{agent_id}/members"): (
        fixed("POST", "/api/agents/main/members", {"channel": "cli", "channelUserId": "newbie"}),
        expect(OK, OK, 404, 404, 404, 404, 401),
    ),
    ("GET", "/api/agents/{agent_id}/members"): (fixed("GET", "/api/agents/main/members"), OWNER),
    ("DELETE", "/api/agents/{agent_id}/members/{user_id}"): (delete_member, OWNER),
    ("GET", "/api/agents/{agent_id}/config"): (fixed("GET", "/api/agents/main/config"), OWNER),
    ("PUT", "/api/agents/{agent_id}/config"): (fixed("PUT", "/api/agents/main/config", {}), OWNER),
    ("GET", "/api/agents/{agent_id}/security"): (fixed("GET", "/api/agents/main/security"), OWNER),
    ("PUT", "/api/agents/{agent_id}/security"): (
        fixed("PUT", "/api/agents/main/security", {"access": "private"}),
        OWNER,
    ),
    ("GET", "/api/agents/{agent_id}/secrets"): (fixed("GET", "/api/agents/main/secrets"), OWNER),
    ("PUT", "/api/agents/{agent_id}/secrets/{name}"): (
        fixed("PUT", "/api/agents/main/secrets/API_KEY", {"value": "v"}),
        OWNER,
    ),
    ("DELETE", "/api/agents/{agent_id}/secrets/{name}"): (delete_secret, OWNER),
    ("GET", "/api/agents/{agent_id}/instructions"): (fixed("GET", "/api/agents/main/instructions"), OWNER),
    ("GET", "/api/agents/{agent_id}/instructions/{key}"): (
        fixed("GET", "/api/agents/main/instructions/rules"),
        OWNER,
    ),
    ("PUT", "/api/agents/{agent_id}/instructions/{key}"): (
        fixed("PUT", "/api/agents/main/instructions/rules", {"content": "Be kind."}),
        OWNER,
    ),
    ("DELETE", "/api/agents/{agent_id}/instructions/{key}"): (delete_instruction, OWNER),
    ("GET", "/api/agents/{agent_id}/channels"): (fixed("GET", "/api/agents/main/channels"), OWNER),
    ("POST", "/api/agents/{agent_id}/channels"): (create_channel, OWNER),
    ("DELETE", "/api/agents/{agent_id}/channels/{channel_id}"): (delete_channel, OWNER),
    ("GET", "/api/agents/{agent_id}/policies"): (fixed("GET", "/api/agents/main/policies"), OWNER),
    ("POST", "/api/agents/{agent_id}/policies"): (
        fixed(
            "POST",
            "/api/agents/main/policies",
            {
                "resourceType": "tool",
                "resourceKey": "exec",
                "effect": "deny",
                "grants": [{"type": "role", "value": "guest"}],
            },
        ),
        OWNER,
    ),
    ("DELETE", "/api/agents/{agent_id}/policies/{resource_type}/{resource_key}"): (delete_policy, OWNER),
    ("GET", "/api/agents/{agent_id}/approvals"): (fixed("GET", "/api/agents/main/approvals"), OWNER),
    ("GET", "/api/agents/{agent_id}/approvals/{request_id}"): (get_approval, OWNER),
    ("POST", "/api/agents/{agent_id}/approvals/{request_id}/review"): (review_approval, OWNER),
    ("POST", "/api/agents/{agent_id}/approvals/by-short/{short_id}/review"): (review_by_short, OWNER),
    ("GET", "/api/agents/{agent_id}/schedules"): (fixed("GET", "/api/agents/main/schedules"), OWNER),
    ("POST", "/api/agents/{agent_id}/schedules"): (create_schedule, OWNER),
    ("PUT", "/api/agents/{agent_id}/schedules/{schedule_id}"): (
        on_schedule("PUT", json={"status": "paused"}),
        OWNER,
    ),
    ("DELETE", "/api/agents/{agent_id}/schedules/{schedule_id}"): (on_schedule("DELETE"), OWNER),
    ("POST", "/api/agents/{agent_id}/schedules/{schedule_id}/trigger"): (
        on_schedule("POST", "/trigger"),
        OWNER,
    ),
    ("GET", "/api/agents/{agent_id}/schedules/{schedule_id}/runs"): (on_schedule("GET", "/runs"), OWNER),
    ("GET", "/api/admin/schedules"): (fixed("GET", "/api/admin/schedules"), ADMIN_ONLY),
    ("GET", "/api/agents/{agent_id}/sandboxes"): (fixed("GET", "/api/agents/main/sandboxes"), OWNER),
    ("POST", "/api/agents/{agent_id}/sandboxes"): (create_sandbox, OWNER),
    ("GET", "/api/agents/{agent_id}/sandboxes/{alias}"): (get_sandbox, OWNER),
    ("DELETE", "/api/agents/{agent_id}/sandboxes/{alias}"): (delete_sandbox, OWNER),
    ("GET", "/api/sandbox-presets"): (fixed("GET", "/api/sandbox-presets"), ANY_CALLER),
    ("PUT", "/api/sandbox-presets"): (fixed("PUT", "/api/sandbox-presets", PRESETS), ADMIN_ONLY),
    ("GET", "/api/admin/sandboxes"): (fixed("GET", "/api/admin/sandboxes"), ADMIN_ONLY),
    ("GET", "/api/admin/skills"): (fixed("GET", "/api/admin/skills"), ADMIN_ONLY),
    ("GET", "/api/admin/skills/scan"): (fixed("GET", "/api/admin/skills/scan"), ADMIN_ONLY),
    ("GET", "/api/admin/skills/assignments"): (fixed("GET", "/api/admin/skills/assignments"), ADMIN_ONLY),
    ("POST", "/api/admin/skills"): (register_skill, ADMIN_ONLY),
    ("POST", "/api/admin/skills/sync"): (fixed("POST", "/api/admin/skills/sync", {}), ADMIN_ONLY),
    ("GET", "/api/admin/skills/{skill_id}"): (on_skill("GET", "/api/admin/skills/{}"), ADMIN_ONLY),
    ("POST", "/api/admin/skills/{skill_id}/enable"): (
        on_skill("POST", "/api/admin/skills/{}/enable", {"agentId": "main"}),
        ADMIN_ONLY,
    ),
    ("POST", "/api/admin/skills/{skill_id}/disable"): (
        on_skill("POST", "/api/admin/skills/{}/disable", {"agentId": "*"}),
        ADMIN_ONLY,
    ),
    ("DELETE", "/api/admin/skills/{skill_id}"): (on_skill("DELETE", "/api/admin/skills/{}"), ADMIN_ONLY),
    ("GET", "/api/agents/{agent_id}/skills"): (fixed("GET", "/api/agents/main/skills"), OWNER),
    ("POST", "/api/agents/{agent_id}/skills/{skill_id}/enable"): (
        on_skill("POST", "/api/agents/main/skills/{}/enable"),
        OWNER,
    ),
    ("POST", "/api/agents/{agent_id}/skills/{skill_id}/disable"): (
        on_skill("POST", "/api/agents/main/skills/{}/disable"),
        OWNER,
    ),
    ("GET", "/api/admin/mcp-servers"): (fixed("GET", "/api/admin/mcp-servers"), ADMIN_ONLY),
    ("GET", "/api/admin/mcp-servers/assignments"): (
        fixed("GET", "/api/admin/mcp-servers/assignments"),
        ADMIN_ONLY,
    ),
    ("POST", "/api/admin/mcp-servers"): (register_server, ADMIN_ONLY),
    ("GET", "/api/admin/mcp-servers/{server_id}"): (
        on_server("GET", "/api/admin/mcp-servers/{}"),
        ADMIN_ONLY,
    ),
    ("POST", "/api/admin/mcp-servers/{server_id}/enable"): (
        on_server("POST", "/api/admin/mcp-servers/{}/enable", {"agentId": "other"}),
        ADMIN_ONLY,
    ),
    ("POST", "/api/admin/mcp-servers/{server_id}/disable"): (
        on_server("POST", "/api/admin/mcp-servers/{}/disable", {"agentId": "*"}),
        ADMIN_ONLY,
    ),
    ("DELETE", "/api/admin/mcp-servers/{server_id}"): (
        on_server("DELETE", "/api/admin/mcp-servers/{}"),
        ADMIN_ONLY,
    ),
    ("GET", "/api/agents/{agent_id}/mcp-servers"): (fixed("GET", "/api/agents/main/mcp-servers"), OWNER),
    ("POST", "/api/agents/{agent_id}/mcp-servers/{server_id}/enable"): (
        on_server("POST", "/api/agents/main/mcp-servers/{}/enable"),
        OWNER,
    ),
    ("POST", "/api/agents/{agent_id}/mcp-servers/{server_id}/disable"): (
        on_server("POST", "/api/agents/main/mcp-servers/{}/disable"),
        OWNER,
    ),
}


@pytest.fixture
async def world(client: httpx.AsyncClient, db: Database, platform: Platform) -> World:
    signer = platform.signer
    async with db.transaction() as tx:
        for agent_id in ("main", "other"):
            await agents.insert_agent(
                tx, agent_id, workspace_dir=f"/tmp/{agent_id}", security={"access": "private"}
            )
        spec = SessionSpec(session_id="inbox", source=SessionSource(kind="inbox", interactive=False))
        await sessions.insert_session(tx, "main", spec)
        ids = {}
        for who, agent_id, role in (
            ("owner", "main", "owner"),
            ("user", "main", "user"),
            ("guest", "main", "guest"),
            ("other_member", "other", "user"),
        ):
            await users.insert_user(tx, f"usr-{who}", who)
            await users.link_identity(tx, f"usr-{who}", "cli", who)
            await users.set_role(tx, f"usr-{who}", agent_id, role)
            ids[who] = f"usr-{who}"
        await instructions.put_instruction(tx, "main", "rules", "Be brief.")
        spec = SessionSpec(session_id="ext:s", source=SessionSource(kind="api", interactive=True))
        await sessions.insert_session(tx, "main", spec, user_ids=[ids["user"]])
    headers: dict[str, dict[str, str]] = {
        "anonymous": {},
        "admin": {"Authorization": f"Bearer {ADMIN_TOKEN}"},
    }
    for who in ("owner", "user", "guest", "other_member"):
        token, _ = signer.mint("cli", who)
        headers[who] = {"Authorization": f"Bearer {token}"}
    for who, agent_id in (("channel", "main"), ("other_channel", "other")):
        made = await client.post(
            f"/api/agents/{agent_id}/channels", json={"namespace": "ext"}, headers=headers["admin"]
        )
        assert made.status_code == 201, made.text
        headers[who] = {"Authorization": f"Bearer {made.json()['token']}"}
    expired = jwt.encode(
        {
            "sub": "cli:owner",
            "channel": "cli",
            "channelUserId": "owner",
            "purpose": "session",
            "exp": int(time.time()) - 60,
        },
        "test-jwt-secret-of-at-least-32-bytes",
        algorithm="HS256",
    )
    headers["expired"] = {"Authorization": f"Bearer {expired}"}
    good = headers["owner"]["Authorization"]
    headers["tampered"] = {"Authorization": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")}
    return World(client, db, platform, headers, ids)


def test_every_route_has_a_row(client: httpx.AsyncClient) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    routes = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert routes - set(MATRIX) == set(), "routes without a row in the role matrix"
    assert set(MATRIX) - routes == set(), "rows for routes that no longer exist"


@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda r: f"{r[0]} {r[1]}")
async def test_role_matrix(world: World, route: tuple[str, str]) -> None:
    build, expected = MATRIX[route]
    failures = []
    for principal in PRINCIPALS:
        request = await build(world)
        call = world.client.request(
            request["method"],
            request["url"],
            json=request.get("json"),
            params=request.get("params"),
            files=request.get("files"),
            headers=world.headers[principal],
        )
        want = expected[principal]
        if want == STREAM:
            try:
                response = await asyncio.wait_for(call, 0.5)
            except TimeoutError:
                continue  # the stream opened and stays open
            failures.append(f"{principal}: expected an open stream, got {response.status_code}")
            continue
        response = await call
        got = response.status_code
        ok = 200 <= got < 300
        if (want == OK and not ok) or (want != OK and got != want):
            failures.append(f"{principal}: expected {want}, got {got} {response.text[:120]}")
        if not ok:
            assert set(response.json()) == {"error"}, response.text
    assert not failures, "\n".join(failures)
