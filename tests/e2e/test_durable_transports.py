"""Issue acceptance for durable transports, with real gateway processes on one database."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import text

from openhermit.store.engine import Database
from openhermit.testing.fake_model import FakeModelServer, Reply
from openhermit.testing.gateway_process import GatewayProcess
from tests.polling import PATIENCE_SECONDS, eventually
from tests.runtime_helpers import point_at_fake

pytestmark = pytest.mark.e2e
TOKEN = "e2e-admin"
H = {"Authorization": f"Bearer {TOKEN}"}


def _gateway(tmp_path: Path, db_url: str, name: str) -> GatewayProcess:
    return GatewayProcess(
        tmp_path / name,
        DATABASE_URL=db_url,
        GATEWAY_ADMIN_TOKEN=TOKEN,
        FAKE_API_KEY="sk-e2e",
        OPENHERMIT_LOG_LEVEL="warning",
    )


@pytest.fixture
def gateways(tmp_path: Path, db_url: str) -> Iterator[list[GatewayProcess]]:
    started: list[GatewayProcess] = []
    yield started
    for process in started:
        process.kill()


def _start(tmp_path: Path, db_url: str, name: str, gateways: list[GatewayProcess]) -> GatewayProcess:
    process = _gateway(tmp_path, db_url, name).start()
    gateways.append(process)
    return process


async def _setup(http: httpx.AsyncClient, db: Database, fake: FakeModelServer, agent: str = "main") -> None:
    assert (await http.post("/api/agents", json={"agentId": agent})).status_code == 201
    await point_at_fake(db, agent, fake, memory={"introspection": {"enabled": False}})
    spec = {"sessionId": "s", "source": {"kind": "api", "interactive": True}}
    assert (await http.post(f"/api/agents/{agent}/sessions", json=spec)).status_code == 200


async def _history(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    return (await http.get("/api/agents/main/sessions/s/messages")).json()  # type: ignore[no-any-return]


def _answered(history: list[dict[str, Any]]) -> bool:
    return any(h["role"] == "assistant" for h in history)


async def _sse(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    frame: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if not line:
            if "data" in frame:
                yield frame
            frame = {}
            continue
        key, _, value = line.partition(":")
        frame[key] = value.strip()
        if key == "data":
            frame["data"] = json.loads(value)


def _stored_ids(history: list[dict[str, Any]]) -> set[int]:
    return {h["id"] for h in history}


async def test_sse_resumes_across_a_restart_with_last_event_id(
    tmp_path: Path, db_url: str, db: Database, fake_model: FakeModelServer, gateways: list[GatewayProcess]
) -> None:
    first = _start(tmp_path, db_url, "a", gateways)
    async with httpx.AsyncClient(base_url=first.url, headers=H, timeout=30) as http:
        await _setup(http, db, fake_model)
        rest = threading.Event()  # the rest of the turn happens after the client has gone
        fake_model.script(
            Reply(tool_calls=[("memory_add", {"key": "a", "content": "apple"})]),
            Reply(tool_calls=[("memory_add", {"key": "b", "content": "banana"})], hold=rest),
            Reply(text="Both saved, the apple and the banana."),
        )
        received: list[dict[str, Any]] = []
        try:
            async with http.stream("GET", "/api/agents/main/sessions/s/events") as events:
                stream = _sse(events)
                assert (await anext(stream))["event"] == "ready"
                await http.post(
                    "/api/agents/main/sessions/s/messages", json={"text": "save fruit", "messageId": "f1"}
                )
                async for frame in stream:
                    received.append(frame)
                    if frame["event"] == "tool_result":
                        break  # disconnect mid-turn
        finally:
            rest.set()
        last_seen = max(int(f["id"]) for f in received if "id" in f)
        await eventually(lambda: _history(http), _answered, what="the turn finished on the first gateway")
    first.stop()

    second = _start(tmp_path, db_url, "b", gateways)
    async with httpx.AsyncClient(base_url=second.url, headers=H, timeout=30) as http:
        resumed: list[dict[str, Any]] = []
        async with http.stream(
            "GET", "/api/agents/main/sessions/s/events", headers={"Last-Event-ID": str(last_seen)}
        ) as events:
            async for frame in _sse(events):
                if frame["event"] == "ready":
                    assert frame["data"]["nextEventId"] > last_seen
                    break
                resumed.append(frame)
        history = (await http.get("/api/agents/main/sessions/s/messages")).json()
    stored_before = [int(f["id"]) for f in received if not f["event"].endswith("_delta")]
    stored_after = [int(f["id"]) for f in resumed]
    assert min(stored_after) > last_seen
    everything = stored_before + stored_after
    assert len(everything) == len(set(everything)), "an event arrived twice"
    assert _stored_ids(history) <= set(everything), "an event went missing"
    assert [f["event"] for f in resumed][-2:] == ["text_final", "agent_end"]
    assert all(
        f["data"]["eventId"] == f["id"] for f in received + resumed if "id" in f and "eventId" in f["data"]
    )


async def test_websocket_on_b_sees_a_turn_run_on_a(
    tmp_path: Path, db_url: str, db: Database, fake_model: FakeModelServer, gateways: list[GatewayProcess]
) -> None:
    a = _start(tmp_path, db_url, "a", gateways)
    b = _start(tmp_path, db_url, "b", gateways)
    async with httpx.AsyncClient(base_url=a.url, headers=H, timeout=30) as http_a:
        await _setup(http_a, db, fake_model)
        ws_url = b.url.replace("http://", "ws://") + f"/api/agents/main/ws?token={TOKEN}"
        async with websockets.connect(ws_url) as socket:
            await socket.send(
                json.dumps(
                    {
                        "kind": "request",
                        "id": "1",
                        "method": "session.subscribe",
                        "params": {"sessionId": "s"},
                    }
                )
            )
            assert json.loads(await socket.recv()) == {
                "kind": "response",
                "id": "1",
                "result": {"subscribed": True},
            }
            fake_model.script(
                Reply(tool_calls=[("memory_list", {})]),
                Reply(text="Hello from gateway A, streamed to B.", chunk=3),
            )
            async with http_a.stream(
                "POST",
                "/api/agents/main/sessions/s/messages?stream=true",
                json={"text": "hi", "messageId": "x1"},
            ) as response:
                on_a = [f async for f in _sse(response)]
            on_b: list[dict[str, Any]] = []
            async with asyncio.timeout(PATIENCE_SECONDS):
                while True:
                    frame = json.loads(await socket.recv())
                    assert frame["kind"] == "event"
                    on_b.append(frame)
                    if frame["event"]["type"] == "agent_end":
                        break
    a_events = [(f["event"], f["data"].get("eventId")) for f in on_a if f["event"] != "message_ack"]
    b_events = [(f["event"]["type"], f["event"].get("eventId")) for f in on_b]
    stored = [e for e in a_events if not e[0].endswith("_delta")]
    assert [e for e in b_events if not e[0].endswith("_delta")] == stored
    text_a = "".join(f["data"]["text"] for f in on_a if f["event"] == "text_delta")
    text_b = "".join(f["event"]["text"] for f in on_b if f["event"]["type"] == "text_delta")
    assert text_a == text_b == "Hello from gateway A, streamed to B."
    ids = [f["eventId"] for f in on_b if "eventId" in f["event"]]
    assert ids == sorted(ids)


async def test_two_gateways_taking_messages_for_one_session_run_its_turns_one_at_a_time(
    tmp_path: Path, db_url: str, db: Database, fake_model: FakeModelServer, gateways: list[GatewayProcess]
) -> None:
    """A message posted through gateway B while the session's turn runs on A waits for it; then
    messages posted at once through both (half with a `messageId`): each is answered once, in
    the order they were stored, and no turn starts before the one before it ended, whichever
    gateway accepted its message."""
    a = _start(tmp_path, db_url, "a", gateways)
    b = _start(tmp_path, db_url, "b", gateways)
    url = "/api/agents/main/sessions/s/messages"

    async def running() -> int:
        async with db.transaction() as tx:
            found = await tx.execute(text("SELECT count(*) FROM turns WHERE status = 'running'"))
            return int(found.scalar_one())

    async with (
        httpx.AsyncClient(base_url=a.url, headers=H, timeout=30) as http_a,
        httpx.AsyncClient(base_url=b.url, headers=H, timeout=30) as http_b,
    ):
        await _setup(http_a, db, fake_model)
        fake_model.default = lambda r: Reply(
            text="answer to " + r.body["messages"][-1]["content"], delay=0.02
        )
        held = threading.Event()
        fake_model.script(Reply(text="answer to m-held", hold=held))
        try:
            assert (await http_a.post(url, json={"text": "m-held"})).status_code == 200
            await eventually(running, lambda count: count == 1, what="the first turn running on A")
            behind = await http_b.post(url, json={"text": "m-behind", "messageId": "id-behind"})
            assert behind.status_code == 200, behind.text
            assert await running() == 1
        finally:
            held.set()
        posts = []
        for i, http in enumerate([http_a, http_b] * 10):  # some at once, some while a turn runs
            body = {"text": f"m{i}", **({"messageId": f"id-{i}"} if i % 2 else {})}
            posts.append(asyncio.create_task(http.post(url, json=body)))
            await asyncio.sleep(0.004 * (i % 3))
        assert {r.status_code for r in await asyncio.gather(*posts)} == {200}

        async def ends() -> list[str]:
            async with db.transaction() as tx:
                rows = await tx.execute(
                    text(
                        "SELECT event_type FROM session_events WHERE agent_id = 'main' AND session_id = 's'"
                        " AND event_type IN ('agent_start', 'agent_end') ORDER BY id"
                    )
                )
                return [r[0] for r in rows]

        marks = await eventually(ends, lambda found: found.count("agent_end") == 22, what="22 turns ended")
        history = await _history(http_a)
    assert marks == ["agent_start", "agent_end"] * 22
    users = [h["content"] for h in history if h["role"] == "user"]
    answers = [h["content"] for h in history if h["role"] == "assistant"]
    assert users[:2] == ["m-held", "m-behind"]
    assert sorted(users[2:]) == sorted(f"m{i}" for i in range(20))
    assert answers == [f"answer to {u}" for u in users]


async def test_kill_nine_mid_turn_leaves_no_session_running(
    tmp_path: Path, db_url: str, db: Database, fake_model: FakeModelServer, gateways: list[GatewayProcess]
) -> None:
    first = _start(tmp_path, db_url, "a", gateways)
    async with httpx.AsyncClient(base_url=first.url, headers=H, timeout=30) as http:
        await _setup(http, db, fake_model)
        fake_model.script(
            Reply(text="this answer never finishes", hang_after_first_delta=60), Reply(text="second answer")
        )
        async with http.stream(
            "POST", "/api/agents/main/sessions/s/messages?stream=true", json={"text": "one"}
        ) as r:
            async for frame in _sse(r):
                if frame["event"] == "text_delta":
                    break
            queued = await http.post("/api/agents/main/sessions/s/messages", json={"text": "two"})
            assert queued.json()["triggered"] is True
            first.stop(signal.SIGKILL)
    second = _start(tmp_path, db_url, "b", gateways)
    async with httpx.AsyncClient(base_url=second.url, headers=H, timeout=30) as http:
        history = await eventually(lambda: _history(http), _answered, what="the queued turn answered")
        roles = [(h["role"], h["content"]) for h in history]
        # Log order: both messages were accepted before the crash; the cut turn then ends visibly.
        assert roles[:2] == [("user", "one"), ("user", "two")]
        assert roles[2][0] == "error"
        assert "stopped before it finished" in roles[2][1]
        assert roles[3:] == [("assistant", "second answer")]

        async def session() -> dict[str, Any]:
            return (await http.get("/api/agents/main/sessions")).json()[0]  # type: ignore[no-any-return]

        await eventually(session, lambda s: s["status"] == "idle", what="the session idle")


async def test_websocket_rpc_methods_and_errors(
    tmp_path: Path, db_url: str, db: Database, fake_model: FakeModelServer, gateways: list[GatewayProcess]
) -> None:
    gateway = _start(tmp_path, db_url, "a", gateways)
    async with httpx.AsyncClient(base_url=gateway.url, headers=H, timeout=30) as http:
        await _setup(http, db, fake_model)
    base = gateway.url.replace("http://", "ws://") + "/api/agents/main/ws"
    with pytest.raises(websockets.exceptions.InvalidStatus) as denied:
        async with websockets.connect(base):
            pass
    assert denied.value.response.status_code == 401
    with pytest.raises(websockets.exceptions.InvalidStatus) as missing:
        async with websockets.connect(base.replace("/main/", "/ghost/") + f"?token={TOKEN}"):
            pass
    assert missing.value.response.status_code == 503

    async with websockets.connect(base, additional_headers=H) as socket:

        async def call(method: str, params: dict[str, Any] | None = None, rid: str = "r") -> dict[str, Any]:
            await socket.send(
                json.dumps({"kind": "request", "id": rid, "method": method, "params": params or {}})
            )
            while True:
                frame = json.loads(await socket.recv())
                if frame["kind"] == "response" and frame["id"] == rid:
                    return frame

        await socket.send("{not json")
        assert json.loads(await socket.recv())["error"]["code"] == "INVALID_PARAMS"
        assert (await call("session.nope"))["error"]["code"] == "INVALID_PARAMS"
        spec = {"sessionId": "ws:1", "source": {"kind": "api", "interactive": True}}
        assert (await call("session.open", spec))["result"] == {"sessionId": "ws:1"}
        assert (await call("session.open", {"sessionId": "x"}))["error"]["code"] == "INVALID_PARAMS"
        assert (await call("session.history", {"sessionId": "nope"}))["error"]["code"] == "SESSION_NOT_FOUND"
        assert (await call("session.message", {"sessionId": "inbox", "text": "x"}))["error"][
            "code"
        ] == "INBOX_READ_ONLY"
        assert (await call("session.unsubscribe", {"sessionId": "ws:1"}))["error"]["code"] == "NOT_SUBSCRIBED"
        fake_model.script(Reply(text="over websocket"))
        assert (await call("session.subscribe", {"sessionId": "ws:1"}, "sub"))["result"] == {
            "subscribed": True
        }
        sent = await call("session.message", {"sessionId": "ws:1", "text": "hello", "messageId": "w1"}, "m")
        assert sent["result"] == {"sessionId": "ws:1", "triggered": True, "messageId": "w1"}
        kinds = []
        async with asyncio.timeout(PATIENCE_SECONDS):
            while "agent_end" not in kinds:
                frame = json.loads(await socket.recv())
                if frame["kind"] == "event":
                    kinds.append(frame["event"]["type"])
        assert kinds[0] == "user_message"
        assert kinds[-2:] == ["text_final", "agent_end"]
        history = (await call("session.history", {"sessionId": "ws:1"}))["result"]
        assert [h["content"] for h in history] == ["hello", "over websocket"]
        listed = (await call("session.list", {}))["result"]
        assert {s["sessionId"] for s in listed} == {"s", "ws:1"}
        assert (await call("session.interrupt", {"sessionId": "ws:1"}))["result"] == {"interrupted": False}
        assert (await call("session.unsubscribe", {"sessionId": "ws:1"}))["result"] == {"unsubscribed": True}
        assert (await call("session.delete", {"sessionId": "ws:1"}))["result"] == {"deleted": True}


async def test_disabling_on_one_gateway_reaches_the_other(
    tmp_path: Path, db_url: str, db: Database, fake_model: FakeModelServer, gateways: list[GatewayProcess]
) -> None:
    a = _start(tmp_path, db_url, "a", gateways)
    b = _start(tmp_path, db_url, "b", gateways)
    async with httpx.AsyncClient(base_url=a.url, headers=H, timeout=30) as http_a:
        await _setup(http_a, db, fake_model)
    async with httpx.AsyncClient(headers=H, timeout=30) as http:
        assert (await http.get(f"{b.url}/api/agents/main/info")).status_code == 200  # hot on B
        assert (await http.post(f"{a.url}/api/agents/main/manage/disable")).json()["status"] == "disabled"

        async def on_b() -> int:
            return (await http.get(f"{b.url}/api/agents/main/info")).status_code

        await eventually(on_b, lambda status: status == 404, what="the agent gone on B")
        assert (await http.get(f"{b.url}/api/agents/main/health")).json()["ok"] is False
