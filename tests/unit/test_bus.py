"""The in-process event bus: a caller waiting for a turn's end is handed only what it reads."""

from __future__ import annotations

from openhermit.protocol.events import AgentEnd, TextDelta, TextFinal
from openhermit.runtime.bus import Envelope, EventBus


def test_a_waiter_for_some_event_types_is_not_handed_every_token() -> None:
    bus = EventBus(capacity=4)  # far fewer than the tokens of one answer
    waiter = bus.subscribe("a", "s", types=frozenset({"text_final", "agent_end"}))
    everything = bus.subscribe("a", "s")
    for i in range(1, 101):
        bus.publish(Envelope(1, "a", "s", TextDelta(session_id="s", text=f"t{i} "), stored=False))
    bus.publish(Envelope(2, "a", "s", TextFinal(session_id="s", text="the answer"), stored=True))
    bus.publish(Envelope(2, "a", "s", TextFinal(session_id="s", text="the answer"), stored=True))  # again
    bus.publish(Envelope(3, "a", "s", AgentEnd(session_id="s"), stored=True))

    assert everything.overflowed  # a reader of every event that did not keep up is cut off
    assert not waiter.overflowed
    handed = []
    while not waiter._queue.empty():
        envelope = waiter._queue.get_nowait()
        assert envelope is not None
        handed.append((envelope.id, envelope.event.type))
    assert handed == [(2, "text_final"), (3, "agent_end")]  # each stored event once


async def test_a_stream_takes_every_queued_event_at_once_and_ends_where_it_was_cut_off() -> None:
    bus = EventBus(capacity=3)
    sub = bus.subscribe("a", "s")
    batches = sub.batches()
    bus.publish(Envelope(1, "a", "s", TextDelta(session_id="s", text="one "), stored=False))
    bus.publish(Envelope(1, "a", "s", TextDelta(session_id="s", text="two "), stored=False))
    assert [e.event.text for e in await anext(batches)] == ["one ", "two "]  # type: ignore[attr-defined]
    for word in ("three ", "four ", "five ", "six "):  # one more than it holds: cut off
        bus.publish(Envelope(1, "a", "s", TextDelta(session_id="s", text=word), stored=False))
    assert [e.event.text for e in await anext(batches)] == ["four ", "five "]  # type: ignore[attr-defined]
    assert await anext(batches, None) is None  # the client resumes from the log by id


async def test_iterating_a_subscription_yields_in_order_and_stays_ended_once_cut_off() -> None:
    bus = EventBus(capacity=2)
    sub = bus.subscribe("a", "s")
    for word in ("one ", "two ", "three "):  # one more than it holds: cut off after "two "
        bus.publish(Envelope(1, "a", "s", TextDelta(session_id="s", text=word), stored=False))
    assert [e.event.text async for e in sub] == ["two "]  # type: ignore[attr-defined]
    bus.publish(Envelope(1, "a", "s", TextDelta(session_id="s", text="late "), stored=False))
    assert [e async for e in sub] == []  # ended: a second loop does not wait for more
