"""The skill registry (`skills`): system skills and skills agents installed for themselves."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert

from openhermit.protocol.capabilities import SkillRecord
from openhermit.store.engine import Tx
from openhermit.store.repos.assignments import enabled_ids, remove_resource
from openhermit.store.tables.capabilities import AgentSkill, Skill


def user_skill_id(agent_id: str, slug: str) -> str:
    return f"user:{agent_id}:{slug}"


def _record(row: Skill) -> SkillRecord:
    return SkillRecord(
        id=row.id,
        slug=row.slug,
        name=row.name,
        description=row.description,
        path=row.path,
        source=row.source,  # type: ignore[arg-type]
        owner_agent_id=row.owner_agent_id,
        metadata=row.metadata_ or {},
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def list_skills(tx: Tx, *, source: str | None = None) -> list[SkillRecord]:
    stmt = select(Skill).order_by(Skill.source, Skill.id)
    if source is not None:
        stmt = stmt.where(Skill.source == source)
    return [_record(r) for r in (await tx.execute(stmt)).scalars()]


async def get_skill(tx: Tx, skill_id: str) -> SkillRecord | None:
    row = await tx.get(Skill, skill_id)
    return _record(row) if row is not None else None


async def upsert_skill(
    tx: Tx,
    *,
    skill_id: str,
    slug: str,
    name: str,
    description: str,
    path: str,
    source: str,
    owner_agent_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> SkillRecord:
    values = {
        "id": skill_id,
        "slug": slug,
        "name": name,
        "description": description,
        "path": path,
        "source": source,
        "owner_agent_id": owner_agent_id,
        "metadata_": metadata or {},
    }
    stmt = insert(Skill).values(**values)
    changed = {k: stmt.excluded[k] for k in ("name", "description", "path", "metadata")}
    stmt = stmt.on_conflict_do_update(index_elements=["id"], set_={**changed, "updated_at": func.now()})
    await tx.execute(stmt)
    row = await tx.get(Skill, skill_id, populate_existing=True)
    assert row is not None
    return _record(row)


async def delete_skill(tx: Tx, skill_id: str) -> bool:
    await remove_resource(tx, AgentSkill, skill_id)
    result = await tx.execute(delete(Skill).where(Skill.id == skill_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def enabled_skills(tx: Tx, agent_id: str) -> list[SkillRecord]:
    """The agent's enabled skills: system ones and its own user skills."""
    ids = await enabled_ids(tx, AgentSkill, agent_id)
    if not ids:
        return []
    rows = (await tx.execute(select(Skill).where(Skill.id.in_(ids)).order_by(Skill.slug))).scalars()
    return [_record(r) for r in rows if r.source == "system" or r.owner_agent_id == agent_id]
