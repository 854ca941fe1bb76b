from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import asyncpg
import pytest
from sqlalchemy import text

from openhermit.errors import Conflict
from openhermit.store.engine import Database, to_libpq_url
from openhermit.store.notify import CHANNEL
from openhermit.store.repos import agents, events, instructions, memories, sessions, usage, users
from tests.factories import Factory


async def test_agent_lifecycle_and_cascade(db: Database, factory: Factory) -> None:
    agent = await factory.agent("alpha", name="Alpha", config={"model": {"provider": "openai"}})
    assert agent.status == "active"
    assert agent.config == {"model": {"provider": "openai"}}
    with pytest.raises(Conflict):
        await factory.agent("alpha")

    await factory.session("alpha", "s1")
    await factory.event("alpha", "s1", "user", {"text": "hi"}, content="hi")
    async with db.transaction() as tx:
        await instructions.put_instruction(tx, "alpha", "rules", "Be kind.")
        await memories.upsert_memory(tx, "alpha", "m1", "the sky is blue")
        assert await agents.update_agent(tx, "alpha", status="disabled")
        assert (await agents.get_agent(tx, "alpha")).status == "disabled"  # type: ignore[union-attr]
        assert await agents.delete_agent(tx, "alpha")
    async with db.transaction() as tx:
        for table in ("sessions", "session_events", "instructions", "memories", "turns"):
            count = (await tx.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            assert count == 0, table


async def test_transaction_rolls_back_on_error(db: Database, factory: Factory) -> None:
    async def failing_unit_of_work() -> None:
        async with db.transaction() as tx:
            await agents.insert_agent(tx, "ghost", workspace_dir="/tmp/ghost")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await failing_unit_of_work()
    async with db.transaction() as tx:
        assert await agents.get_agent(tx, "ghost") is None


async def test_instruction_fanout(db: Database, factory: Factory) -> None:
    for agent_id in ("a1", "a2", "a3"):
        await factory.agent(agent_id)
    async with db.transaction() as tx:
        await instructions.put_instruction(tx, "a1", "rules", "Be brief.")
        changed = await instructions.fanout(tx, "append", "rules", "Never share PII.")
    assert changed == ["a1", "a2", "a3"]
    async with db.transaction() as tx:
        a1 = await instructions.get_instruction(tx, "a1", "rules")
        a2 = await instructions.get_instruction(tx, "a2", "rules")
    assert a1 is not None
    assert a1.content == "Be brief.\n\nNever share PII."
    assert a2 is not None
    assert a2.content == "Never share PII."

    async with db.transaction() as tx:
        await instructions.fanout(tx, "set", "rules", "Only this.")
        assert [i.content for i in await instructions.list_instructions(tx, "a3")] == ["Only this."]
        assert await instructions.fanout(tx, "remove", "rules") == ["a1", "a2", "a3"]
        assert await instructions.list_instructions(tx, "a1") == []


async def test_memory_recall_full_text_then_words(db: Database, factory: Factory) -> None:
    await factory.agent("mem")
    await factory.agent("other")
    async with db.transaction() as tx:
        await memories.upsert_memory(tx, "mem", "pet", "Alice owns a dog called Rex")
        await memories.upsert_memory(tx, "mem", "food", "Alice is allergic to peanuts")
        await memories.upsert_memory(tx, "mem", "proj/x-42", "Project deadline is Friday")
        await memories.upsert_memory(tx, "other", "pet", "Bob has dogs")
        # Stemming: "dogs" finds "dog" through the English tsvector.
        found = await memories.recall(tx, "mem", "dogs")
        assert [m.key for m in found] == ["pet"]
        # Substring fallback matches keys and partial words FTS cannot.
        found = await memories.recall(tx, "mem", "x-4")
        assert [m.key for m in found] == ["proj/x-42"]
        assert [m.key for m in await memories.recall(tx, "mem", "X-4")] == ["proj/x-42"]  # any case
        assert await memories.recall(tx, "mem", "x%2") == []  # literal text, not a pattern
        both = await memories.recall(tx, "mem", "alice, peanut")
        assert {m.key for m in both} == {"pet", "food"}
        assert both[0].key == "food"  # ranked: matches both words
        assert await memories.recall(tx, "mem", "zebra") == []
        assert await memories.recall(tx, "mem", "the") == []  # stop words only, no substring either
        # Another agent's memories never come back, whichever step finds them.
        assert await memories.recall(tx, "other", "alice") == []
        assert [m.content for m in await memories.recall(tx, "other", "dog")] == ["Bob has dogs"]

        updated = await memories.upsert_memory(tx, "mem", "pet", "Alice owns a cat")
        assert updated.content == "Alice owns a cat"
        assert [m.key for m in await memories.list_memories(tx, "mem", prefix="pro")] == ["proj/x-42"]
        assert await memories.list_memories(tx, "mem", prefix="%") == []
        assert await memories.delete_memory(tx, "mem", "pet")
        assert await memories.get_memory(tx, "mem", "pet") is None


async def test_recall_finds_an_agents_few_matches_among_a_crowd_of_others(
    db: Database, factory: Factory
) -> None:
    for agent in ("crowd", "few"):
        await factory.agent(agent)
    async with db.transaction() as tx:
        await tx.execute(
            text(
                "INSERT INTO memories (agent_id, memory_key, content)"
                " SELECT 'crowd', 'k' || g, 'shared topic number ' || g FROM generate_series(1, 5000) g"
            )
        )
        await memories.upsert_memory(tx, "few", "one", "The shared topic, once")
        await memories.upsert_memory(tx, "few", "two", "A shared topic again")
        found = await memories.recall(tx, "few", "shared topic", limit=50)
        assert sorted(m.key for m in found) == ["one", "two"]
        assert len(await memories.recall(tx, "crowd", "shared topic", limit=50)) == 50


async def test_events_are_read_by_id(db: Database, factory: Factory) -> None:
    await factory.agent("ev")
    await factory.session("ev", "s")
    stored = [await factory.event("ev", "s", "user", {"n": i}) for i in range(5)]
    ids = [e.id for e in stored]
    assert ids == sorted(ids)
    async with db.transaction() as tx:
        later = await events.list_events(tx, "ev", "s", after=ids[1])
    assert [e.payload["n"] for e in later] == [2, 3, 4]


async def test_usage_windows(db: Database, factory: Factory) -> None:
    await factory.agent("u")
    await factory.session("u", "s")
    usage_block = {"input": 100, "output": 20, "cacheRead": 5, "cacheWrite": 1, "cost": {"total": 0.25}}
    await factory.event("u", "s", "assistant", {"usage": usage_block}, content="hi")
    await factory.event("u", "s", "assistant", {"usage": usage_block}, content="again")
    await factory.event("u", "s", "user", {"usage": usage_block}, content="not counted")
    async with db.transaction() as tx:
        await tx.execute(
            text("UPDATE session_events SET ts = now() - interval '2 days' WHERE content = 'again'")
        )
        total = await usage.usage_totals(tx, agent_id="u")
        recent = await usage.usage_totals(tx, within=timedelta(hours=24))
    assert (total.input_tokens, total.output_tokens, total.cache_read_tokens) == (200, 40, 10)
    assert total.cost_usd == pytest.approx(0.5)
    assert recent.input_tokens == 100


async def test_sessions_and_users(db: Database, factory: Factory) -> None:
    await factory.agent("s")
    await factory.session("s", "cli:default", kind="cli")
    await factory.session("s", "api:1", kind="api")
    async with db.transaction() as tx:
        listed = await sessions.list_sessions(tx, "s", kind="cli")
        assert [x.session_id for x in listed] == ["cli:default"]
        await sessions.set_session_status(tx, "s", "api:1", "inactive")
        assert [x.session_id for x in await sessions.list_sessions(tx, "s")] == ["cli:default"]
    user = await factory.user(name="Ada")
    async with db.transaction() as tx:
        await users.link_identity(tx, user.user_id, "telegram", "42")
        found = await users.find_identity(tx, "telegram", "42")
        assert found is not None
        assert found.user_id == user.user_id
        membership = await users.set_role(tx, user.user_id, "s", "owner")
        assert membership.role == "owner"
        assert await users.count_users(tx) == 1


@pytest.mark.parametrize("announced", [False, True])
async def test_rows_stored_with_the_context_read_in_full_then_from_a_known_context(
    db: Database, db_url: str, factory: Factory, announced: bool
) -> None:
    """`append_with_context` returns the stored rows and the context with them, read in full or
    only past a known context, and (for peers) queues one notice of the new ids."""
    await factory.agent("ctx")
    await factory.session("ctx", "s")
    heard: list[dict[str, object]] = []
    watcher = await asyncpg.connect(to_libpq_url(db_url))
    await watcher.add_listener(CHANNEL, lambda _c, _p, _ch, payload: heard.append(json.loads(payload)))
    announce = {"o": "test"} if announced else None
    draft = events.EventDraft
    try:
        async with db.driver_transaction() as tx:
            stored, full = await events.append_with_context(
                tx,
                "ctx",
                "s",
                [draft("user", {}, "one"), draft("agent_start", {})],
                turn_id=None,
                announce=announce,
            )
        assert [e.content for e in full.history] == ["one"]
        assert full.last_id == stored[-1].id
        async with db.driver_transaction() as tx:  # written by someone else meanwhile
            await events.append_events(tx, "ctx", "s", [draft("assistant", {"text": "two"}, "two")])
        async with db.driver_transaction() as tx:
            again, known = await events.append_with_context(
                tx, "ctx", "s", [draft("user", {}, "three")], turn_id=None, announce=announce, known=full
            )
        assert [e.content for e in known.history] == ["one", "two", "three"]
        assert known.last_id == again[0].id
        async with db.transaction() as tx:
            assert [e.content for e in (await events.context_events(tx, "ctx", "s")).history] == [
                "one",
                "two",
                "three",
            ]
        await asyncio.sleep(0.2)
        notices = [(m["from"], m["id"]) for m in heard if m.get("o") == "test"]
        assert notices == ([(stored[0].id, stored[1].id), (again[0].id, again[0].id)] if announced else [])
    finally:
        await watcher.close()


async def test_a_context_read_leaves_out_bookkeeping_and_shares_repeated_strings(
    db: Database, factory: Factory
) -> None:
    """Rows read for a model context keep what building messages reads, not which request,
    model and usage an answer had; their agent, session, type and user strings are shared."""
    await factory.agent("ctx")
    await factory.session("ctx", "s")
    answer = {
        "text": "two",
        "toolCalls": [{"id": "c1", "name": "memory_recall", "arguments": {}}],
        "thinking": "hm",
        "correlationId": "m-1",
        "final": True,
        "model": "m",
        "provider": "p",
        "stopReason": "stop",
        "usage": {"input": 5, "output": 1, "cost": {"total": 0.0}},
    }
    draft = events.EventDraft
    async with db.driver_transaction() as tx:
        await events.append_events(
            tx,
            "ctx",
            "s",
            [
                draft("user", {"text": "one", "correlationId": "m-1", "name": "Ann"}, "one", "u1"),
                draft("assistant", answer, "two"),
                draft("user", {"text": "three", "correlationId": "m-2"}, "three", "u1"),
            ],
        )
    async with db.driver_transaction() as tx:
        first, second, third = (await events.context_events(tx, "ctx", "s")).history
    assert first.payload == {"text": "one", "name": "Ann"}
    assert second.payload == {"text": "two", "toolCalls": answer["toolCalls"], "thinking": "hm"}
    for name in ("agent_id", "session_id", "event_type", "user_id"):
        assert getattr(first, name) is getattr(third, name), name
    async with db.transaction() as tx:  # other reads still see every key
        listed = await events.list_events(tx, "ctx", "s")
    assert listed[-2].payload["usage"] == answer["usage"]
