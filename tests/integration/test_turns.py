"""Turns through the gateway app and the fake model server (real HTTP, real SDKs)."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from openhermit.gateway.platform import Platform
from openhermit.store.engine import Database
from openhermit.store.repos import admission, memories, receipts, sessions, turns
from openhermit.store.repos.events import Context, EventDraft
from openhermit.testing.fake_model import FakeModelServer, Reply
from tests.polling import eventually
from tests.runtime_helpers import create_agent, open_session, parse_sse, point_at_fake

H = {"Authorization": "Bearer test-admin-token"}


@pytest.fixture
async def agent(client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer) -> str:
    await create_agent(client, H, "helper")
    await point_at_fake(db, "helper", fake_model)
    await open_session(client, H, "helper", "s1")
    return "helper"


def url(agent: str, session: str, suffix: str = "messages") -> str:
    return f"/api/agents/{agent}/sessions/{session}/{suffix}"


@pytest.mark.parametrize("api", ["openai", "anthropic"])
async def test_memory_written_in_one_session_is_recalled_in_another(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, api: str
) -> None:
    await create_agent(client, H, "mem")
    await point_at_fake(db, "mem", fake_model, api=api)
    await open_session(client, H, "mem", "first")
    fake_model.script(
        Reply(tool_calls=[("memory_add", {"key": "pet", "content": "Alice has a dog named Rex"})]),
        Reply(text="Noted: Rex."),
    )
    answer = await client.post(
        url("mem", "first"),
        params={"wait": "true"},
        json={"text": "Remember my dog Rex", "messageId": "m1"},
        headers=H,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["text"] == "Noted: Rex."
    assert body["messageId"] == "m1"
    assert [c["tool"] for c in body["toolCalls"]] == ["memory_add"]
    assert body["toolCalls"][0]["isError"] is False
    async with db.transaction() as tx:
        stored = await memories.get_memory(tx, "mem", "pet")
    assert stored is not None
    assert stored.content == "Alice has a dog named Rex"

    await open_session(client, H, "mem", "second")
    fake_model.script(
        Reply(tool_calls=[("memory_recall", {"query": "dogs"})]), Reply(text="Your dog is Rex.")
    )
    answer = await client.post(
        url("mem", "second"), params={"wait": "true"}, json={"text": "What is my dog?"}, headers=H
    )
    body = answer.json()
    assert body["text"] == "Your dog is Rex."
    assert "Rex" in body["toolCalls"][0]["text"]
    # The model saw the recall result in its second request of that turn.
    assert "Alice has a dog named Rex" in fake_model.received[-1].text()
    assert fake_model.received[-1].api == api


@pytest.mark.parametrize("api", ["openai", "anthropic"])
async def test_stream_event_order(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, api: str
) -> None:
    await create_agent(client, H, "streamer")
    await point_at_fake(db, "streamer", fake_model, api=api)
    await open_session(client, H, "streamer", "s")
    fake_model.script(
        Reply(thinking="let me see", tool_calls=[("memory_list", {"prefix": ""})], chunk=4),
        Reply(text="Nothing stored yet, friend.", chunk=5),
    )
    response = await client.post(
        url("streamer", "s"), params={"stream": "true"}, json={"text": "hi", "messageId": "abc"}, headers=H
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = parse_sse(response.text)
    kinds = [f["event"] for f in frames]
    assert kinds[0] == "message_ack"
    assert frames[0]["data"] == {"sessionId": "s", "messageId": "abc"}
    assert kinds[1] == "user_message"
    turn = kinds[kinds.index("agent_start") :]
    assert turn[0] == "agent_start"
    assert turn[-2:] == ["text_final", "agent_end"]
    middle = turn[1:-2]
    assert "thinking_delta" in middle
    assert middle.index("tool_call") < middle.index("tool_result") < middle.index("text_delta")
    deltas = "".join(f["data"]["text"] for f in frames if f["event"] == "text_delta")
    assert deltas == "Nothing stored yet, friend."
    final = next(f for f in frames if f["event"] == "text_final")
    assert final["data"]["text"] == deltas
    assert all(f["data"].get("correlationId") == "abc" for f in frames[1:])
    stored_ids = [
        int(f["id"]) for f in frames if f["event"] not in ("message_ack", "text_delta", "thinking_delta")
    ]
    assert stored_ids == sorted(stored_ids)
    assert len(set(stored_ids)) == len(stored_ids)


async def test_history_matches_the_turn(
    client: httpx.AsyncClient, agent: str, fake_model: FakeModelServer
) -> None:
    fake_model.script(Reply(tool_calls=[("memory_add", {"content": "likes tea"})]), Reply(text="Got it."))
    await client.post(
        url(agent, "s1"), params={"wait": "true"}, json={"text": "I like tea", "messageId": "t1"}, headers=H
    )
    history = (await client.get(url(agent, "s1"), headers=H)).json()
    roles = [(h["role"], h.get("toolPhase")) for h in history]
    assert roles == [("user", None), ("tool", "call"), ("tool", "result"), ("assistant", None)]
    assert history[0]["content"] == "I like tea"
    assert history[0]["messageId"] == "t1"
    assert history[-1]["content"] == "Got it."
    assert history[-1]["model"] == "fake-model"
    assert history[-1]["name"] == "helper"


@pytest.mark.parametrize("failure", ["http-500", "garbage", "timeout"])
async def test_model_failures_end_the_turn_and_the_next_turn_works(
    client: httpx.AsyncClient, db: Database, agent: str, fake_model: FakeModelServer, failure: str
) -> None:
    never = threading.Event()  # the timed-out answer is held until the test is over
    replies = {"http-500": Reply(status=500), "garbage": Reply(garbage=True), "timeout": Reply(hold=never)}
    await point_at_fake(db, agent, fake_model, model={**_model(fake_model), "timeout_seconds": 1})
    fake_model.script(replies[failure])
    try:
        response = await client.post(
            url(agent, "s1"), params={"stream": "true"}, json={"text": "hello"}, headers=H
        )
    finally:
        never.set()
    kinds = [f["event"] for f in parse_sse(response.text)]
    assert kinds[-2:] == ["error", "agent_end"]
    error = next(f for f in parse_sse(response.text) if f["event"] == "error")
    assert "model request failed" in error["data"]["message"]

    await point_at_fake(db, agent, fake_model)  # the usual timeout: only the failure was timed
    fake_model.script(Reply(text="back again"))
    ok = await client.post(url(agent, "s1"), params={"wait": "true"}, json={"text": "again"}, headers=H)
    assert ok.json()["text"] == "back again"
    async with db.transaction() as tx:
        record = await sessions.get_record(tx, agent, "s1")
    assert record is not None
    assert record.status == "idle"


def _model(server: FakeModelServer) -> dict[str, object]:
    return server.agent_model()


async def test_missing_key_names_the_variable(
    client: httpx.AsyncClient, db: Database, agent: str, fake_model: FakeModelServer
) -> None:
    await point_at_fake(db, agent, fake_model, model={**_model(fake_model), "provider": "acme"})
    body = (
        await client.post(url(agent, "s1"), params={"wait": "true"}, json={"text": "hi"}, headers=H)
    ).json()
    assert body["text"] is None
    assert "ACME_API_KEY" in body["error"]
    assert fake_model.received == []


async def test_agent_secret_key_is_used_and_never_shown_to_the_model(
    client: httpx.AsyncClient, db: Database, agent: str, fake_model: FakeModelServer, platform: Platform
) -> None:
    await point_at_fake(db, agent, fake_model, model={**_model(fake_model), "provider": "acme"})
    await platform.secrets.set(agent, "ACME_API_KEY", "sk-acme-secret-value")
    fake_model.script(Reply(text="hello"))
    body = (
        await client.post(url(agent, "s1"), params={"wait": "true"}, json={"text": "hi"}, headers=H)
    ).json()
    assert body["text"] == "hello"
    received = fake_model.received[-1]
    assert received.headers["authorization"] == "Bearer sk-acme-secret-value"
    assert "sk-acme-secret-value" not in received.text()


async def test_fire_and_forget_then_history(
    client: httpx.AsyncClient, agent: str, fake_model: FakeModelServer
) -> None:
    fake_model.script(Reply(text="async answer"))
    ack = await client.post(url(agent, "s1"), json={"text": "hi", "messageId": "ff1"}, headers=H)
    assert ack.json() == {"sessionId": "s1", "triggered": True, "messageId": "ff1"}

    async def history() -> list[dict[str, object]]:
        return (await client.get(url(agent, "s1"), headers=H)).json()  # type: ignore[no-any-return]

    answered = await eventually(
        history, lambda h: any(m["role"] == "assistant" for m in h), what="the answer"
    )
    assert answered[-1]["content"] == "async answer"


async def test_append_stores_without_running_and_dedupes(
    client: httpx.AsyncClient, agent: str, fake_model: FakeModelServer
) -> None:
    body = {"text": "context only", "messageId": "ap1"}
    first = await client.post(url(agent, "s1"), params={"append": "true"}, json=body, headers=H)
    again = await client.post(url(agent, "s1"), params={"append": "true"}, json=body, headers=H)
    assert first.json() == {"sessionId": "s1", "appended": True}
    assert again.json() == {"sessionId": "s1", "appended": False, "deduped": True}
    synthetic = {"text": "I said this", "appendAs": "assistant", "occurredAt": "2026-01-01T10:00:00+00:00"}
    assert (await client.post(url(agent, "s1"), params={"append": "true"}, json=synthetic, headers=H)).json()[
        "appended"
    ]
    history = (await client.get(url(agent, "s1"), headers=H)).json()
    assert [h["content"] for h in history] == ["context only", "I said this"]
    assert history[1]["metadata"]["synthetic"] is True
    assert fake_model.received == []


async def test_group_message_not_mentioned_is_not_triggered(
    client: httpx.AsyncClient, agent: str, fake_model: FakeModelServer
) -> None:
    await open_session(client, H, agent, "g1", type="group")
    body = {
        "text": "chatter",
        "mentioned": False,
        "sender": {"channel": "api", "channelUserId": "u1", "displayName": "Bo"},
    }
    response = await client.post(url(agent, "g1"), params={"wait": "true"}, json=body, headers=H)
    assert response.json() == {"sessionId": "g1", "triggered": False, "text": None, "toolCalls": []}
    fake_model.script(Reply(text="Hi Bo"))
    mentioned = {**body, "text": "@helper hello", "mentioned": True}
    assert (await client.post(url(agent, "g1"), params={"wait": "true"}, json=mentioned, headers=H)).json()[
        "text"
    ] == "Hi Bo"
    messages = fake_model.received[-1].body["messages"]
    assert "[Bo] chatter" in str(messages)
    assert "[Bo] @helper hello" in str(messages)


async def test_additional_instruction_reaches_the_prompt_once(
    client: httpx.AsyncClient, agent: str, fake_model: FakeModelServer
) -> None:
    body = {"text": "hi", "additionalInstruction": "Answer in French."}
    await client.post(url(agent, "s1"), params={"wait": "true"}, json=body, headers=H)
    assert "Answer in French." in fake_model.received[-1].system_prompt
    await client.post(url(agent, "s1"), params={"wait": "true"}, json={"text": "again"}, headers=H)
    assert "Answer in French." not in fake_model.received[-1].system_prompt


async def test_prompt_has_instructions_and_session_instruction(
    client: httpx.AsyncClient, agent: str, fake_model: FakeModelServer
) -> None:
    spec = {
        "sessionId": "custom",
        "source": {"kind": "api", "interactive": True},
        "customInstruction": "Be terse.",
    }
    await client.post(f"/api/agents/{agent}/sessions", json=spec, headers=H)
    await client.post(url(agent, "custom"), params={"wait": "true"}, json={"text": "hi"}, headers=H)
    system = fake_model.received[-1].system_prompt
    for section in (
        "## Instructions",
        "identity:",
        "soul:",
        "rules:",
        "## Session Instruction\nBe terse.",
        "## Principles",
        "## Tools",
        "## Context",
        "Current session: `custom`",
    ):
        assert section in system
    assert "memory_recall" in fake_model.received[-1].tool_names
    assert "working_memory_update" not in fake_model.received[-1].tool_names


async def test_wait_timeout_gives_504_with_partial(
    client: httpx.AsyncClient, agent: str, fake_model: FakeModelServer
) -> None:
    answer = threading.Event()  # the model answers only after the wait has given up
    fake_model.script(
        Reply(tool_calls=[("memory_add", {"content": "the user says hi"})]), Reply(text="slow", hold=answer)
    )
    try:
        response = await client.post(
            url(agent, "s1"), params={"wait": "true", "timeout": "1500"}, json={"text": "hi"}, headers=H
        )
    finally:
        answer.set()
    assert response.status_code == 504
    body = response.json()
    assert body["error"] == "Timeout waiting for agent response."
    assert [(call["tool"], call["isError"]) for call in body["toolCalls"]] == [("memory_add", False)]
    assert body["text"] is None


async def test_interrupt_ends_the_turn(
    client: httpx.AsyncClient, agent: str, fake_model: FakeModelServer
) -> None:
    # The answer stalls after its first delta far longer than any test may run: only the
    # interrupt can end the turn.
    fake_model.script(Reply(text="a long answer that stalls", hang_after_first_delta=600.0))

    async def interrupt() -> httpx.Response:
        return await client.post(url(agent, "s1", "interrupt"), headers=H)

    waiter = asyncio.create_task(
        client.post(url(agent, "s1"), params={"stream": "true"}, json={"text": "go"}, headers=H)
    )
    await eventually(interrupt, lambda r: r.json()["interrupted"], what="an interrupted turn")
    frames = parse_sse((await waiter).text)
    assert [f["event"] for f in frames][-1] == "agent_end"
    assert "text_final" not in [f["event"] for f in frames]
    idle = await client.post(url(agent, "s1", "interrupt"), headers=H)
    assert idle.json() == {"interrupted": False}


async def test_realtime_approval(
    client: httpx.AsyncClient, db: Database, agent: str, fake_model: FakeModelServer
) -> None:
    from openhermit.store.repos import agents as agents_repo

    async with db.transaction() as tx:
        await agents_repo.update_agent(tx, agent, security={"require_approval_for": ["memory_add"]})
    fake_model.script(Reply(tool_calls=[("memory_add", {"key": "k", "content": "v"})]), Reply(text="saved"))
    waiter = asyncio.create_task(
        client.post(url(agent, "s1"), params={"stream": "true"}, json={"text": "save"}, headers=H)
    )

    async def approve() -> bool:
        history = (await client.get(url(agent, "s1"), headers=H)).json()
        calls = [h for h in history if h.get("toolPhase") == "call"]
        if not calls:
            return False
        resolved = await client.post(
            url(agent, "s1", "approve"),
            json={"toolCallId": calls[0]["toolCallId"], "approved": True},
            headers=H,
        )
        return bool(resolved.json()["resolved"])

    await eventually(approve, what="a resolved approval")
    frames = parse_sse((await waiter).text)
    kinds = [f["event"] for f in frames]
    assert kinds.index("approval_requested") < kinds.index("approval_resolved") < kinds.index("tool_result")
    resolved_event = next(f for f in frames if f["event"] == "approval_resolved")
    assert resolved_event["data"]["decision"] == "approved"
    async with db.transaction() as tx:
        assert await memories.get_memory(tx, agent, "k") is not None
    unknown = await client.post(
        url(agent, "s1", "approve"), json={"toolCallId": "nope", "approved": True}, headers=H
    )
    assert unknown.json() == {"resolved": False}


async def test_approval_times_out(
    client: httpx.AsyncClient, db: Database, agent: str, fake_model: FakeModelServer
) -> None:
    from openhermit.store.repos import agents as agents_repo

    async with db.transaction() as tx:
        await agents_repo.update_agent(
            tx, agent, security={"require_approval_for": ["memory_add"], "approval_timeout_seconds": 0.2}
        )
    fake_model.script(
        Reply(tool_calls=[("memory_add", {"key": "k", "content": "v"})]), Reply(text="not saved")
    )
    frames = parse_sse(
        (await client.post(url(agent, "s1"), params={"stream": "true"}, json={"text": "x"}, headers=H)).text
    )
    resolved = next(f for f in frames if f["event"] == "approval_resolved")
    assert resolved["data"]["decision"] == "timed_out"
    result = next(f for f in frames if f["event"] == "tool_result")
    assert result["data"]["isError"] is True
    async with db.transaction() as tx:
        assert await memories.get_memory(tx, agent, "k") is None


async def test_a_message_behind_an_unclaimed_older_turn_waits_for_it(
    client: httpx.AsyncClient, db: Database, fake_model: FakeModelServer, agent: str
) -> None:
    """A turn left queued with no worker (a crash between accepting and claiming, say) runs
    first; the new message is stored once, after that turn's start, and answered next."""
    async with db.driver_transaction() as tx:
        older = (
            await turns.queue_turn(
                tx, agent, "s1", message_id=None, request={"correlationId": "old"}, counting=COUNT
            )
        ).turn
    assert older is not None
    fake_model.script(Reply(text="the older turn"), Reply(text="the new one"))
    answer = await client.post(url(agent, "s1"), params={"wait": "true"}, json={"text": "hello"}, headers=H)
    assert answer.status_code == 200, answer.text
    assert answer.json()["text"] == "the new one"
    async with db.transaction() as tx:
        rows = (
            await tx.execute(
                text(
                    "SELECT event_type, turn_id FROM session_events WHERE agent_id = :a AND session_id = 's1'"
                    " AND event_type IN ('agent_start', 'user') ORDER BY id"
                ),
                {"a": agent},
            )
        ).all()
        ended = await turns.get_turn(tx, older.id)
    newer = rows[1][1]
    assert [tuple(r) for r in rows] == [("agent_start", older.id), ("user", newer), ("agent_start", newer)]
    assert ended is not None
    assert ended.status == "completed"


COUNT = sessions.MessageCount("hi", "hi")


async def test_a_turn_queued_in_an_idle_session_starts_at_once_and_one_behind_it_waits(
    client: httpx.AsyncClient, db: Database, agent: str
) -> None:
    """Queued with a lease into an empty queue, a turn is marked running under that lease and
    its session with it; a second one waits behind it, and without a lease a turn only queues."""
    await open_session(client, H, agent, "s2")
    lease = turns.Lease("this-gateway", 60)
    async with db.driver_transaction() as tx:
        await sessions.lock_session(tx, agent, "s1")
        first = await turns.queue_turn(
            tx, agent, "s1", message_id=None, request={}, counting=COUNT, start=lease
        )
        second = await turns.queue_turn(
            tx, agent, "s1", message_id="m2", request={}, counting=COUNT, start=lease
        )
        await sessions.lock_session(tx, agent, "s2")
        unleased = await turns.queue_turn(tx, agent, "s2", message_id=None, request={}, counting=COUNT)
    assert first.turn is not None
    assert first.started is not None
    assert first.turn.status == "running"
    assert first.started.session.status == "running"
    assert first.started.session.message_count == 1
    assert first.started.setup_revision is not None
    assert second.turn is not None
    assert second.started is None
    assert second.turn.status == "queued"
    assert unleased.turn is not None
    assert unleased.started is None
    async with db.transaction() as tx:
        found = await tx.execute(
            text(
                "SELECT session_id, status, lease_owner, lease_expires_at > now() FROM turns"
                " WHERE agent_id = :a ORDER BY id"
            ),
            {"a": agent},
        )
        rows = [tuple(r) for r in found]
        s1 = await sessions.get_record(tx, agent, "s1")
        s2 = await sessions.get_record(tx, agent, "s2")
    assert rows == [
        ("s1", "running", "this-gateway", True),
        ("s1", "queued", None, None),
        ("s2", "queued", None, None),
    ]
    assert s1 is not None
    assert s2 is not None
    assert (s1.status, s1.message_count) == ("running", 2)
    assert (s2.status, s2.message_count) == ("idle", 1)


async def test_admitting_into_an_idle_session_is_one_statement_that_never_jumps_the_queue(
    client: httpx.AsyncClient, db: Database, agent: str
) -> None:
    """Admission reads the queue as it was when its statement began. Had it to wait for the
    session's lock while another transaction queued a turn, it writes nothing. Into an idle
    session it starts the turn and stores the message, its `agent_start` and its receipt; a
    `messageId` seen before, or a caller not among the participants, admits nothing."""
    lease = turns.Lease("this-gateway", 60)

    async def admit(
        session_id: str,
        message_id: str | None = None,
        participant: str | None = None,
        kept: tuple[datetime, Context] | None = None,
    ) -> admission.Admitted | None:
        async with db.driver_connection() as conn:
            return await admission.admit(
                conn,
                agent,
                session_id,
                message_id=message_id,
                request={"correlationId": "c"},
                counting=COUNT,
                lease=lease,
                participant=participant,
                rows=[EventDraft("user", {"text": "hi"}, "hi"), EventDraft("agent_start", {})],
                announce=None,
                kept=kept,
            )

    async def waiting_for_a_lock() -> int:
        async with db.transaction() as tx:
            return (await tx.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))).scalar_one()

    async with db.driver_transaction() as holder:
        await sessions.lock_session(holder, agent, "s1")
        await turns.queue_turn(holder, agent, "s1", message_id=None, request={}, counting=COUNT)
        contender = asyncio.create_task(admit("s1"))
        await eventually(waiting_for_a_lock, what="the admission waiting for the session's lock")
    assert await contender is None

    for session_id in ("s2", "s3", "s4"):
        await open_session(client, H, agent, session_id)
    admitted = await admit("s2", "m-1")
    assert admitted is not None
    assert (admitted.turn.status, admitted.turn.message_id) == ("running", "m-1")
    assert admitted.started.session.status == "running"
    assert admitted.started.session.message_count == 1
    assert [(r.event_type, r.turn_id) for r in admitted.stored] == [
        ("user", admitted.turn.id),
        ("agent_start", admitted.turn.id),
    ]
    assert admitted.context.history[-1].id == admitted.stored[0].id
    async with db.driver_transaction() as tx:
        await receipts.insert_receipt(tx, agent, "s3", "m-1")
    assert await admit("s3", "m-1") is None  # a retry
    assert await admit("s4", participant="a-stranger") is None

    # A kept context is applied only to the session it was read from: one of an earlier
    # session of the same id is ignored, and the context read whole.
    await open_session(client, H, agent, "s5")
    await open_session(client, H, agent, "s6")
    for session_id in ("s5", "s6"):
        stored = await client.post(
            url(agent, session_id), params={"append": "true"}, json={"text": "before"}, headers=H
        )
        assert stored.status_code == 200
    async with db.transaction() as tx:
        s5_record = await sessions.get_record(tx, agent, "s5")
    assert s5_record is not None
    beyond = Context(None, [], last_id=10**12)  # as if every row so far were in it already
    current = await admit("s5", kept=(s5_record.created_at, beyond))
    earlier = await admit("s6", kept=(s5_record.created_at - timedelta(days=1), beyond))
    assert current is not None
    assert earlier is not None
    assert [r.content for r in current.context.history] == ["hi"]
    assert [r.content for r in earlier.context.history] == ["before", "hi"]

    async with db.transaction() as tx:
        queue = await tx.execute(
            text("SELECT session_id, status FROM turns WHERE agent_id = :a ORDER BY id"), {"a": agent}
        )
        assert [tuple(r) for r in queue] == [
            ("s1", "queued"),
            ("s2", "running"),
            ("s5", "running"),
            ("s6", "running"),
        ]
        receipt = await receipts.find_receipt(tx, agent, "s2", "m-1")
        s1 = await sessions.get_record(tx, agent, "s1")
        s4 = await sessions.get_record(tx, agent, "s4")
    assert receipt == receipts.Receipt("m-1", admitted.stored[0].id, admitted.turn.id)
    assert s1 is not None
    assert s4 is not None
    assert (s1.message_count, s4.message_count, s4.status) == (1, 0, "idle")


async def test_a_turn_queued_while_the_running_one_ends_is_not_left_behind(db: Database, agent: str) -> None:
    """Another gateway queues a message's turn while holding the session's lock; the running
    turn's end waits for that lock and reads the turns as they were before. It must still tell
    its worker that a turn may wait, or that turn sits queued until the stalled-queue sweep."""
    lease = turns.Lease("this-gateway", 60)
    async with db.driver_transaction() as tx:
        await sessions.lock_session(tx, agent, "s1")
        running = (
            await turns.queue_turn(tx, agent, "s1", message_id=None, request={}, counting=COUNT, start=lease)
        ).turn
    assert running is not None

    async def end(turn_id: int) -> turns.Ended | None:
        async with db.driver_connection() as conn:
            return await turns.end_running(
                conn,
                agent,
                "s1",
                turn_id,
                status="completed",
                result={},
                error=None,
                rows=[EventDraft("agent_end", {"status": "completed"})],
            )

    async def waiting_for_a_lock() -> int:
        async with db.transaction() as tx:
            return (await tx.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))).scalar_one()

    async with db.driver_transaction() as peer:
        await sessions.lock_session(peer, agent, "s1")
        queued = (await turns.queue_turn(peer, agent, "s1", message_id="m2", request={}, counting=COUNT)).turn
        ending = asyncio.create_task(end(running.id))
        await eventually(waiting_for_a_lock, what="the turn's end waiting for the session's lock")
    ended = await ending
    assert queued is not None
    assert queued.status == "queued"
    assert ended is not None
    assert ended.tally.waiting is True
    async with db.driver_transaction() as tx:
        claim = await turns.claim_next(tx, agent, "s1", lease=lease)
    assert claim is not None
    assert claim.turn is not None
    assert claim.turn.id == queued.id

    # Without a race, the end of the last turn says nothing waits.
    last = await end(queued.id)
    assert last is not None
    assert last.tally.waiting is False


async def test_the_model_sees_the_conversation_and_the_new_message_last(
    client: httpx.AsyncClient, fake_model: FakeModelServer, agent: str
) -> None:
    """An idle session's turn is claimed as its message is stored: the context read with the
    claim still holds that message, after the earlier exchanges, once."""
    fake_model.script(Reply(text="one"), Reply(text="two"), Reply(text="three"))
    for text_ in ("first", "second", "third"):
        answer = await client.post(url(agent, "s1"), params={"wait": "true"}, json={"text": text_}, headers=H)
        assert answer.status_code == 200, answer.text
    sent = [(m["role"], m["content"]) for m in fake_model.received[-1].body["messages"][1:]]
    assert sent == [
        ("user", "first"),
        ("assistant", "one"),
        ("user", "second"),
        ("assistant", "two"),
        ("user", "third"),
    ]


async def test_a_turn_sees_rows_stored_since_the_last_one(
    client: httpx.AsyncClient, fake_model: FakeModelServer, agent: str
) -> None:
    """The context kept from the previous turn is brought up to date from the log: a message
    appended without a turn shows, in its place."""
    fake_model.script(Reply(text="one"), Reply(text="two"), Reply(text="three"))

    async def say(text_: str) -> list[tuple[str, str]]:
        answer = await client.post(url(agent, "s1"), params={"wait": "true"}, json={"text": text_}, headers=H)
        assert answer.status_code == 200, answer.text
        return [(m["role"], m["content"]) for m in fake_model.received[-1].body["messages"][1:]]

    await say("first")
    appended = await client.post(
        url(agent, "s1"), params={"append": "true"}, json={"text": "aside"}, headers=H
    )
    assert appended.status_code == 200, appended.text
    assert await say("second") == [
        ("user", "first"),
        ("assistant", "one"),
        ("user", "aside"),
        ("user", "second"),
    ]
    assert (await say("third"))[-3:] == [("user", "second"), ("assistant", "two"), ("user", "third")]
