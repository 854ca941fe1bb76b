"""Long-term memories: keyed upserts, prefix listing, and full-text recall."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Integer, delete, func, literal, literal_column, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import aliased

from openhermit.protocol.memory import MemoryEntry
from openhermit.store.engine import Tx
from openhermit.store.like import ESCAPE, escape_like
from openhermit.store.tables.memories import Memory, agent_lexeme

RECALL_DEFAULT, RECALL_MAX = 10, 50
RANK_CANDIDATES = 2_000
SUBSTRING_WINDOW = 20_000
LIST_DEFAULT, LIST_MAX = 20, 50
_WORD_SPLIT = re.compile(r"[\s/,;:]+")


_ENGLISH = literal_column("'english'::regconfig")


def _entry(row: Memory) -> MemoryEntry:
    return MemoryEntry(
        key=row.memory_key,
        content=row.content,
        metadata=row.metadata_ or {},
        grants=list(row.grants or []),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _clamp(limit: int | None, default: int, maximum: int) -> int:
    return max(1, min(maximum, limit or default))


async def upsert_memory(
    tx: Tx,
    agent_id: str,
    key: str,
    content: str,
    *,
    metadata: dict[str, Any] | None = None,
    grants: list[Any] | None = None,
) -> MemoryEntry:
    values: dict[str, Any] = {"agent_id": agent_id, "memory_key": key, "content": content}
    changes: dict[str, Any] = {"content": content, "updated_at": func.now()}
    if metadata is not None:
        values["metadata_"] = metadata
        changes["metadata"] = metadata
    if grants is not None:
        values["grants"] = grants
        changes["grants"] = grants
    stmt = (
        insert(Memory)
        .values(**values)
        .on_conflict_do_update(index_elements=["agent_id", "memory_key"], set_=changes)
        .returning(Memory)
    )
    return _entry((await tx.execute(stmt)).scalar_one())


async def get_memory(tx: Tx, agent_id: str, key: str) -> MemoryEntry | None:
    row = await tx.get(Memory, (agent_id, key))
    return _entry(row) if row else None


async def list_memories(
    tx: Tx, agent_id: str, *, prefix: str = "", limit: int | None = None
) -> list[MemoryEntry]:
    rows = await tx.execute(
        select(Memory)
        .where(Memory.agent_id == agent_id, Memory.memory_key.like(f"{escape_like(prefix)}%", escape=ESCAPE))
        .order_by(Memory.updated_at.desc())
        .limit(_clamp(limit, LIST_DEFAULT, LIST_MAX))
    )
    return [_entry(r) for r in rows.scalars()]


async def delete_memory(tx: Tx, agent_id: str, key: str) -> bool:
    result = await tx.execute(delete(Memory).where(Memory.agent_id == agent_id, Memory.memory_key == key))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def recall(tx: Tx, agent_id: str, query: str, *, limit: int | None = None) -> list[MemoryEntry]:
    """Full-text search first (ranked); then, if short, per-word substring matches.

    Both steps are bounded so a query costs about the same at a million memories as at a
    thousand: the full-text index finds only this agent's matches (each memory's vector carries
    a lexeme naming its agent), ranking looks at no more than `RANK_CANDIDATES` of them, and the
    substring step searches the `SUBSTRING_WINDOW` most recently updated memories (older ones
    are still found by the full-text step).
    """
    limit = _clamp(limit, RECALL_DEFAULT, RECALL_MAX)
    words_query = func.plainto_tsquery(_ENGLISH, query)
    matching = aliased(
        Memory,
        select(Memory)
        .where(
            Memory.agent_id == agent_id,
            func.numnode(words_query) > 0,  # only stop words: no full-text match, not every memory
            Memory.content_tsv.op("@@")(words_query.op("&&")(agent_lexeme(agent_id))),
        )
        .limit(RANK_CANDIDATES)
        .subquery(),
    )
    ranked = await tx.execute(
        select(matching)
        .order_by(func.ts_rank(matching.content_tsv, words_query).desc(), matching.updated_at.desc())
        .limit(limit)
    )
    found = [_entry(r) for r in ranked.scalars()]
    words = [w for w in _WORD_SPLIT.split(query) if w]
    if len(found) >= limit or not words:
        return found
    recent = aliased(
        Memory,
        select(Memory)
        .where(Memory.agent_id == agent_id)
        .order_by(Memory.updated_at.desc())
        .limit(SUBSTRING_WINDOW)
        .subquery(),
    )
    # A literal, case-insensitive substring test: `strpos` on the stored lower-cased text.
    matches = [func.strpos(recent.search_text, func.lower(word)) > 0 for word in words]
    score = sum((func.cast(m, Integer) for m in matches), literal(0))
    fallback = await tx.execute(
        select(recent)
        .where(or_(*matches), recent.memory_key.not_in([e.key for e in found]))
        .order_by(score.desc(), recent.updated_at.desc())
        .limit(limit - len(found))
    )
    return found + [_entry(r) for r in fallback.scalars()]
