"""Session tools: list, read and summarise this agent's sessions; send into one."""

from __future__ import annotations

from pydantic import Field

from openhermit.runtime.tools.base import (
    ANY,
    OWNER_USER,
    Tool,
    ToolContext,
    ToolFailed,
    ToolInput,
    ToolOutcome,
)
from openhermit.store.repos import events, sessions


class SessionList(Tool):
    name = "session_list"
    description = "List this agent's recent sessions with their description and last activity."
    default_grants = ANY

    class Input(ToolInput):
        channel: str | None = None
        limit: int = Field(20, ge=1, le=100)
        include_inactive: bool = False

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            found = await sessions.list_sessions(
                tx,
                ctx.agent_id,
                channel=args.channel,
                limit=args.limit,
                include_inactive=args.include_inactive,
            )
        if not found:
            return ToolOutcome(text="No sessions.", details={"sessions": []})
        lines = [
            f"- {s.session_id} ({s.source.kind}, {s.status}, {s.message_count} messages, "
            f"last {s.last_activity_at.isoformat()}): {s.description or '(no description)'}"
            for s in found
        ]
        return ToolOutcome(text="\n".join(lines), details={"sessions": [s.wire() for s in found]})


class SessionRead(Tool):
    name = "session_read"
    description = "Read the transcript of one of this agent's sessions (oldest first)."
    default_grants = ANY

    class Input(ToolInput):
        session_id: str = Field(min_length=1)
        limit: int = Field(50, ge=1, le=500)
        offset: int = Field(0, ge=0)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            if await sessions.get_session(tx, ctx.agent_id, args.session_id) is None:
                raise ToolFailed(f"Session {args.session_id} not found.")
            rows = await events.list_history(tx, ctx.agent_id, args.session_id)
        window = [r for r in rows if r.content][args.offset : args.offset + args.limit]
        lines = [f"[{r.ts.isoformat()}] {r.event_type}: {r.content}" for r in window]
        return ToolOutcome(text="\n".join(lines) or "(no messages)", details={"count": len(window)})


class SessionSummaryTool(Tool):
    name = "session_summary"
    description = "Show a session's description, working memory and counters."
    default_grants = ANY

    class Input(ToolInput):
        session_id: str = Field(min_length=1)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            record = await sessions.get_record(tx, ctx.agent_id, args.session_id)
        if record is None:
            raise ToolFailed(f"Session {args.session_id} not found.")
        text = (
            f"Session {record.session_id} ({record.source.kind}, {record.status})\n"
            f"Description: {record.description or '(none)'}\n"
            f"Messages: {record.message_count}, completed turns: {record.completed_turn_count}\n"
            f"Working memory: {record.working_memory or '(empty)'}"
        )
        return ToolOutcome(text=text, details=record.wire())


class SessionSend(Tool):
    name = "session_send"
    description = (
        "Send a message from this agent into another of its sessions (shown there as the agent's reply)."
    )
    default_grants = OWNER_USER

    class Input(ToolInput):
        session_id: str = Field(min_length=1)
        text: str = Field(min_length=1)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        if args.session_id == ctx.session_id:
            raise ToolFailed("Use a normal reply to answer in the current session.")
        async with ctx.db.transaction() as tx:
            if await sessions.get_session(tx, ctx.agent_id, args.session_id) is None:
                raise ToolFailed(f"Session {args.session_id} not found.")
        if ctx.send_to_session is None:
            raise ToolFailed("Sending to other sessions is not available here.")
        event_id = await ctx.send_to_session(args.session_id, args.text)
        return ToolOutcome(text=f"Sent to {args.session_id}.", details={"eventId": event_id})


SESSION_TOOLS: list[Tool] = [SessionList(), SessionRead(), SessionSummaryTool(), SessionSend()]
