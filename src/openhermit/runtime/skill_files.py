"""Skill folders on disk: a `SKILL.md` with YAML frontmatter (`name`, `description`) plus any
files it refers to. Parsing, hashing and writing them; no database."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from openhermit.errors import Invalid

SKILL_FILE = "SKILL.md"
BUILTIN_DIR = Path(__file__).resolve().parents[1] / "builtin_skills"
_FRONTMATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)


@dataclass(frozen=True)
class SkillFolder:
    path: Path
    name: str
    description: str
    content_hash: str
    frontmatter: dict[str, Any] = field(default_factory=dict)


def parse_frontmatter(text: str, where: str) -> dict[str, Any]:
    """The frontmatter of a SKILL.md; `Invalid` naming `where` unless it has name and description."""
    match = _FRONTMATTER.match(text)
    if match is None:
        raise Invalid(f"{where}: SKILL.md must start with a YAML frontmatter block between '---' lines.")
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise Invalid(f"{where}: the frontmatter is not valid YAML ({exc}).") from None
    if not isinstance(data, dict):
        raise Invalid(f"{where}: the frontmatter must be a mapping with name and description.")
    for key in ("name", "description"):
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise Invalid(f"{where}: the frontmatter needs a non-empty '{key}'.")
    return data


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\0")
        digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def read_skill_folder(where: Path | str) -> SkillFolder:
    """Check a skill folder; `Invalid` naming the folder or file that is wrong."""
    path = Path(where).expanduser()
    if not path.is_dir():
        raise Invalid(f"Skill folder {path} does not exist (or is not a folder).")
    skill_md = path / SKILL_FILE
    if not skill_md.is_file():
        raise Invalid(f"{skill_md} is missing: a skill folder needs a SKILL.md.")
    try:
        text = skill_md.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Invalid(f"{skill_md} cannot be read: {exc}") from None
    data = parse_frontmatter(text, str(skill_md))
    return SkillFolder(
        path=path,
        name=str(data["name"]).strip(),
        description=" ".join(str(data["description"]).split()),
        content_hash=content_hash(path),
        frontmatter=data,
    )


def safe_relative(path: str) -> str:
    """A relative file path inside a skill folder, or `Invalid`."""
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts or "\\" in path:
        raise Invalid(f"Skill file path {path!r} must be relative and stay inside the skill folder.")
    return pure.as_posix()


def write_skill_folder(path: Path, files: Mapping[str, str]) -> str:
    """Replace the folder with exactly these files; returns the content hash."""
    staging = path.with_name(path.name + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for rel, content in files.items():
        target = staging / safe_relative(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    shutil.rmtree(path, ignore_errors=True)
    staging.rename(path)
    return content_hash(path)


def skill_markdown(name: str, description: str, body: str) -> str:
    """A SKILL.md: the body as given if it has frontmatter, else with one built from name and description."""
    if _FRONTMATTER.match(body):
        return body
    header = yaml.safe_dump({"name": name, "description": description}, sort_keys=False, allow_unicode=True)
    return f"---\n{header}---\n\n{body.lstrip()}"


def builtin_folders() -> list[Path]:
    return (
        sorted(p for p in BUILTIN_DIR.iterdir() if (p / SKILL_FILE).is_file()) if BUILTIN_DIR.is_dir() else []
    )
