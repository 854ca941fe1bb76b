"""A gateway knows whether other gateway processes share its database. Alone, it sends none of
the notifications only peers would read (stored-event notices, token deltas); a peer that starts
is known at once, and one that stops is forgotten at the next count. What a gateway keeps per
session for delivering events stays bounded however many sessions it has seen."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from openhermit.protocol.events import TextDelta
from openhermit.runtime.bus import EventBus
from openhermit.runtime.journal import Journal, NewEvent
from openhermit.runtime.relay import DELTA_BATCH_SECONDS, Relay
from openhermit.store.engine import Database, to_libpq_url
from openhermit.store.notify import CHANNEL, Listener
from openhermit.store.repos import agents
from openhermit.store.repos.events import StoredEvent
from tests.polling import eventually

CHECK_SECONDS = 0.2


async def _journal(db: Database, listener: Listener, instance_id: str) -> Journal:
    journal = Journal(db, EventBus())
    journal.relay = Relay(
        instance_id, journal.bus, listener.send, journal.catch_up, peers=lambda: listener.has_peers
    )
    return journal


async def _turn_of_events(journal: Journal, db: Database) -> None:
    """What a turn sends: a streamed delta, then stored rows."""
    journal.flash("a1", "s1", TextDelta(session_id="s1", text="hel"))
    await asyncio.sleep(DELTA_BATCH_SECONDS * 3)
    async with db.driver_transaction() as tx:
        stored = await journal.write(tx, "a1", "s1", [NewEvent("user", {"text": "hi"}, content="hi")], None)
    journal.publish(stored)


async def test_a_lone_gateway_relays_nothing_and_a_starting_peer_is_known_at_once(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    async with db.transaction() as tx:
        await agents.insert_agent(tx, "a1", workspace_dir=str(tmp_path / "a1"))
    watcher = await asyncpg.connect(to_libpq_url(db_url))  # a plain connection: not a gateway
    heard: list[dict[str, object]] = []
    await watcher.add_listener(CHANNEL, lambda _c, _p, _ch, payload: heard.append(json.loads(payload)))
    first = Listener(db_url, "gw-1", peer_check_seconds=CHECK_SECONDS)
    second = Listener(db_url, "gw-2", peer_check_seconds=CHECK_SECONDS)
    try:
        await first.start()
        journal = await _journal(db, first, "gw-1")
        await eventually(lambda: _heard(heard, "gw-1"), what="the first gateway's hello")
        assert not first.has_peers

        heard.clear()
        await _turn_of_events(journal, db)
        await asyncio.sleep(0.2)  # a notice would have arrived by now
        assert heard == []  # alone: no stored-event notice, no relayed delta

        await second.start()
        assert second.has_peers  # it counted the first gateway's connection
        assert first.has_peers  # it heard the second one's hello
        heard.clear()
        await _turn_of_events(journal, db)
        # the delta and the rows; the first gateway's answer to the hello may arrive in between
        await eventually(
            lambda: _heard_keys(heard, "gw-1"),
            lambda keys: {"d", "id"} <= keys,
            what="the relayed delta and the stored-rows notice",
        )

        await second.stop()
        await eventually(lambda: _alone(first), what="the stopped peer forgotten")
    finally:
        await second.stop()
        await first.stop()
        await watcher.close()


async def _heard(heard: list[dict[str, object]], origin: str) -> list[dict[str, object]]:
    return [notice for notice in heard if notice.get("o") == origin]


async def _heard_keys(heard: list[dict[str, object]], origin: str) -> set[str]:
    return {key for notice in await _heard(heard, origin) for key in notice}


async def _alone(listener: Listener) -> bool:
    return not listener.has_peers


async def test_the_journal_remembers_the_last_id_of_recent_sessions_only(db: Database) -> None:
    """A long-running gateway sees ever more sessions; what it keeps per session is bounded,
    and a forgotten session's next stored event makes its deltas follow it again."""
    journal = Journal(db, EventBus(), last_ids_kept=2)
    now = datetime.now(UTC)

    def stored(session_id: str, event_id: int) -> StoredEvent:
        return StoredEvent(event_id, "a1", session_id, now, "agent_start", {}, None, None, 1)

    for event_id, session_id in enumerate(["s1", "s2", "s3"], start=10):
        journal.publish([stored(session_id, event_id)])
    assert [journal.last_id("a1", s) for s in ("s1", "s2", "s3")] == [0, 11, 12]

    with journal.bus.subscribe("a1", "s1") as sub:
        journal.publish([stored("s1", 13)])
        journal.flash("a1", "s1", TextDelta(session_id="s1", text="hel"))
        first, delta = await sub.get(), await sub.get()
    assert first is not None
    assert delta is not None
    assert (first.id, delta.id, delta.event.type) == (13, 13, "text_delta")


async def test_token_deltas_are_made_only_for_someone_who_reads_them(db: Database) -> None:
    """Each streamed token becomes an event only when a stream subscriber in this process or a
    peer process would receive it: a caller waiting for the outcome alone does not need them."""
    peers = False
    journal = Journal(db, EventBus())
    journal.relay = Relay("gw-1", journal.bus, _never_sent, journal.catch_up, peers=lambda: peers)
    assert not journal.flashed("a1", "s1", "text_delta")  # nobody listens
    with journal.bus.subscribe("a1", "s1", types=frozenset({"text_final", "agent_end"})):
        assert not journal.flashed("a1", "s1", "text_delta")  # a `wait` request
        with journal.bus.subscribe("a1", "s1"):
            assert journal.flashed("a1", "s1", "text_delta")  # a stream
            assert journal.flashed("a1", "s1", "thinking_delta")
        assert not journal.flashed("a1", "s1", "text_delta")
        assert not journal.flashed("a1", "s2", "text_delta")
    peers = True
    assert journal.flashed("a1", "s1", "text_delta")  # a stream may be open on another gateway


async def _never_sent(message: dict[str, object]) -> None:
    raise AssertionError(f"nothing is relayed here: {message}")
