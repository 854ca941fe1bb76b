"""MCP servers: real servers written with the `mcp` SDK (stdio and Streamable HTTP on
127.0.0.1), called by the fake model through the agent; failures, recovery and secrets."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from openhermit.config import Settings
from openhermit.store.engine import Database
from openhermit.store.repos import policies
from openhermit.testing.fake_model import FakeModelServer, Reply
from openhermit.testing.gateway_process import free_port
from tests.mcp.servers import HttpEchoServer, calls, stdio_definition
from tests.runtime_helpers import create_agent, open_session, point_at_fake

H = {"Authorization": "Bearer test-admin-token"}
SECRET = "s3cret-header-value-8472"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Short MCP timeouts and backoff, so failures and recoveries show within a test."""
    return settings.model_copy(
        update={
            "mcp_connect_timeout_seconds": 3.0,
            "mcp_call_timeout_seconds": 3.0,
            "mcp_retry_base_seconds": 0.2,
            "mcp_retry_max_seconds": 1.0,
        }
    )


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[HttpEchoServer]:
    server = HttpEchoServer(tmp_path / "http-calls.jsonl", free_port())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def agent(client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer) -> str:
    await create_agent(client, H, "worker")
    await point_at_fake(db, "worker", fake_model)
    await open_session(client, H, "worker", "s")
    return "worker"


async def add_server(client: httpx.AsyncClient, definition: dict[str, Any], agent: str = "*") -> None:
    made = await client.post(
        "/api/admin/mcp-servers", json={"name": definition["id"], **definition}, headers=H
    )
    assert made.status_code == 201, made.text
    enabled = await client.post(
        f"/api/admin/mcp-servers/{definition['id']}/enable", json={"agentId": agent}, headers=H
    )
    assert enabled.status_code == 200, enabled.text


async def wait_status(client: httpx.AsyncClient, agent: str, server_id: str, status: str) -> dict[str, Any]:
    """Poll the agent's MCP view until the server reaches `status` (the test timeout bounds it)."""
    while True:
        found = (await client.get(f"/api/agents/{agent}/mcp-servers", headers=H)).json()
        state = next((s for s in found if s["id"] == server_id), None)
        if state is not None and state["status"] == status:
            return state
        await asyncio.sleep(0.05)


async def turn(client: httpx.AsyncClient, agent: str, text_: str = "go") -> dict[str, Any]:
    answer = await client.post(
        f"/api/agents/{agent}/sessions/s/messages", params={"wait": "true"}, json={"text": text_}, headers=H
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_stdio_server_tool_call_reaches_the_server_and_the_result_reaches_the_model(
    client: httpx.AsyncClient, fake_model: FakeModelServer, agent: str, tmp_path: Path
) -> None:
    log = tmp_path / "stdio-calls.jsonl"
    await add_server(client, stdio_definition("local", log))
    state = await wait_status(client, agent, "local", "connected")
    assert set(state["tools"]) == {
        "mcp__local__echo",
        "mcp__local__add",
        "mcp__local__crash",
        "mcp__local__hang",
    }
    assert state["transport"] == "stdio"

    fake_model.script(Reply(tool_calls=[("mcp__local__add", {"a": 2, "b": 40})]), Reply(text="It is 42."))
    body = await turn(client, agent, "What is 2 + 40?")
    assert body["text"] == "It is 42."
    assert body["toolCalls"][0]["tool"] == "mcp__local__add"
    assert body["toolCalls"][0]["isError"] is False
    assert body["toolCalls"][0]["text"] == "42"
    assert [(c["tool"], c["args"]) for c in calls(log)] == [("add", {"a": 2, "b": 40})]
    first, second = fake_model.received[-2:]
    assert "mcp__local__add" in first.tool_names
    assert "42" in second.text()  # the tool result went back to the model


async def test_http_server_gets_the_header_secret_which_appears_nowhere_else(
    client: httpx.AsyncClient,
    db: Database,
    fake_model: FakeModelServer,
    agent: str,
    http_server: HttpEchoServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    http_server.start()
    put = await client.put(f"/api/agents/{agent}/secrets/API_TOKEN", json={"value": SECRET}, headers=H)
    assert put.status_code == 200
    await add_server(
        client,
        {
            "id": "remote",
            "url": http_server.url,
            "headers": {"Authorization": "Bearer ${{API_TOKEN}}", "X-Team": "blue"},
        },
        agent=agent,
    )
    state = await wait_status(client, agent, "remote", "connected")
    assert state["headerKeys"] == ["Authorization", "X-Team"]
    assert "headers" not in state

    fake_model.script(Reply(tool_calls=[("mcp__remote__echo", {"text": "hello"})]), Reply(text="Echoed."))
    body = await turn(client, agent)
    assert body["toolCalls"][0]["text"] == "echo: hello"
    assert "echo: hello" in fake_model.received[-1].text()
    received = calls(http_server.log)
    assert received[-1]["args"] == {"text": "hello"}
    assert received[-1]["authorization"] == f"Bearer {SECRET}"  # the secret reached the server

    responses = [
        await client.get("/api/admin/mcp-servers", headers=H),
        await client.get("/api/admin/mcp-servers/remote", headers=H),
        await client.get(f"/api/agents/{agent}/mcp-servers", headers=H),
        await client.get("/api/admin/mcp-servers/assignments", headers=H),
        await client.get(f"/api/agents/{agent}/sessions/s/messages", headers=H),
    ]
    for response in responses:
        assert response.status_code == 200
        assert SECRET not in response.text
        assert "${{API_TOKEN}}" not in response.text
    async with db.transaction() as tx:
        stored = (await tx.execute(text("SELECT payload::text, content FROM session_events"))).all()
        turns = (await tx.execute(text("SELECT request::text, result::text FROM turns"))).all()
    assert stored
    assert SECRET not in repr(stored) + repr(turns)
    assert SECRET not in caplog.text
    assert all(SECRET not in str(r.args) for r in caplog.records)
    assert not any(SECRET in r.text() for r in fake_model.received)


async def test_a_crashed_server_shows_error_the_agent_keeps_answering_and_it_recovers(
    client: httpx.AsyncClient, fake_model: FakeModelServer, agent: str, tmp_path: Path
) -> None:
    log, down = tmp_path / "calls.jsonl", tmp_path / "down"
    await add_server(client, stdio_definition("local", log, down_flag=down))
    await wait_status(client, agent, "local", "connected")

    down.write_text("")  # from now on the server exits as soon as it starts
    fake_model.script(Reply(tool_calls=[("mcp__local__crash", {})]), Reply(text="The tool failed."))
    body = await turn(client, agent)
    assert body["text"] == "The tool failed."
    assert body["toolCalls"][0]["isError"] is True
    assert "local" in body["toolCalls"][0]["text"]
    state = await wait_status(client, agent, "local", "error")
    assert state["lastError"]
    assert state["tools"] == []

    fake_model.script(Reply(text="Still here."))
    assert (await turn(client, agent))["text"] == "Still here."
    assert not any(name.startswith("mcp__local__") for name in fake_model.received[-1].tool_names)
    status = await client.get(f"/api/agents/{agent}/mcp-servers", headers=H)
    assert status.json()[0]["status"] in ("error", "connecting")

    down.unlink()  # the server is back: the next reconnect attempt succeeds
    await wait_status(client, agent, "local", "connected")
    fake_model.script(Reply(tool_calls=[("mcp__local__add", {"a": 1, "b": 1})]), Reply(text="2"))
    body = await turn(client, agent)
    assert body["toolCalls"][0] == {**body["toolCalls"][0], "isError": False, "text": "2"}
    assert calls(log)[-1]["args"] == {"a": 1, "b": 1}


async def test_a_server_that_never_answers_gives_error_and_works_once_it_is_back(
    client: httpx.AsyncClient, fake_model: FakeModelServer, agent: str, http_server: HttpEchoServer
) -> None:
    held: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)  # read nothing, answer nothing

    blackhole = await asyncio.start_server(silent, "127.0.0.1", http_server.port)
    try:
        await add_server(client, {"id": "remote", "url": http_server.url})
        fake_model.script(Reply(text="Answering anyway."))
        assert (await turn(client, agent))["text"] == "Answering anyway."  # a turn never waits for MCP
        state = await wait_status(client, agent, "remote", "error")
        assert state["lastError"]
        fake_model.script(Reply(tool_calls=[("mcp__remote__echo", {"text": "x"})]), Reply(text="No tool."))
        body = await turn(client, agent)
        assert body["toolCalls"][0]["isError"] is True  # not offered while the server is down
    finally:
        blackhole.close()
        for writer in held:
            writer.close()
        await blackhole.wait_closed()

    http_server.start()
    await wait_status(client, agent, "remote", "connected")
    fake_model.script(Reply(tool_calls=[("mcp__remote__echo", {"text": "back"})]), Reply(text="ok"))
    body = await turn(client, agent)
    assert body["toolCalls"][0]["text"] == "echo: back"


async def test_a_hanging_call_times_out_with_an_error_result(
    client: httpx.AsyncClient, fake_model: FakeModelServer, agent: str, tmp_path: Path
) -> None:
    await add_server(client, stdio_definition("local", tmp_path / "calls.jsonl"))
    await wait_status(client, agent, "local", "connected")
    fake_model.script(Reply(tool_calls=[("mcp__local__hang", {})]), Reply(text="It hung."))
    body = await turn(client, agent)
    assert body["text"] == "It hung."
    assert body["toolCalls"][0]["isError"] is True
    assert "did not answer" in body["toolCalls"][0]["text"] or "imed out" in body["toolCalls"][0]["text"]
    await wait_status(client, agent, "local", "connected")  # reconnected after the failure


async def test_policies_filter_mcp_tools(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, agent: str, tmp_path: Path
) -> None:
    await add_server(client, stdio_definition("local", tmp_path / "calls.jsonl"))
    await wait_status(client, agent, "local", "connected")
    async with db.transaction() as tx:
        await policies.upsert_policy(tx, agent, "tool", "mcp__local__crash", "deny", [{"type": "any"}], None)
    fake_model.script(Reply(text="a"))
    await turn(client, agent)
    offered = fake_model.received[-1].tool_names
    assert "mcp__local__echo" in offered
    assert "mcp__local__crash" not in offered

    async with db.transaction() as tx:
        await policies.upsert_policy(tx, agent, "mcp", "local", "deny", [{"type": "any"}], None)
    fake_model.script(Reply(text="b"))
    await turn(client, agent)
    assert not any(n.startswith("mcp__") for n in fake_model.received[-1].tool_names)


async def test_mcp_status_enable_and_disable_tools(
    client: httpx.AsyncClient, fake_model: FakeModelServer, agent: str, tmp_path: Path
) -> None:
    await add_server(client, stdio_definition("local", tmp_path / "calls.jsonl"))
    await wait_status(client, agent, "local", "connected")
    fake_model.script(
        Reply(tool_calls=[("mcp_status", {}), ("mcp_disable", {"serverId": "local"})]), Reply(text="off")
    )
    body = await turn(client, agent)
    assert body["toolCalls"][0]["text"].startswith("- local (stdio): connected")
    assert body["toolCalls"][1]["isError"] is False
    assert (await client.get(f"/api/agents/{agent}/mcp-servers", headers=H)).json() == []
    fake_model.script(Reply(text="x"))
    await turn(client, agent)
    assert not any(n.startswith("mcp__local__") for n in fake_model.received[-1].tool_names)

    fake_model.script(
        Reply(tool_calls=[("mcp_enable", {"serverId": "local"}), ("mcp_enable", {"serverId": "nope"})]),
        Reply(text="on"),
    )
    body = await turn(client, agent)
    assert [c["isError"] for c in body["toolCalls"]] == [False, True]
    await wait_status(client, agent, "local", "connected")


async def test_a_missing_secret_is_an_error_naming_the_secret(
    client: httpx.AsyncClient, agent: str, http_server: HttpEchoServer
) -> None:
    await add_server(client, {"id": "remote", "url": http_server.url, "headers": {"X-Key": "${{NOT_SET}}"}})
    state = await wait_status(client, agent, "remote", "error")
    assert "NOT_SET" in state["lastError"]


async def test_registry_routes_validate_and_answer_404(client: httpx.AsyncClient, agent: str) -> None:
    bad_bodies = [
        {"id": "x", "name": "x"},  # neither url nor command
        {"id": "x", "name": "x", "url": "ftp://host"},
        {"id": "x", "name": "x", "url": "http://h/mcp", "command": "run"},
        {"id": "x", "name": "x", "command": "run", "headers": {"A": "b"}},
        {"id": "a__b", "name": "x", "url": "http://h/mcp"},
        {"id": "x", "name": "x", "url": "http://h/mcp", "extra": True},
        {"id": "x", "url": "http://h/mcp"},
    ]
    for body in bad_bodies:
        response = await client.post("/api/admin/mcp-servers", json=body, headers=H)
        assert response.status_code == 400, body
        assert set(response.json()) == {"error"}

    first = await client.post(
        "/api/admin/mcp-servers",
        json={"id": "tools", "name": "T", "url": "http://127.0.0.1:9/mcp"},
        headers=H,
    )
    assert (first.status_code, first.json()["created"]) == (201, True)
    again = await client.post(
        "/api/admin/mcp-servers",
        json={"id": "tools", "name": "T2", "command": "srv", "args": ["--x"], "env": {"K": "${{S}}"}},
        headers=H,
    )
    assert (again.status_code, again.json()["created"]) == (200, False)
    listed = (await client.get("/api/admin/mcp-servers", headers=H)).json()
    assert listed == [
        {
            "id": "tools",
            "name": "T2",
            "description": "",
            "transport": "stdio",
            "url": None,
            "command": "srv",
            "args": ["--x"],
            "headerKeys": [],
            "envKeys": ["K"],
            "metadata": {},
            "createdAt": listed[0]["createdAt"],
            "updatedAt": listed[0]["updatedAt"],
        }
    ]
    for method, url in (
        ("GET", "/api/admin/mcp-servers/nope"),
        ("POST", "/api/admin/mcp-servers/nope/enable"),
        ("DELETE", "/api/admin/mcp-servers/nope"),
        ("POST", f"/api/agents/{agent}/mcp-servers/nope/enable"),
        ("GET", "/api/agents/nobody/mcp-servers"),
    ):
        assert (await client.request(method, url, headers=H)).status_code == 404, url
    unknown_agent = await client.post(
        "/api/admin/mcp-servers/tools/enable", json={"agentId": "zz"}, headers=H
    )
    assert unknown_agent.status_code == 404
    assert (await client.post(f"/api/agents/{agent}/mcp-servers/tools/disable", headers=H)).json() == {
        "ok": True
    }
    rows = (await client.get("/api/admin/mcp-servers/assignments", headers=H)).json()
    assert [(r["agentId"], r["mcpServerId"], r["enabled"]) for r in rows] == [(agent, "tools", False)]
    assert (await client.delete("/api/admin/mcp-servers/tools", headers=H)).json() == {"ok": True}
    assert (await client.get("/api/admin/mcp-servers/assignments", headers=H)).json() == []


@pytest.fixture(autouse=True)
async def _stop_connections(client: httpx.AsyncClient, platform: Any) -> AsyncIterator[None]:
    yield
    await platform.fleet.stop()  # closes MCP connections (and stdio server processes) before teardown
