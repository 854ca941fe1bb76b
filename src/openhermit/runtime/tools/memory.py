"""Long-term memory tools: get, list, recall (full-text), add, update, delete, set grants."""

from __future__ import annotations

import json
import secrets as random
from typing import Any

from pydantic import Field

from openhermit.protocol.memory import MemoryEntry
from openhermit.runtime.tools.base import (
    ANY,
    OWNER,
    OWNER_USER,
    Tool,
    ToolContext,
    ToolFailed,
    ToolInput,
    ToolOutcome,
)
from openhermit.store.repos import memories


def _render(entries: list[MemoryEntry]) -> ToolOutcome:
    if not entries:
        return ToolOutcome(text="No memories found.", details={"memories": []})
    lines = [f"- [{e.key}] {e.content}" for e in entries]
    return ToolOutcome(text="\n".join(lines), details={"memories": [e.wire() for e in entries]})


class Grant(ToolInput):
    type: str
    value: str | None = None


class MemoryGet(Tool):
    name = "memory_get"
    description = "Read one long-term memory by key."
    default_grants = ANY

    class Input(ToolInput):
        key: str = Field(min_length=1)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            entry = await memories.get_memory(tx, ctx.agent_id, args.key)
        if entry is None:
            raise ToolFailed(f"No memory with key {args.key}.")
        return ToolOutcome(text=entry.content, details=entry.wire())


class MemoryList(Tool):
    name = "memory_list"
    description = "List long-term memories whose key starts with a prefix, newest first."
    default_grants = ANY

    class Input(ToolInput):
        prefix: str = ""
        limit: int | None = Field(None, ge=1, le=50)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            return _render(
                await memories.list_memories(tx, ctx.agent_id, prefix=args.prefix, limit=args.limit)
            )


class MemoryRecall(Tool):
    name = "memory_recall"
    description = "Search long-term memory by meaning of words (full-text, then substring matches)."
    default_grants = ANY

    class Input(ToolInput):
        query: str = Field(min_length=1)
        limit: int | None = Field(None, ge=1, le=50)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            return _render(await memories.recall(tx, ctx.agent_id, args.query, limit=args.limit))


class MemoryAdd(Tool):
    name = "memory_add"
    description = "Store a fact in long-term memory. Without a key one is generated (mem-xxxxxxxx)."
    default_grants = OWNER_USER

    class Input(ToolInput):
        key: str | None = Field(None, min_length=1, max_length=200)
        content: str = Field(min_length=1)
        metadata: dict[str, Any] | None = None
        grants: list[Grant] | None = None

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        key = args.key or f"mem-{random.token_hex(4)}"
        grants = [g.model_dump(exclude_none=True) for g in args.grants] if args.grants is not None else None
        async with ctx.db.transaction() as tx:
            entry = await memories.upsert_memory(
                tx, ctx.agent_id, key, args.content, metadata=args.metadata, grants=grants
            )
        return ToolOutcome(text=f"Saved memory {entry.key}.", details={"key": entry.key})


class MemoryUpdate(Tool):
    name = "memory_update"
    description = "Change the content or metadata of an existing memory."
    default_grants = OWNER_USER

    class Input(ToolInput):
        key: str = Field(min_length=1)
        content: str | None = None
        metadata: dict[str, Any] | None = None

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            current = await memories.get_memory(tx, ctx.agent_id, args.key)
            if current is None:
                raise ToolFailed(f"No memory with key {args.key}.")
            await memories.upsert_memory(
                tx, ctx.agent_id, args.key, args.content or current.content, metadata=args.metadata
            )
        return ToolOutcome(text=f"Updated memory {args.key}.", details={"key": args.key})


class MemoryDelete(Tool):
    name = "memory_delete"
    description = "Delete a memory by key."
    default_grants = OWNER_USER

    class Input(ToolInput):
        key: str = Field(min_length=1)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            if not await memories.delete_memory(tx, ctx.agent_id, args.key):
                raise ToolFailed(f"No memory with key {args.key}.")
        return ToolOutcome(text=f"Deleted memory {args.key}.")


class MemorySetGrants(Tool):
    name = "memory_set_grants"
    description = "Set who may read a memory: a list of grants like {type: user, value: <userId>}."
    default_grants = OWNER

    class Input(ToolInput):
        key: str = Field(min_length=1)
        grants: list[Grant]

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            current = await memories.get_memory(tx, ctx.agent_id, args.key)
            if current is None:
                raise ToolFailed(f"No memory with key {args.key}.")
            grants = [g.model_dump(exclude_none=True) for g in args.grants]
            await memories.upsert_memory(tx, ctx.agent_id, args.key, current.content, grants=grants)
        return ToolOutcome(text=f"Grants of {args.key}: {json.dumps(grants)}")


MEMORY_TOOLS: list[Tool] = [
    MemoryGet(),
    MemoryList(),
    MemoryRecall(),
    MemoryAdd(),
    MemoryUpdate(),
    MemoryDelete(),
    MemorySetGrants(),
]
