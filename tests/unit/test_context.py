"""The conversation sent to the model: every tool call answered, no result without its call."""

from __future__ import annotations

from openhermit.runtime.context import close_dangling_calls
from openhermit.runtime.models.base import ChatMessage, ToolCallPart


def call(*ids: str) -> ChatMessage:
    return ChatMessage(role="assistant", tool_calls=[ToolCallPart(i, "file_read", {"path": i}) for i in ids])


def result(call_id: str, text: str = "done") -> ChatMessage:
    return ChatMessage(role="tool", text=text, tool_call_id=call_id, tool_name="file_read")


def test_answered_calls_are_kept_as_they_are() -> None:
    messages = [ChatMessage(role="user", text="read a and b"), call("a", "b"), result("a"), result("b")]
    assert close_dangling_calls(messages) == messages


def test_a_call_left_without_a_result_is_answered_as_interrupted_right_after_it() -> None:
    messages = [
        ChatMessage(role="user", text="go"),
        call("a", "b"),
        result("a"),
        ChatMessage(role="user", text="?"),
    ]
    fixed = close_dangling_calls(messages)
    assert [(m.role, m.tool_call_id) for m in fixed] == [
        ("user", None),
        ("assistant", None),
        ("tool", "b"),
        ("tool", "a"),
        ("user", None),
    ]
    assert fixed[2].is_error
    assert "did not finish" in fixed[2].text


def test_a_result_without_an_earlier_call_is_dropped() -> None:
    messages = [
        result("early"),
        ChatMessage(role="user", text="hi"),
        call("early"),
        result("late"),
        result("early"),
    ]
    # the first `early` result came before its call, `late` never had one; the second `early` stays
    assert close_dangling_calls(messages) == [messages[1], messages[2], messages[4]]


def test_a_long_tool_heavy_history_keeps_every_pair() -> None:
    messages: list[ChatMessage] = []
    for i in range(300):
        messages += [call(f"c{i}"), result(f"c{i}")]
    assert close_dangling_calls(messages) == messages
