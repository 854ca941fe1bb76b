"""Introspection, compaction, limits, queueing and operations endpoints."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from openhermit.store.engine import Database
from openhermit.store.repos import events, memories, sessions
from openhermit.testing.fake_model import FakeModelServer, Received, Reply
from tests.polling import eventually
from tests.runtime_helpers import create_agent, open_session, parse_sse, point_at_fake

H = {"Authorization": "Bearer test-admin-token"}


async def _agent(
    client: httpx.AsyncClient, db: Database, fake: FakeModelServer, name: str = "a", **config: object
) -> str:
    await create_agent(client, H, name)
    await point_at_fake(db, name, fake, **config)
    await open_session(client, H, name, "s")
    return name


async def _say(client: httpx.AsyncClient, agent: str, text: str, session: str = "s") -> dict[str, object]:
    response = await client.post(
        f"/api/agents/{agent}/sessions/{session}/messages",
        params={"wait": "true"},
        json={"text": text},
        headers=H,
    )
    return response.json()


def _requests(fake: FakeModelServer) -> Callable[[], Awaitable[int]]:
    """A probe: how many requests the model has received."""

    async def count() -> int:
        return len(fake.received)

    return count


async def test_checkpoint_runs_introspection(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    agent = await _agent(client, db, fake_model)
    await _say(client, agent, "I am planning a trip to Oslo in May")
    fake_model.script(
        Reply(
            tool_calls=[
                ("working_memory_update", {"content": "User plans an Oslo trip in May."}),
                ("session_description_update", {"description": "Oslo trip planning"}),
                ("memory_add", {"key": "travel/oslo", "content": "User travels to Oslo in May"}),
            ]
        ),
        Reply(text="Recorded the trip."),
    )
    response = await client.post(
        f"/api/agents/{agent}/sessions/s/checkpoint", json={"reason": "manual"}, headers=H
    )
    assert response.json() == {"checkpointed": True}
    introspection_request = fake_model.received[-2]
    assert "working_memory_update" in introspection_request.tool_names
    assert "planning a trip to Oslo" in introspection_request.text()
    async with db.transaction() as tx:
        record = await sessions.get_record(tx, agent, "s")
        assert await memories.get_memory(tx, agent, "travel/oslo") is not None
    assert record is not None
    assert record.working_memory == "User plans an Oslo trip in May."
    assert record.description == "Oslo trip planning"
    async with db.transaction() as tx:
        rows = await events.list_history(tx, agent, "s")
    ran = [(r.event_type, r.content) for r in rows if r.payload.get("introspection")]
    # its tool calls and results as they ran, then its final answer and its end
    assert ran[0][0] == "introspection_start"
    assert ran[-2:] == [("assistant", "Recorded the trip."), ("introspection_end", None)]
    assert [t for t, _ in ran].count("tool_result") == 3
    # Nothing new since: a second checkpoint has nothing to do.
    assert (await client.post(f"/api/agents/{agent}/sessions/s/checkpoint", json={}, headers=H)).json() == {
        "checkpointed": False
    }
    # The next turn carries the working memory as a leading read-only message.
    await _say(client, agent, "what next?")
    first_user = fake_model.received[-1].body["messages"][1]["content"]
    assert first_user == "Session-local working memory (read-only):\nUser plans an Oslo trip in May."
    history = (await client.get(f"/api/agents/{agent}/sessions/s/messages", headers=H)).json()
    phases = [h.get("introspectionPhase") for h in history if h["role"] == "introspection"]
    assert phases == ["start", "end"]


async def test_introspection_every_turn_interval(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    config = {"memory": {"introspection": {"turn_interval": 2, "idle_timeout_minutes": 0}}}
    agent = await _agent(client, db, fake_model, **config)

    def reply(request: Received) -> Reply:
        if "reflective memory" in request.system_prompt:
            return Reply(tool_calls=[("session_description_update", {"description": "auto"})])
        return Reply(text="ok")

    fake_model.default = reply
    await _say(client, agent, "one")
    await _say(client, agent, "two")

    async def description() -> str | None:
        async with db.transaction() as tx:
            record = await sessions.get_record(tx, agent, "s")
        return record.description if record else None

    assert await eventually(description, lambda d: d == "auto", what="the introspected description") == "auto"


async def test_new_session_checkpoint_marks_inactive(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    agent = await _agent(client, db, fake_model)
    await _say(client, agent, "hello")
    await client.post(f"/api/agents/{agent}/sessions/s/checkpoint", json={"reason": "new_session"}, headers=H)
    listed = (await client.get(f"/api/agents/{agent}/sessions", headers=H)).json()
    assert listed == []
    shown = (
        await client.get(f"/api/agents/{agent}/sessions", params={"includeInactive": "true"}, headers=H)
    ).json()
    assert shown[0]["status"] == "inactive"


async def test_compaction_summarises_and_the_next_turn_resumes_from_it(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    config = {"memory": {"introspection": {"enabled": False}}}
    agent = await _agent(client, db, fake_model, **config)
    for i in range(8):
        await _say(client, agent, f"message {i} " + "x" * 1200)
    await point_at_fake(
        db,
        agent,
        fake_model,
        model=fake_model.agent_model(context_window=2048),
        **config,
    )

    def reply(request: Received) -> Reply:
        if "You compress conversations" in request.system_prompt:
            return Reply(text="SUMMARY: eight long messages about x.")
        return Reply(text="fine")

    fake_model.default = reply
    await _say(client, agent, "and now?")
    async with db.transaction() as tx:
        compaction = (await events.context_events(tx, agent, "s")).compaction
    assert compaction is not None
    assert compaction.payload["summary"] == "SUMMARY: eight long messages about x."
    last = fake_model.received[-1].text()
    assert "SUMMARY: eight long messages about x." in last
    assert "message 0 " not in last  # summarised away
    assert "message 7 " in last  # recent messages kept
    await _say(client, agent, "one more")  # from the context kept in memory, and what came since
    following = fake_model.received[-1].text()
    assert "SUMMARY: eight long messages about x." in following
    assert "message 0 " not in following
    assert "message 7 " in following
    assert following.index("and now?") < following.index("one more")


async def test_fifteen_consecutive_tool_failures_end_the_turn(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    agent = await _agent(client, db, fake_model)
    fake_model.default = Reply(tool_calls=[("memory_get", {"key": "missing"})])
    body = await _say(client, agent, "loop forever")
    assert "15 consecutive tool calls failed" in str(body["error"])
    assert len(body["toolCalls"]) == 15  # type: ignore[arg-type]


async def test_large_tool_results_are_saved_and_previewed(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    agent = await _agent(client, db, fake_model)
    async with db.transaction() as tx:
        await memories.upsert_memory(tx, agent, "big", "A" * 6000 + "MIDDLE" + "Z" * 6000)
    fake_model.script(Reply(tool_calls=[("memory_get", {"key": "big"})]), Reply(text="read it"))
    body = await _say(client, agent, "read big")
    assert body["text"] == "read it"
    sent = next(m["content"] for m in fake_model.received[-1].body["messages"] if m["role"] == "tool")
    assert "characters omitted" in sent
    assert "MIDDLE" not in sent
    assert "full result saved to" in sent
    saved = sent.rsplit("full result saved to ", 1)[1].rstrip("]")
    assert "MIDDLE" in Path(saved).read_text()  # noqa: ASYNC240


async def test_queue_runs_messages_in_order(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    agent = await _agent(client, db, fake_model)
    fake_model.default = lambda r: Reply(text="echo " + r.body["messages"][-1]["content"], delay=0.05)
    posts = [
        client.post(
            f"/api/agents/{agent}/sessions/s/messages",
            json={"text": f"n{i}", "messageId": f"q{i}"},
            headers=H,
        )
        for i in range(5)
    ]
    await asyncio.gather(*posts)

    async def messages() -> list[dict[str, str]]:
        return (await client.get(f"/api/agents/{agent}/sessions/s/messages", headers=H)).json()  # type: ignore[no-any-return]

    history = await eventually(
        messages, lambda h: sum(m["role"] == "assistant" for m in h) == 5, what="five answers"
    )
    answers = [h["content"] for h in history if h["role"] == "assistant"]
    users = [h["content"] for h in history if h["role"] == "user"]
    assert answers == [f"echo {u}" for u in users]
    # Each turn saw only the messages before it, never a later queued one.
    for request in fake_model.received:
        if "reflective memory" in request.system_prompt:
            continue
        shown = [m["content"] for m in request.body["messages"] if m["role"] == "user"]
        assert shown == users[: len(shown)]


async def test_reject_policy(client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer) -> None:
    agent = await _agent(client, db, fake_model, concurrency="reject")
    answer = threading.Event()  # the first turn runs until the second message has been refused
    fake_model.script(Reply(text="slow", hold=answer))
    first = asyncio.create_task(_say(client, agent, "one"))
    try:
        await eventually(_requests(fake_model), what="the first turn calling the model")
        second = await client.post(
            f"/api/agents/{agent}/sessions/s/messages", json={"text": "two"}, headers=H
        )
    finally:
        answer.set()
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "conflict"
    assert (await first)["text"] == "slow"


async def test_interrupt_policy(client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer) -> None:
    agent = await _agent(client, db, fake_model, concurrency="interrupt")
    # The first answer stalls after its first delta for longer than any test runs: only the
    # second message can end that turn.
    fake_model.script(Reply(text="stalling answer", hang_after_first_delta=600), Reply(text="new answer"))
    first = asyncio.create_task(
        client.post(
            f"/api/agents/{agent}/sessions/s/messages",
            params={"stream": "true"},
            json={"text": "one"},
            headers=H,
        )
    )

    async def streaming() -> int:
        return len(fake_model.first_token_sent)

    await eventually(streaming, what="the first answer streaming")
    second = await _say(client, agent, "two")
    assert second["text"] == "new answer"
    frames = parse_sse((await first).text)
    first_turn = [f["event"] for f in frames]
    assert first_turn[-1] == "agent_end"
    assert "text_final" not in first_turn


async def test_metrics_logs_providers(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    agent = await _agent(client, db, fake_model)
    fake_model.script(Reply(tool_calls=[("memory_list", {})]), Reply(text="done"))
    await _say(client, agent, "hi")
    metrics = (await client.get("/metrics")).text
    for name in (
        "openhermit_agent_turns_total",
        "openhermit_agent_turn_duration_seconds_bucket",
        "openhermit_agent_tokens_total",
        "openhermit_agent_tool_calls_total",
        "openhermit_agent_messages_total",
        "process_resident_memory_bytes",
    ):
        assert name in metrics
    assert f'openhermit_agent_tool_calls_total{{agent_id="{agent}",tool="memory_list"}} 1.0' in metrics
    assert f'openhermit_agent_tokens_total{{agent_id="{agent}",direction="in"}} 22.0' in metrics

    logs = await client.get("/api/admin/logs", params={"lines": "5"}, headers=H)
    assert logs.status_code == 200
    assert isinstance(logs.json(), list)
    assert (await client.get("/api/admin/logs", params={"lines": "0"}, headers=H)).status_code == 400
    providers = (await client.get("/api/providers", headers=H)).json()
    openrouter = next(p for p in providers if p["provider"] == "openrouter")
    assert "google/gemini-3-flash-preview" in [m["id"] for m in openrouter["models"]]
    assert openrouter["keyNames"] == ["OPENROUTER_API_KEY"]
    stats = (await client.get("/api/admin/stats", headers=H)).json()
    assert stats["agents"]["running"] >= 1
    assert stats["usage"]["allTime"]["inputTokens"] == 22


async def test_session_send_and_reported_cost(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    agent = await _agent(client, db, fake_model)
    await open_session(client, H, agent, "other")
    fake_model.script(
        Reply(
            tool_calls=[("session_send", {"session_id": "other", "text": "Reminder: dentist at 3pm"})],
            cost=0.002,
        ),
        Reply(text="Sent.", cost=0.001),
    )
    body = await _say(client, agent, "remind the other session")
    assert body["text"] == "Sent."
    other = (await client.get(f"/api/agents/{agent}/sessions/other/messages", headers=H)).json()
    assert [(h["role"], h["content"]) for h in other] == [("assistant", "Reminder: dentist at 3pm")]
    assert other[0]["metadata"]["source"] == "session_send"
    stats = (await client.get("/api/admin/stats", headers=H)).json()
    assert abs(stats["usage"]["allTime"]["costUsd"] - 0.003) < 1e-9


async def test_memory_tools_round_trip(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer
) -> None:
    agent = await _agent(client, db, fake_model)
    fake_model.script(
        Reply(
            tool_calls=[
                ("memory_add", {"key": "p/1", "content": "first"}),
                ("memory_update", {"key": "p/1", "content": "changed"}),
                ("memory_set_grants", {"key": "p/1", "grants": [{"type": "user", "value": "u1"}]}),
                ("memory_get", {"key": "p/1"}),
                ("memory_list", {"prefix": "p/"}),
                ("memory_delete", {"key": "p/1"}),
                ("memory_get", {"key": "p/1"}),
                ("memory_add", {"content": "no key given"}),
                ("memory_add", {"content": ""}),
            ]
        ),
        Reply(text="done"),
    )
    calls = (await _say(client, agent, "exercise memory"))["toolCalls"]
    texts = [(c["tool"], c["isError"], c["text"]) for c in calls]  # type: ignore[union-attr, index]
    assert texts[3] == ("memory_get", False, "changed")
    assert texts[4][2] == "- [p/1] changed"
    assert texts[6][1] is True
    assert texts[7][2].startswith("Saved memory mem-")
    assert texts[8][1] is True
    assert texts[8][2].startswith("Invalid arguments: content")
