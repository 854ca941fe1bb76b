"""How a session event becomes a Server-Sent Events frame (framing by `sse_starlette`)."""

from __future__ import annotations

from sse_starlette import ServerSentEvent

from openhermit.protocol import json_text
from openhermit.runtime.bus import Envelope


def event_frame(envelope: Envelope) -> ServerSentEvent:
    """The frame of one event: its id (for `Last-Event-ID`), its type and its JSON."""
    return ServerSentEvent(
        id=str(envelope.id), event=envelope.event.type, data=json_text.dumps(envelope.event.wire())
    )


def frames_chunk(envelopes: list[Envelope]) -> bytes:
    """Several frames in one piece: events already waiting go to the client in one write."""
    return b"".join(event_frame(envelope).encode() for envelope in envelopes)
