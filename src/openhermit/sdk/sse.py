"""Reading `text/event-stream` bodies into frames."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Frame:
    event: str
    data: Any
    id: str | None = None


async def frames(lines: AsyncIterator[str]) -> AsyncIterator[Frame]:
    """Frames from SSE lines (`event:`, `data:`, `id:`; a blank line ends a frame; comments skipped)."""
    event, data, frame_id = "message", [], None
    async for line in lines:
        if not line:
            if data:
                raw = "\n".join(data)
                try:
                    parsed: Any = json.loads(raw)
                except ValueError:
                    parsed = raw
                yield Frame(event, parsed, frame_id)
            event, data, frame_id = "message", [], None
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "event":
            event = value
        elif key == "data":
            data.append(value)
        elif key == "id":
            frame_id = value
