"""The context kept between turns: later rows applied in order, bounded memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from openhermit.protocol.sessions import SessionRecord
from openhermit.runtime.context import build_messages
from openhermit.runtime.histories import ROW_OVERHEAD_BYTES, Histories
from openhermit.store.repos.events import Context, StoredEvent

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def row(event_id: int, event_type: str = "user", text: str = "", **payload: object) -> StoredEvent:
    return StoredEvent(event_id, "a", "s", CREATED, event_type, dict(payload), text or None, None)


def test_later_rows_are_appended_and_a_compaction_drops_what_it_summarised() -> None:
    start = Context(None, []).extended(
        [row(1), row(2, "assistant"), row(3, "agent_start"), row(4, "assistant", introspection=True)]
    )
    assert [r.id for r in start.history] == [1, 2]
    assert start.last_id == 4  # rows outside the context still move the mark
    later = start.extended([row(5, "tool_result"), row(6, "context_compaction", upToEventId=2), row(7)])
    assert later.compaction is not None
    assert later.compaction.id == 6
    assert [r.id for r in later.history] == [2, 5, 7]
    assert later.last_id == 7
    assert [r.id for r in start.history] == [1, 2]  # the earlier context is unchanged


def test_a_kept_context_belongs_to_its_session_and_not_to_a_new_one_of_the_same_id() -> None:
    histories = Histories(max_bytes=1 << 20)
    context = Context(None, [row(1, text="hello")], 1)
    histories.put("a", "s", CREATED, context)
    assert histories.get("a", "s", CREATED) is context
    assert histories.get("a", "s", CREATED + timedelta(seconds=1)) is None  # deleted and created again
    assert histories.get("a", "other", CREATED) is None


def test_the_least_recently_kept_contexts_go_first_beyond_the_bound() -> None:
    size = ROW_OVERHEAD_BYTES + 100
    histories = Histories(max_bytes=3 * size)
    for session in ("s1", "s2", "s3"):
        histories.put("a", session, CREATED, Context(None, [row(1, text="x" * 100)], 1))
    histories.put("a", "s1", CREATED, Context(None, [row(2, text="y" * 100)], 2))  # s1 used again
    histories.put("a", "s4", CREATED, Context(None, [row(1, text="z" * 100)], 1))
    assert histories.get("a", "s2", CREATED) is None
    assert [histories.get("a", s, CREATED) is not None for s in ("s1", "s3", "s4")] == [True] * 3
    assert histories.kept_bytes == 3 * size
    histories.put("a", "huge", CREATED, Context(None, [row(1, text="h" * 4 * size)], 1))
    assert histories.get("a", "huge", CREATED) is None  # larger than the bound: not kept
    assert histories.kept_bytes == 3 * size


def test_the_kept_size_follows_rows_added_and_dropped_by_a_compaction() -> None:
    histories = Histories(max_bytes=1 << 20)
    first = Context(None, []).extended([row(1, text="a" * 10), row(2, "assistant", text="b" * 20)])
    histories.put("a", "s", CREATED, first)
    assert histories.kept_bytes == 2 * ROW_OVERHEAD_BYTES + 30
    grown = first.extended([row(3, text="c" * 40)])
    histories.put("a", "s", CREATED, grown)
    assert histories.kept_bytes == 3 * ROW_OVERHEAD_BYTES + 70
    compacted = grown.extended([row(4, "context_compaction", text="s" * 5, upToEventId=3), row(5, text="d")])
    histories.put("a", "s", CREATED, compacted)  # rows 1 and 2 summarised: only 3, 5 and the summary
    assert histories.kept_bytes == 3 * ROW_OVERHEAD_BYTES + 40 + 1 + 5
    reread = Context(None, []).extended([row(1, text="x" * 7)])  # read afresh: not a continuation
    histories.put("a", "s", CREATED, reread)
    assert histories.kept_bytes == ROW_OVERHEAD_BYTES + 7


def _session(kind: str = "direct") -> SessionRecord:
    return SessionRecord.model_construct(agent_id="a", session_id="s", type=kind, working_memory=None)


def test_a_turn_reuses_the_messages_earlier_turns_built_and_sends_the_same_conversation() -> None:
    histories = Histories(max_bytes=1 << 20)
    first = Context(None, []).extended(
        [
            row(1, text="hi"),
            row(2, "assistant", text="reading", toolCalls=[{"id": "c1", "name": "file_read"}]),
            StoredEvent(
                3, "a", "s", CREATED, "tool_result", {"text": "x" * 300, "toolCallId": "c1"}, None, None
            ),
        ]
    )
    histories.put("a", "s", CREATED, first)
    memo = histories.memo("a", "s", ("direct", 100))
    assert memo is not None
    built = build_messages(_session(), None, first.history, tool_cap=100, memo=memo)
    assert [m.role for m in built] == ["user", "assistant", "tool"]
    assert len(built[2].text) == 100
    grown = first.extended([row(4, text="and now?")])
    histories.put("a", "s", CREATED, grown)
    memo = histories.memo("a", "s", ("direct", 100))
    assert memo is not None
    assert set(memo) == {1, 2, 3}
    again = build_messages(_session(), None, grown.history, tool_cap=100, memo=memo)
    assert again[:3] == built
    assert all(a is b for a, b in zip(again, built, strict=False))
    assert again == build_messages(_session(), None, grown.history, tool_cap=100)  # as built afresh
    memo = histories.memo("a", "s", ("direct", 10))  # another tool-result cap: nothing reused
    assert memo == {}
    capped = build_messages(_session(), None, grown.history, tool_cap=10, memo=memo)
    assert len(capped[2].text) == 10
    histories.put("a", "s", CREATED, Context(None, []).extended([row(9)]))  # read afresh
    assert histories.memo("a", "s", ("direct", 10)) == {}
    assert histories.memo("a", "other", ("direct", 10)) is None  # nothing kept: nothing to fill
