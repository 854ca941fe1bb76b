"""The Python SDK against a real gateway process."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from openhermit.sdk import (
    AgentSocket,
    AsyncGatewayClient,
    GatewayClient,
    GatewayUnreachable,
    InvalidRequest,
    NotFound,
    RpcError,
    Unauthorized,
)
from openhermit.store.engine import Database
from openhermit.testing.fake_model import FakeModelServer, Reply
from openhermit.testing.gateway_process import GatewayProcess, free_port
from tests.polling import PATIENCE_SECONDS
from tests.runtime_helpers import point_at_fake

pytestmark = pytest.mark.e2e
TOKEN = "sdk-admin"


@pytest.fixture
def gateway(tmp_path: Path, db_url: str) -> Iterator[GatewayProcess]:
    process = GatewayProcess(
        tmp_path / "home", DATABASE_URL=db_url, GATEWAY_ADMIN_TOKEN=TOKEN, FAKE_API_KEY="sk"
    ).start()
    yield process
    process.stop()


async def test_async_client(gateway: GatewayProcess, db: Database, fake_model: FakeModelServer) -> None:
    async with AsyncGatewayClient(gateway.url, TOKEN) as gw:
        assert (await gw.health())["ok"] is True
        await gw.create_agent("sdk")
        await point_at_fake(db, "sdk", fake_model, memory={"introspection": {"enabled": False}})
        await gw.open_session("sdk", "api:1")
        fake_model.script(Reply(text="first"), Reply(text="second, streamed", chunk=4))
        answer = await gw.send("sdk", "api:1", "hi", wait=True, message_id="fixed-1")
        assert answer["text"] == "first"
        assert (await gw.send("sdk", "api:1", "hi", wait=True, message_id="fixed-1"))[
            "text"
        ] == "first"  # retry-safe
        kinds = [frame.event async for frame in gw.stream("sdk", "api:1", "again")]
        assert kinds[0] == "message_ack"
        assert kinds[-2:] == ["text_final", "agent_end"]
        history = await gw.history("sdk", "api:1")
        assert [h["content"] for h in history if h["role"] == "assistant"] == ["first", "second, streamed"]
        follower = gw.events("sdk", "api:1", after=0)
        seen = []
        async with asyncio.timeout(PATIENCE_SECONDS):
            async for frame in follower:
                if frame.event == "ready":
                    break
                seen.append(frame.event)
        await follower.aclose()
        assert seen.count("user_message") == 2
        with pytest.raises(NotFound):
            await gw.history("sdk", "missing")
        with pytest.raises(InvalidRequest):
            await gw.create_agent("bad id!")
    async with AsyncGatewayClient(gateway.url, "wrong") as bad:
        with pytest.raises(Unauthorized):
            await bad.list_agents()
    async with AsyncGatewayClient(f"http://127.0.0.1:{free_port()}", TOKEN) as nowhere:
        with pytest.raises(GatewayUnreachable):
            await nowhere.health()


def test_blocking_client(gateway: GatewayProcess) -> None:
    with GatewayClient(gateway.url, TOKEN) as gw:
        gw.create_agent("blocking")
        assert [a["agentId"] for a in gw.list_agents()] == ["blocking"]
        gw.set_secret("blocking", "TOKEN_X", "abcdefghijkl")
        assert gw.list_secrets("blocking")["TOKEN_X"]["masked"] == "abcd********ijkl"
        with pytest.raises(NotFound):
            gw.agent_info("ghost")


async def test_websocket_client(gateway: GatewayProcess, db: Database, fake_model: FakeModelServer) -> None:
    async with AsyncGatewayClient(gateway.url, TOKEN) as gw:
        await gw.create_agent("wsagent")
    await point_at_fake(db, "wsagent", fake_model, memory={"introspection": {"enabled": False}})
    fake_model.script(Reply(text="over the socket"))
    async with AgentSocket.connect(gateway.url, "wsagent", TOKEN) as socket:
        spec = {"kind": "api", "interactive": True}
        assert await socket.call("session.open", sessionId="w", source=spec) == {"sessionId": "w"}
        assert await socket.call("session.subscribe", sessionId="w") == {"subscribed": True}
        sent = await socket.call("session.message", sessionId="w", text="hi", messageId="ws-1")
        assert sent["triggered"] is True
        kinds = []
        async with asyncio.timeout(PATIENCE_SECONDS):
            async for frame in socket.events():
                kinds.append(frame["event"]["type"])
                if kinds[-1] == "agent_end":
                    break
        assert kinds[-2:] == ["text_final", "agent_end"]
        with pytest.raises(RpcError) as caught:
            await socket.call("session.history", sessionId="nope")
        assert caught.value.code == "SESSION_NOT_FOUND"


def test_every_http_route_has_an_sdk_method() -> None:
    """Each route of the gateway's OpenAPI document appears in a named SDK method."""
    import inspect
    import re

    from openhermit.config import Settings
    from openhermit.gateway.app import create_app

    def shape(path: str) -> str:
        return re.sub(r"\{[^}]*\}", "{}", path)

    source = inspect.getsource(AsyncGatewayClient)
    in_sdk = {shape(p) for p in re.findall(r'f?"(/[^"]*)"', source)}
    routes = {shape(p) for p in create_app(Settings()).openapi()["paths"]} - {"/metrics"}
    assert sorted(routes - in_sdk) == []
