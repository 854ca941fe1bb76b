from __future__ import annotations

import pytest
from pydantic import ValidationError

from openhermit.protocol.events import TextFinal, ToolResult, parse_event
from openhermit.protocol.secrets import check_secret_name, mask_secret
from openhermit.protocol.sessions import SessionMessage, SessionSpec


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("", ""),
        ("abc", "***"),
        ("12345678", "********"),
        ("123456789", "1234********6789"),
        ("sk-or-v1-abcdefghijklmnop", "sk-o********mnop"),
    ],
)
def test_masking_rule(value: str, masked: str) -> None:
    assert mask_secret(value) == masked


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "_x", "a1"])
def test_secret_names_accepted(name: str) -> None:
    assert check_secret_name(name) == name


@pytest.mark.parametrize("name", ["1ABC", "with-dash", "", "sp ace", "é"])
def test_secret_names_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="invalid secret name"):
        check_secret_name(name)


def test_session_spec_wire_names_and_scalar_metadata() -> None:
    spec = SessionSpec.model_validate(
        {"sessionId": "cli:default", "source": {"kind": "cli", "interactive": True}, "metadata": {"a": 1}}
    )
    assert spec.session_id == "cli:default"
    assert spec.wire() == {
        "sessionId": "cli:default",
        "source": {"kind": "cli", "interactive": True},
        "metadata": {"a": 1},
    }
    with pytest.raises(ValidationError):
        SessionSpec.model_validate(
            {"sessionId": "x", "source": {"kind": "cli", "interactive": True}, "metadata": {"a": {"b": 1}}}
        )


def test_message_occurred_at_needs_a_zone() -> None:
    ok = SessionMessage.model_validate({"text": "hi", "occurredAt": "2026-01-01T00:00:00Z"})
    assert ok.occurred_at is not None
    with pytest.raises(ValidationError, match="time zone"):
        SessionMessage.model_validate({"text": "hi", "occurredAt": "2026-01-01T00:00:00"})
    with pytest.raises(ValidationError):
        SessionMessage.model_validate({"messageId": "m1"})


def test_event_union_round_trip() -> None:
    event = parse_event({"type": "tool_result", "sessionId": "s", "tool": "exec", "toolCallId": "c1"})
    assert isinstance(event, ToolResult)
    assert event.is_error is False
    final = TextFinal(session_id="s", text="done", correlation_id="m1")
    assert final.wire() == {"type": "text_final", "sessionId": "s", "text": "done", "correlationId": "m1"}
    with pytest.raises(ValidationError):
        parse_event({"type": "no_such_event", "sessionId": "s"})
