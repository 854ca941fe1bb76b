"""Cron maths: validating expressions and time zones, and the next fire time.

Five fields are the classic `minute hour day month weekday`; six fields put seconds first
(`second minute hour day month weekday`), as the original's `croner` does. Times are computed
in the schedule's IANA time zone (UTC by default) and returned in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from openhermit.errors import Invalid


def zone(name: str | None) -> ZoneInfo:
    """The IANA time zone `name` (UTC when None); `Invalid` when unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"Unknown time zone {name!r}: use an IANA name such as 'Europe/Paris'.") from None


def _iterator(expression: str, tz: ZoneInfo, start: datetime) -> croniter:
    fields = expression.split()
    if len(fields) not in (5, 6):
        raise Invalid(
            f"Invalid cron expression {expression!r}: expected 5 fields (minute hour day month weekday) "
            "or 6 (second first)."
        )
    try:
        return croniter(" ".join(fields), start.astimezone(tz), second_at_beginning=len(fields) == 6)
    except (CroniterError, ValueError, KeyError) as exc:
        raise Invalid(f"Invalid cron expression {expression!r}: {exc}") from None


def next_fire(expression: str, tz_name: str | None, after: datetime) -> datetime:
    """The first fire strictly after `after`, in UTC; `Invalid` for a bad expression or zone."""
    iterator = _iterator(expression, zone(tz_name), after)
    try:
        found: datetime = iterator.get_next(datetime)
    except (CroniterError, ValueError) as exc:
        raise Invalid(f"Invalid cron expression {expression!r}: {exc}") from None
    return found.astimezone(UTC)
