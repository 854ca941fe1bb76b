"""Skills: the registry operations (register, scan, sync, install) and, per agent, the enabled
set — listed in the prompt and mirrored into the agent's sandbox."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from pathlib import Path
from typing import Any

from openhermit.errors import Invalid, NotFound
from openhermit.protocol.capabilities import (
    SKILL_ID,
    RegisterSkill,
    ScannedSkill,
    SkillIndexEntry,
    SkillRecord,
    SkillSyncItem,
)
from openhermit.runtime.deps import RuntimeDeps
from openhermit.runtime.skill_files import (
    SKILL_FILE,
    builtin_folders,
    content_hash,
    parse_frontmatter,
    read_skill_folder,
    skill_markdown,
    write_skill_folder,
)
from openhermit.sandbox.base import SKILLS_DIR, SkillBundle
from openhermit.store.engine import Tx
from openhermit.store.repos import assignments, skills
from openhermit.store.tables.capabilities import AgentSkill

log = logging.getLogger(__name__)
USER_SKILL_MAX_BYTES = 256 * 1024
USER_SKILL_MAX_FILES = 32


def registry_dir(deps: RuntimeDeps) -> Path:
    """Where operators drop system skills for `scan` (`<home>/gateway/registry/skills/<id>/`)."""
    return deps.settings.gateway_dir / "registry" / "skills"


def _user_dir(deps: RuntimeDeps, agent_id: str, slug: str) -> Path:
    return deps.settings.gateway_dir / "registry" / "user-skills" / agent_id / slug


def sandbox_path(source: str, slug: str) -> str:
    """The skill's folder inside the sandbox, relative to the agent's home."""
    return f"{SKILLS_DIR}/{source}/{slug}" if source != "workspace" else f"{SKILLS_DIR}/{slug}"


# Registry --------------------------------------------------------------------------------------
async def register_system_skill(tx: Tx, body: RegisterSkill) -> SkillRecord:
    folder = await asyncio.to_thread(read_skill_folder, body.path)
    return await skills.upsert_skill(
        tx,
        skill_id=body.id,
        slug=body.id,
        name=body.name or folder.name,
        description=body.description or folder.description,
        path=str(folder.path.resolve()),
        source="system",
        metadata={**(body.metadata or {}), "contentHash": folder.content_hash},
    )


async def register_builtin_skills(tx: Tx) -> list[str]:
    """Register (or refresh) the skills shipped with the package; returns the ids changed."""
    changed = []
    for path in builtin_folders():
        folder = read_skill_folder(path)
        known = await skills.get_skill(tx, path.name)
        if (
            known is not None
            and known.path == str(path)
            and known.metadata.get("contentHash") == folder.content_hash
        ):
            continue
        await skills.upsert_skill(
            tx,
            skill_id=path.name,
            slug=path.name,
            name=folder.name,
            description=folder.description,
            path=str(path),
            source="system",
            metadata={"builtin": True, "contentHash": folder.content_hash},
        )
        changed.append(path.name)
    return changed


async def scan(tx: Tx, deps: RuntimeDeps) -> list[ScannedSkill]:
    """Skill folders in the registry folder and the built-ins, valid or not, registered or not."""
    registered = {s.id: s for s in await skills.list_skills(tx, source="system")}
    root = registry_dir(deps)
    candidates = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    found = []
    for path in [*builtin_folders(), *candidates]:
        entry = ScannedSkill(id=path.name, path=str(path), registered=path.name in registered)
        if not re.fullmatch(SKILL_ID, path.name):
            entry.error = f"{path.name!r} is not a valid skill id (lowercase letters, digits, '-')."
        else:
            try:
                folder = read_skill_folder(path)
                entry.name, entry.description = folder.name, folder.description
            except Invalid as exc:
                entry.error = exc.message
        found.append(entry)
    return found


async def sync_registry(tx: Tx, skill_id: str | None = None) -> list[SkillSyncItem]:
    """Re-read system skills from disk: updated, unchanged, missing on disk or not registered."""
    if skill_id is not None:
        one = await skills.get_skill(tx, skill_id)
        if one is None or one.source != "system":
            return [SkillSyncItem(id=skill_id, action="not_registered")]
        targets = [one]
    else:
        targets = await skills.list_skills(tx, source="system")
    results = []
    for record in targets:
        try:
            folder = await asyncio.to_thread(read_skill_folder, record.path)
        except Invalid:
            results.append(SkillSyncItem(id=record.id, action="missing_on_disk"))
            continue
        changes = [
            label
            for label, old, new in (
                ("name", record.name, folder.name),
                ("description", record.description, folder.description),
                ("files", record.metadata.get("contentHash"), folder.content_hash),
            )
            if old != new
        ]
        if not changes:
            results.append(SkillSyncItem(id=record.id, action="unchanged"))
            continue
        await skills.upsert_skill(
            tx,
            skill_id=record.id,
            slug=record.slug,
            name=folder.name,
            description=folder.description,
            path=record.path,
            source="system",
            metadata={**record.metadata, "contentHash": folder.content_hash},
        )
        results.append(SkillSyncItem(id=record.id, action="updated", changes=changes))
    return results


async def install_user_skill(
    deps: RuntimeDeps,
    agent_id: str,
    *,
    slug: str,
    name: str,
    description: str,
    markdown: str,
    files: dict[str, str],
) -> SkillRecord:
    """An agent's own skill: stored in the database (so every gateway can rebuild the folder),
    written under the gateway's registry folder, and enabled for that agent."""
    contents = {SKILL_FILE: skill_markdown(name, description, markdown), **files}
    if len(contents) > USER_SKILL_MAX_FILES:
        raise Invalid(f"A skill may have at most {USER_SKILL_MAX_FILES} files.")
    if sum(len(c.encode()) for c in contents.values()) > USER_SKILL_MAX_BYTES:
        raise Invalid(f"A skill may hold at most {USER_SKILL_MAX_BYTES // 1024} KiB.")
    front = parse_frontmatter(contents[SKILL_FILE], f"{slug}/{SKILL_FILE}")
    path = _user_dir(deps, agent_id, slug)
    digest = await asyncio.to_thread(write_skill_folder, path, contents)
    skill_id = skills.user_skill_id(agent_id, slug)
    async with deps.db.transaction() as tx:
        record = await skills.upsert_skill(
            tx,
            skill_id=skill_id,
            slug=slug,
            name=str(front["name"]).strip(),
            description=" ".join(str(front["description"]).split()),
            path=str(path),
            source="user",
            owner_agent_id=agent_id,
            metadata={"files": contents, "contentHash": digest},
        )
        await assignments.set_enabled(tx, AgentSkill, agent_id, skill_id, True)
    return record


async def uninstall_user_skill(deps: RuntimeDeps, agent_id: str, slug: str) -> None:
    async with deps.db.transaction() as tx:
        if not await skills.delete_skill(tx, skills.user_skill_id(agent_id, slug)):
            raise NotFound(f"This agent has no installed skill {slug}.")
    await asyncio.to_thread(_remove_folder, _user_dir(deps, agent_id, slug))


def _remove_folder(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _materialize(record: SkillRecord) -> Path:
    """The user skill's folder on this machine, rebuilt from the database if missing or stale."""
    path = Path(record.path)
    files: dict[str, Any] = record.metadata.get("files") or {}
    if files and (not path.is_dir() or content_hash(path) != record.metadata.get("contentHash")):
        write_skill_folder(path, {str(k): str(v) for k, v in files.items()})
    return path


# One agent's skills ----------------------------------------------------------------------------
def _entry(record: SkillRecord) -> SkillIndexEntry:
    return SkillIndexEntry(
        id=record.id,
        name=record.name,
        description=record.description,
        path=sandbox_path(record.source, record.slug),
        source=record.source,
    )


class AgentSkills:
    """The enabled skills of one agent as this process last mirrored them into its sandbox."""

    def __init__(self, agent_id: str, deps: RuntimeDeps) -> None:
        self.agent_id = agent_id
        self.deps = deps
        self._synced: tuple[Any, ...] | None = None
        self._lock = asyncio.Lock()
        self._workspace: list[SkillIndexEntry] = []
        self._mirroring: asyncio.Task[Any] | None = None
        self._again = False  # the enabled set changed while a mirror was already running

    async def _enabled(self) -> list[SkillRecord]:
        async with self.deps.db.transaction() as tx:
            return await skills.enabled_skills(tx, self.agent_id)

    @staticmethod
    def _fingerprint(records: list[SkillRecord]) -> tuple[Any, ...]:
        return tuple((r.id, r.updated_at, r.metadata.get("contentHash")) for r in records)

    def _index(self, records: list[SkillRecord]) -> list[SkillIndexEntry]:
        workspace = {w.id: w for w in self._workspace}
        kept = [_entry(r) for r in records if r.slug not in workspace]
        return sorted([*kept, *workspace.values()], key=lambda e: (e.name.lower(), e.id))

    def for_turn(self, records: list[SkillRecord]) -> list[SkillIndexEntry]:
        """The skills to list in this turn's prompt, given the enabled set (read with the turn's
        setup); a changed set is mirrored in the background (once more after a running mirror,
        which may have read the set before the change)."""
        stale = self._fingerprint(records) != self._synced
        if stale and self.deps.sandboxes is not None:
            if self._mirroring is None or self._mirroring.done():
                self._mirroring = asyncio.get_running_loop().create_task(self._mirror())
                self._mirroring.add_done_callback(_log_failure)
            else:
                self._again = True
        return self._index(records)

    async def _mirror(self) -> None:
        while True:
            self._again = False
            await self.refresh()
            if not self._again:
                return

    def close(self) -> None:
        if self._mirroring is not None:
            self._mirroring.cancel()

    async def index(self) -> list[SkillIndexEntry]:
        """The effective index after making sure the sandbox mirrors it."""
        return self._index(await self.refresh(rescan=True))

    async def refresh(self, *, rescan: bool = False) -> list[SkillRecord]:
        """Mirror the enabled set into the agent's sandbox if it changed (skipped without sandboxes)."""
        async with self._lock:
            records = await self._enabled()
            resolver = self.deps.sandboxes
            if resolver is None:
                return records
            fingerprint = self._fingerprint(records)
            if not rescan and (fingerprint == self._synced or (not records and self._synced is None)):
                # Nothing to mirror: do not start (or provision) a sandbox just for skills.
                self._synced = fingerprint
                return records
            sandbox = await resolver.for_agent(self.agent_id)
            if fingerprint != self._synced:
                bundles = []
                for record in records:
                    path = await asyncio.to_thread(_materialize, record) if record.source == "user" else None
                    bundles.append(SkillBundle(record.slug, record.source, path or Path(record.path)))  # type: ignore[arg-type]
                await sandbox.sync_skills(bundles)
                self._synced = fingerprint
                rescan = True
            if rescan:
                self._workspace = await _workspace_skills(sandbox)
            return records


async def _workspace_skills(sandbox: Any) -> list[SkillIndexEntry]:
    """Skills dropped straight into `<home>/.openhermit/skills/<id>/` (not system/ or user/)."""
    try:
        entries = await sandbox.list_files(SKILLS_DIR)
    except Exception:
        return []
    found = []
    for entry in entries:
        slug = entry.path.rsplit("/", 1)[-1]
        if entry.kind != "dir" or slug in ("system", "user"):
            continue
        where = f"{SKILLS_DIR}/{slug}/{SKILL_FILE}"
        try:
            front = parse_frontmatter((await sandbox.read_file(where)).decode("utf-8", "replace"), where)
        except Exception:
            continue  # no SKILL.md, or one without name and description: skipped, as the spec says
        found.append(
            SkillIndexEntry(
                id=slug,
                name=str(front["name"]).strip(),
                description=" ".join(str(front["description"]).split()),
                path=sandbox_path("workspace", slug),
                source="workspace",
            )
        )
    return found


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("mirroring skills into a sandbox failed", exc_info=task.exception())
