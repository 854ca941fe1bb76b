"""The gateway process's logging: lines at the configured level to stderr, and the last of them
kept for `/api/admin/logs`."""

from __future__ import annotations

import logging
from collections import deque
from datetime import UTC, datetime

CAPACITY = 1000


class RingBufferHandler(logging.Handler):
    def __init__(self, capacity: int = CAPACITY) -> None:
        super().__init__(level=logging.INFO)
        self.lines: deque[tuple[str, str]] = deque(maxlen=capacity)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            self.lines.append((stamp, self.format(record)))
        except Exception:
            self.handleError(record)

    def tail(self, count: int) -> list[tuple[str, str]]:
        return list(self.lines)[-count:] if count > 0 else []


_HANDLER: RingBufferHandler | None = None
# Libraries that log one INFO line per HTTP request they send: every model call would add one.
PER_REQUEST_LOGGERS = ("httpx", "httpx2")


def log_buffer() -> RingBufferHandler:
    """The process-wide buffer, attached to the root logger on first use. It keeps what the root
    logger lets through: the level is `configure_logging`'s to set, not the buffer's."""
    global _HANDLER
    if _HANDLER is None:
        _HANDLER = RingBufferHandler()
        logging.getLogger().addHandler(_HANDLER)
    return _HANDLER


def configure_logging(level: str) -> None:
    """Log at `level` and above, to stderr and to the admin buffer alike. The HTTP clients'
    per-request lines are kept for `debug`: at `info` they would be one line per model call."""
    numeric = logging.getLevelName(level.upper())
    logging.basicConfig(level=numeric, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in PER_REQUEST_LOGGERS:
        logging.getLogger(name).setLevel(
            numeric if numeric <= logging.DEBUG else max(numeric, logging.WARNING)
        )
    log_buffer()
