"""The system prompt: instructions, session instruction, principles, tools, skills, context."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from openhermit.protocol.agents import AgentRecord, Instruction
from openhermit.protocol.sessions import SessionRecord
from openhermit.runtime.tools.base import Tool

PRINCIPLES = "\n".join(
    [
        "## Principles",
        "- Never invent facts, tool results, files or past conversations. When you do not know, say so "
        "or look it up with your tools.",
        "- Keep what one person tells you private from other people unless your instructions say otherwise.",
        "- Follow your instructions; when they conflict with a request, explain what you can do instead.",
        "- Use tools when they help; tell the person briefly what you did and what you found.",
        "- Secrets and credentials are never shown to you; do not ask people to paste them into the chat.",
    ]
)


@dataclass(frozen=True)
class Caller:
    user_id: str | None = None
    name: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class SkillEntry:
    name: str
    description: str
    path: str


def _instructions(rows: list[Instruction]) -> str:
    body = "\n\n".join(f"{row.key}:\n{row.content.strip() or '(empty)'}" for row in rows)
    return f"## Instructions\n{body}" if body else "## Instructions\n(none)"


@lru_cache(maxsize=256)
def _tools(tools: tuple[Tool, ...]) -> str:
    """The tools section. Tools never change once made, and a runner hands the same tool
    objects to every turn until its setup changes: worked out once per distinct list."""
    return "## Tools\n" + "\n".join(f"- `{t.name}`: {t.description}" for t in tools)


def _context(session: SessionRecord, caller: Caller, now: datetime) -> str:
    parts = ["## Context"]
    who = caller.name or caller.user_id or "an API client"
    if session.type == "group":
        parts.append(
            "### Current User\nThis is a group conversation. Each message starts with `[Name]`, the sender's "
            "display name. Address people by name; mention someone with `@Name`. Messages prefixed "
            "`[not directed at you]` are context only. If no reply is needed, answer exactly `<NO_REPLY>`."
        )
    else:
        role = f" (role: {caller.role})" if caller.role else ""
        user = f", user id `{caller.user_id}`" if caller.user_id else ""
        parts.append(f"### Current User\nYou are talking with {who}{user}{role}.")
    if session.source.kind == "schedule":
        parts.append("### Scheduled Task\nThis session runs a scheduled task; nobody is watching live.")
    parts.append(
        f"### Runtime\nCurrent session: `{session.session_id}` ({session.source.kind}).\n"
        f"Current time: {now.isoformat(timespec='seconds')}"
    )
    return "\n\n".join(parts)


def build_system_prompt(
    agent: AgentRecord,
    instructions: list[Instruction],
    session: SessionRecord,
    tools: list[Tool],
    *,
    skills: list[SkillEntry] | None = None,
    caller: Caller | None = None,
    additional_instruction: str | None = None,
    now: datetime | None = None,
) -> str:
    name = agent.name or agent.agent_id
    sections = [
        f"You are {name}, an agent running on OpenHermit. Your identity, character and rules are in your "
        "instructions below; the person you are talking with is described under Current User.",
        _instructions(instructions),
    ]
    if session.custom_instruction:
        sections.append(f"## Session Instruction\n{session.custom_instruction}")
    sections.append(PRINCIPLES)
    if tools:
        sections.append(_tools(tuple(tools)))
    if skills:
        lines = [f"- **{s.name}**: {s.description} — `file_read {s.path}/SKILL.md`" for s in skills]
        sections.append("## Skills\n" + "\n".join(lines))
    sections.append(_context(session, caller or Caller(), now or datetime.now(UTC)))
    if additional_instruction:
        sections.append(f"## Additional Instruction\n{additional_instruction}")
    return "\n\n".join(sections)
