"""Recent sessions' contexts, so that claiming a turn reads only the rows stored since.

A session's context (its last compaction and the rows after it) is rebuilt for every turn.
Rows are never changed once stored, so the context read for one turn stays true for the next:
the claim reads the rows with higher ids and applies them (`events.Context.extended`). Entries
are dropped least recently used first, beyond a bound on the memory they hold
(`OPENHERMIT_CONTEXT_CACHE_MB`). With a kept context go the model messages its rows made for the
session's last turn (`memo`).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import datetime

from openhermit.runtime.models.base import ChatMessage
from openhermit.store.repos.events import Context, StoredEvent

# A kept row's objects besides its text, with the message it made: measured with tracemalloc
# over rows read for a context (`events.context_event`), 760 bytes on average for questions and
# plain answers, 910 with tool calls and their results among them.
ROW_OVERHEAD_BYTES = 850


def _size(row: StoredEvent) -> int:
    text = row.payload.get("text")
    return ROW_OVERHEAD_BYTES + len(row.content or "") + (len(text) if isinstance(text, str) else 0)


@dataclass
class _Kept:
    """A session's kept context, and the messages its rows made for the last turn (by row id,
    built with `variant`: what else they are built from)."""

    created_at: datetime
    context: Context
    size: int
    variant: Hashable = None
    messages: dict[int, ChatMessage | None] = field(default_factory=dict)


def _grown_size(before: _Kept, context: Context) -> int | None:
    """The size of `context` from the kept `before`, when `context` is `before`'s with rows
    added (`Context.extended` without a compaction among them: the same compaction, and
    `before`'s rows first); None otherwise. A turn adds a few rows to a context of dozens."""
    kept = before.context.history
    history = context.history
    if (
        context.compaction is not before.context.compaction
        or not kept
        or len(history) < len(kept)
        or history[0] is not kept[0]
        or history[len(kept) - 1] is not kept[-1]
    ):
        return None
    return before.size + sum(map(_size, history[len(kept) :]))


class Histories:
    def __init__(self, *, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: dict[tuple[str, str], _Kept] = {}
        self._bytes = 0

    def get(self, agent_id: str, session_id: str, created_at: datetime) -> Context | None:
        """The session's context as last read, if kept (and the session is the one it was read
        from, not a later one of the same id)."""
        kept = self.kept(agent_id, session_id)
        return kept[1] if kept is not None and kept[0] == created_at else None

    def kept(self, agent_id: str, session_id: str) -> tuple[datetime, Context] | None:
        """The session's context as last read, if kept, with the creation time of the session it
        was read from (for callers who learn the session's own only later)."""
        entry = self._entries.get((agent_id, session_id))
        return (entry.created_at, entry.context) if entry is not None else None

    def put(self, agent_id: str, session_id: str, created_at: datetime, context: Context) -> None:
        """Keep the context of a committed read (a turn's inputs once its claim committed)."""
        key = (agent_id, session_id)
        before = self._entries.get(key)
        self.forget(agent_id, session_id)
        size = _grown_size(before, context) if before is not None else None
        if before is not None and size is not None:  # grown from the kept one: so are its messages
            kept = _Kept(created_at, context, size, before.variant, before.messages)
        else:
            compaction = _size(context.compaction) if context.compaction else 0
            kept = _Kept(created_at, context, sum(map(_size, context.history)) + compaction)
        if kept.size > self.max_bytes:
            return
        self._entries[key] = kept
        self._bytes += kept.size
        while self._bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._bytes -= self._entries.pop(oldest).size

    def memo(self, agent_id: str, session_id: str, variant: Hashable) -> dict[int, ChatMessage | None] | None:
        """The messages the kept context's rows made (by row id) while `variant` (what else they
        are built from) stayed the same, to fill for the next turn; None when no context is kept."""
        entry = self._entries.get((agent_id, session_id))
        if entry is None:
            return None
        if entry.variant != variant:
            entry.variant, entry.messages = variant, {}
        return entry.messages

    def forget(self, agent_id: str, session_id: str) -> None:
        entry = self._entries.pop((agent_id, session_id), None)
        if entry is not None:
            self._bytes -= entry.size

    @property
    def kept_bytes(self) -> int:
        return self._bytes
