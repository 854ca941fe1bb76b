"""Idempotent messages, the concurrency policies under load, and replay by id."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from sqlalchemy import text

from openhermit.gateway.platform import Platform
from openhermit.runtime.streams import Ready, session_stream
from openhermit.store.engine import Database
from openhermit.testing.fake_model import FakeModelServer, Received, Reply
from tests.polling import PATIENCE_SECONDS, eventually
from tests.runtime_helpers import create_agent, open_session, parse_sse, point_at_fake

H = {"Authorization": "Bearer test-admin-token"}
URL = "/api/agents/{a}/sessions/s/messages"


async def _agent(
    client: httpx.AsyncClient, db: Database, fake: FakeModelServer, name: str, **config: object
) -> str:
    await create_agent(client, H, name)
    await point_at_fake(db, name, fake, memory={"introspection": {"enabled": False}}, **config)
    await open_session(client, H, name, "s")
    return name


async def _count(db: Database, sql: str) -> int:
    async with db.transaction() as tx:
        return int((await tx.execute(text(sql))).scalar_one())


async def _settled(db: Database, agent: str) -> None:
    sql = f"SELECT count(*) FROM turns WHERE agent_id = '{agent}' AND status IN ('queued', 'running')"
    await eventually(lambda: _count(db, sql), lambda busy: busy == 0, what="no queued or running turn")


async def test_same_message_id_runs_once(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    agent = await _agent(client, db, fake_model, "idem")
    fake_model.script(
        Reply(tool_calls=[("memory_add", {"key": "k", "content": "v"})], delay=0.2), Reply(text="once")
    )
    body = {"text": "do it once", "messageId": "same-1"}
    url = URL.format(a=agent)
    first, second = await asyncio.gather(
        client.post(url, params={"wait": "true"}, json=body, headers=H),
        client.post(url, params={"wait": "true"}, json=body, headers=H),
    )
    third = await client.post(url, params={"wait": "true"}, json=body, headers=H)
    answers = [r.json() for r in (first, second, third)]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["text"] == "once"
    assert answers[0]["messageId"] == "same-1"
    assert await _count(db, f"SELECT count(*) FROM turns WHERE agent_id = '{agent}'") == 1
    assert (
        await _count(
            db, f"SELECT count(*) FROM session_events WHERE agent_id = '{agent}' AND event_type = 'user'"
        )
        == 1
    )
    assert len(fake_model.received) == 2  # one tool step, one answer: the model ran once
    # Every mode honours the key: fire-and-forget and append do not store it again.
    assert (await client.post(url, json=body, headers=H)).json() == {
        "sessionId": "s",
        "triggered": True,
        "messageId": "same-1",
    }
    appended = await client.post(url, params={"append": "true"}, json=body, headers=H)
    assert appended.json()["deduped"] is True
    assert (
        await _count(
            db, f"SELECT count(*) FROM session_events WHERE agent_id = '{agent}' AND event_type = 'user'"
        )
        == 1
    )


async def test_retried_stream_replays_the_same_turn(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    agent = await _agent(client, db, fake_model, "restream")
    fake_model.script(Reply(text="streamed once"))
    body = {"text": "hi", "messageId": "st-1"}
    url = URL.format(a=agent)
    first = await client.post(url, params={"stream": "true"}, json=body, headers=H)
    again = await client.post(url, params={"stream": "true"}, json=body, headers=H)

    def stored(response: httpx.Response) -> list[tuple[str, str]]:
        frames = parse_sse(response.text)
        return [(f["id"], f["event"]) for f in frames if "id" in f and not f["event"].endswith("_delta")]

    assert stored(again) == stored(first)
    assert stored(again)[-2:] == [(stored(first)[-2][0], "text_final"), (stored(first)[-1][0], "agent_end")]
    assert len(fake_model.received) == 1


async def test_queue_policy_under_ten_concurrent_posts(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    agent = await _agent(client, db, fake_model, "queued")
    fake_model.default = lambda r: Reply(text="answer to " + r.body["messages"][-1]["content"], delay=0.02)
    url = URL.format(a=agent)
    responses = await asyncio.gather(
        *(client.post(url, json={"text": f"m{i}"}, headers=H) for i in range(10))
    )
    assert {r.status_code for r in responses} == {200}
    await _settled(db, agent)
    history = (await client.get(url, headers=H)).json()
    users = [h["content"] for h in history if h["role"] == "user"]
    answers = [h["content"] for h in history if h["role"] == "assistant"]
    assert sorted(users) == [f"m{i}" for i in range(10)]
    assert answers == [f"answer to {u}" for u in users]
    assert (
        await _count(db, f"SELECT count(*) FROM turns WHERE agent_id = '{agent}' AND status = 'completed'")
        == 10
    )


async def test_reject_policy_under_ten_concurrent_posts(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    agent = await _agent(client, db, fake_model, "rejecting", concurrency="reject")
    answer = threading.Event()
    fake_model.default = Reply(text="only one", hold=answer)
    url = URL.format(a=agent)
    try:
        responses = await asyncio.gather(
            *(client.post(url, json={"text": f"m{i}"}, headers=H) for i in range(10))
        )
    finally:
        answer.set()
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 9
    assert all(r.json()["error"]["code"] == "conflict" for r in responses if r.status_code == 409)
    await _settled(db, agent)
    assert (
        await _count(
            db, f"SELECT count(*) FROM session_events WHERE agent_id = '{agent}' AND event_type = 'user'"
        )
        == 1
    )


async def test_interrupt_policy_under_ten_concurrent_posts(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    agent = await _agent(client, db, fake_model, "interrupting", concurrency="interrupt")

    def reply(request: Received) -> Reply:
        # Every answer but the last stalls until interrupted, so no turn can finish
        # between two posts however slowly the machine runs.
        content = request.body["messages"][-1]["content"]
        stall = 0.0 if content == "m9" else 60.0
        return Reply(text="finished " + content, hang_after_first_delta=stall, chunk=3)

    fake_model.default = reply
    url = URL.format(a=agent)
    for i in range(10):
        await client.post(url, json={"text": f"m{i}"}, headers=H)
        await asyncio.sleep(0.03)
    await _settled(db, agent)
    statuses = await _count(
        db, f"SELECT count(*) FROM turns WHERE agent_id = '{agent}' AND status = 'completed'"
    )
    ended = await _count(
        db,
        f"SELECT count(*) FROM turns WHERE agent_id = '{agent}' AND status IN ('interrupted', 'cancelled')",
    )
    assert statuses == 1
    assert ended == 9
    history = (await client.get(url, headers=H)).json()
    assert [h["content"] for h in history if h["role"] == "assistant"] == ["finished m9"]
    session = (await client.get(f"/api/agents/{agent}/sessions", headers=H)).json()[0]
    assert session["status"] == "idle"


async def test_session_stream_replays_then_goes_live_exactly_once(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, platform: Platform
) -> None:
    agent = await _agent(client, db, fake_model, "replay")
    url = URL.format(a=agent)
    for i in range(3):
        await client.post(url, params={"wait": "true"}, json={"text": f"m{i}"}, headers=H)
    async with db.transaction() as tx:
        ids = [
            r[0]
            for r in (
                await tx.execute(
                    text(f"SELECT id FROM session_events WHERE agent_id = '{agent}' ORDER BY id")
                )
            )
        ]
    cursor = ids[len(ids) // 2]
    stream = session_stream(platform.runtime, agent, "s", after=cursor)
    seen: list[int] = []
    ready = None
    async for item in stream:
        if isinstance(item, Ready):
            ready = item
            break
        seen.append(item.id)
    assert ready is not None
    assert all(i > cursor for i in seen)
    assert len(seen) == len(set(seen))
    fake_model.script(Reply(text="live one"))
    await client.post(url, json={"text": "live"}, headers=H)
    live: list[str] = []
    async with asyncio.timeout(PATIENCE_SECONDS):
        async for item in stream:
            assert not isinstance(item, Ready)
            live.append(item.event.type)
            if item.stored:
                assert item.id not in seen
                seen.append(item.id)
            if item.event.type == "agent_end":
                break
    await stream.aclose()
    assert live[0] == "user_message"
    assert live[-2:] == ["text_final", "agent_end"]
    async with db.transaction() as tx:
        newest = (
            await tx.execute(text(f"SELECT max(id) FROM session_events WHERE agent_id = '{agent}'"))
        ).scalar_one()
    assert max(seen) == newest


@pytest.mark.parametrize("cursor", [None, 10**12])
async def test_stream_without_or_beyond_cursor_starts_with_the_backlog(
    client: httpx.AsyncClient,
    db: Database,
    fake_model: FakeModelServer,
    platform: Platform,
    cursor: int | None,
) -> None:
    agent = await _agent(client, db, fake_model, "backlog")
    url = URL.format(a=agent)
    for i in range(30):
        await client.post(url, params={"append": "true"}, json={"text": f"m{i}"}, headers=H)
    for i in range(30):
        await client.post(url, params={"append": "true"}, json={"text": f"n{i}"}, headers=H)
    seen = []
    async for item in session_stream(platform.runtime, agent, "s", after=cursor):
        if isinstance(item, Ready):
            break
        seen.append(item.event.text)  # type: ignore[union-attr]
    # 100 most recent events: the session_started row + 60 user rows fit; all messages replay.
    assert seen[-1] == "n29"
    assert len(seen) == 60


async def test_session_overrides_the_agent_policy(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    agent = await _agent(client, db, fake_model, "override")
    spec = {"sessionId": "strict", "source": {"kind": "api", "interactive": True}, "concurrency": "reject"}
    assert (await client.post(f"/api/agents/{agent}/sessions", json=spec, headers=H)).status_code == 200
    answer = threading.Event()  # the first turn runs until every post has been answered
    fake_model.default = Reply(text="slow", hold=answer)
    url = f"/api/agents/{agent}/sessions/strict/messages"
    try:
        responses = await asyncio.gather(
            *(client.post(url, json={"text": f"m{i}"}, headers=H) for i in range(3))
        )
    finally:
        answer.set()
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 409, 409]
    await _settled(db, agent)


def test_slow_subscriber_is_cut_off_without_blocking_others() -> None:
    from openhermit.protocol.events import TextDelta
    from openhermit.runtime.bus import Envelope, EventBus

    bus = EventBus(capacity=5)
    slow = bus.subscribe("a", "s")
    fast = bus.subscribe("a", "s")
    for i in range(1, 21):
        bus.publish(Envelope(i, "a", "s", TextDelta(session_id="s", text=str(i)), stored=True))
        assert fast._queue.get_nowait() is not None  # a reader that keeps up gets everything
    assert slow.overflowed
    drained = []
    while not slow._queue.empty():
        drained.append(slow._queue.get_nowait())
    assert drained[-1] is None  # the stream ends; the client resumes by id


async def test_a_turn_ended_by_a_peer_is_not_ended_again_by_its_owner(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, platform: Platform
) -> None:
    """A peer that believed the owner dead ended its turn; the owner's late answer changes
    nothing: one `agent_end`, the turn counted once, and the session runs its next turn."""
    agent = await _agent(client, db, fake_model, "ended-elsewhere")
    answer = threading.Event()
    fake_model.script(Reply(text="too late", hold=answer), Reply(text="next"))
    url = URL.format(a=agent)
    try:
        assert (await client.post(url, json={"text": "first"}, headers=H)).status_code == 200
        running = f"SELECT count(*) FROM turns WHERE agent_id = '{agent}' AND status = 'running'"
        await eventually(lambda: _count(db, running), lambda n: n == 1, what="the turn running")
        await eventually(
            lambda: asyncio.sleep(0, len(fake_model.received)), lambda n: n == 1, what="the model called"
        )
        async with db.transaction() as tx:
            await tx.execute(
                text("UPDATE turns SET lease_expires_at = now() - interval '1 second' WHERE agent_id = :a"),
                {"a": agent},
            )
        assert await platform.recovery.sweep() == 1
    finally:
        answer.set()
    second = await client.post(url, params={"wait": "true"}, json={"text": "second"}, headers=H)
    assert second.json()["text"] == "next"
    await _settled(db, agent)
    ends = f"SELECT count(*) FROM session_events WHERE agent_id = '{agent}' AND event_type = 'agent_end'"
    assert await _count(db, ends) == 2
    late = f"SELECT count(*) FROM session_events WHERE agent_id = '{agent}' AND content = 'too late'"
    assert await _count(db, late) == 0
    statuses = f"SELECT string_agg(status, ',' ORDER BY id) FROM turns WHERE agent_id = '{agent}'"
    async with db.transaction() as tx:
        assert (await tx.execute(text(statuses))).scalar_one() == "error,completed"
        tally = "SELECT completed_turn_count, status FROM sessions WHERE agent_id = :a AND session_id = 's'"
        row = (await tx.execute(text(tally), {"a": agent})).one()
    assert tuple(row) == (2, "idle")
