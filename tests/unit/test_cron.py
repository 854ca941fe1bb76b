"""Cron maths: five and six fields, time zones across daylight saving, clear refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from openhermit.errors import Invalid
from openhermit.scheduler.cron import next_fire, zone


def test_five_fields_are_minute_first_in_utc() -> None:
    after = datetime(2026, 3, 1, 8, 59, 30, tzinfo=UTC)
    assert next_fire("0 9 * * *", None, after) == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_six_fields_put_seconds_first() -> None:
    after = datetime(2026, 3, 1, 8, 59, 30, tzinfo=UTC)
    assert next_fire("*/15 * * * * *", "UTC", after) == datetime(2026, 3, 1, 8, 59, 45, tzinfo=UTC)
    assert next_fire("5 0 9 * * *", None, after) == datetime(2026, 3, 1, 9, 0, 5, tzinfo=UTC)


def test_a_time_zone_follows_daylight_saving() -> None:
    winter = next_fire("0 9 * * *", "Europe/Paris", datetime(2026, 1, 10, tzinfo=UTC))
    summer = next_fire("0 9 * * *", "Europe/Paris", datetime(2026, 7, 10, tzinfo=UTC))
    assert (winter.hour, summer.hour) == (8, 7)
    assert winter.tzinfo == UTC


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", "Invalid cron expression '61 * * * *'"),
        ("* * * *", "expected 5 fields"),
        ("* * * * * * *", "expected 5 fields"),
        ("every day", "expected 5 fields"),
        ("0 9 31 2 *", "Invalid cron expression"),
    ],
)
def test_invalid_expressions_are_refused(expression: str, message: str) -> None:
    with pytest.raises(Invalid, match=message.replace("*", r"\*")):
        next_fire(expression, None, datetime(2026, 1, 1, tzinfo=UTC))


def test_unknown_time_zones_are_refused() -> None:
    with pytest.raises(Invalid, match="Unknown time zone 'Mars/Base'"):
        zone("Mars/Base")
    with pytest.raises(Invalid, match="Unknown time zone"):
        zone("../../etc/passwd")
