"""The last log lines of this process, for `/api/admin/logs`."""

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


def log_buffer() -> RingBufferHandler:
    """The process-wide buffer, attached to the root logger on first use."""
    global _HANDLER
    if _HANDLER is None:
        _HANDLER = RingBufferHandler()
        root = logging.getLogger()
        root.addHandler(_HANDLER)
        if root.level > logging.INFO or root.level == logging.NOTSET:
            root.setLevel(logging.INFO)
    return _HANDLER
