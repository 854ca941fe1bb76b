"""Attachment tools: list, fetch (re-materialising lazily), upload a sandbox file, send one."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from openhermit.attachments.names import is_text, kind_of
from openhermit.attachments.service import Upload
from openhermit.errors import OpenHermitError
from openhermit.protocol.attachments import AttachmentRecord
from openhermit.protocol.events import AttachmentKind
from openhermit.runtime import attachments as runtime_attachments
from openhermit.runtime.deps import RuntimeDeps
from openhermit.runtime.journal import NewEvent
from openhermit.runtime.tools.base import ANY, Tool, ToolContext, ToolFailed, ToolInput, ToolOutcome
from openhermit.store.repos import attachments as repo
from openhermit.store.repos import sessions

DEFAULT_FETCH_BYTES = 512 * 1024


def _deps(ctx: ToolContext) -> RuntimeDeps:
    if not isinstance(ctx.deps, RuntimeDeps):
        raise ToolFailed("Attachments are not available in this context.")
    return ctx.deps


def _line(record: AttachmentRecord) -> str:
    where = record.sandbox_path or f"not in the sandbox ({record.materialization_state})"
    return (
        f"- {record.id} {record.original_name} ({record.mime_type}, {record.size_bytes} bytes, "
        f"session {record.session_id}) at {where}"
    )


async def _visible(ctx: ToolContext, attachment_id: str) -> AttachmentRecord:
    """The attachment when this turn may see it: this session's, the caller's own, or any for owners."""
    async with ctx.db.transaction() as tx:
        record = await repo.get_attachment(tx, ctx.agent_id, attachment_id)
    if record is None or not (
        record.session_id == ctx.session_id
        or (ctx.user_id is not None and record.uploader_user_id == ctx.user_id)
        or ctx.role == "owner"
    ):
        raise ToolFailed(f"Attachment {attachment_id} not found.")
    return record


class AttachmentList(Tool):
    name = "attachment_list"
    description = (
        "List files attached to this session (scope=session) or uploaded by the current user "
        "across sessions (scope=user), newest first, with their sandbox paths."
    )
    default_grants = ANY

    class Input(ToolInput):
        scope: Literal["session", "user"] = "session"
        limit: int = Field(20, ge=1, le=100)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            if args.scope == "user":
                if ctx.user_id is None:
                    raise ToolFailed("scope=user needs a known user; this turn has none.")
                found = await repo.list_for_uploader(tx, ctx.agent_id, ctx.user_id, args.limit)
            else:
                found = await repo.list_for_session(tx, ctx.agent_id, ctx.session_id, args.limit)
        details = {"attachments": [r.view().wire() for r in found]}
        if not found:
            return ToolOutcome(text="No attachments.", details=details)
        return ToolOutcome(text="\n".join(_line(r) for r in found), details=details)


class AttachmentFetch(Tool):
    name = "attachment_fetch"
    description = (
        "Read an attachment: its text (mode=text, or auto for text files), or its metadata "
        "(mode=metadata, or auto for binary files). Copies the file into the sandbox again if "
        "an earlier copy failed."
    )
    default_grants = ANY

    class Input(ToolInput):
        attachment_id: str = Field(min_length=1)
        mode: Literal["auto", "text", "image", "metadata"] = "auto"
        max_bytes: int = Field(DEFAULT_FETCH_BYTES, ge=1, le=5 * 1024 * 1024)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        deps = _deps(ctx)
        record = await runtime_attachments.ensure_materialised(deps, await _visible(ctx, args.attachment_id))
        meta = record.view().wire()
        mode = args.mode
        if mode == "auto":
            mode = "text" if is_text(record.mime_type) else "metadata"
        if mode == "image":
            raise ToolFailed(
                "Returning images to the model is not supported by this runtime; "
                f"the file is {record.mime_type} at {record.sandbox_path or '(not in the sandbox)'}."
            )
        if mode == "metadata":
            return ToolOutcome(text=json.dumps(meta, indent=2), details={"attachment": meta})
        try:
            data = await runtime_attachments.read_bytes(deps, record)
        except OpenHermitError as exc:
            raise ToolFailed(f"Cannot read attachment {record.id}: {exc.message}") from None
        text = data[: args.max_bytes].decode("utf-8", errors="replace")
        truncated = len(data) > args.max_bytes
        if truncated:
            text += f"\n[truncated: showing {args.max_bytes} of {len(data)} bytes]"
        return ToolOutcome(text=text, details={"attachment": meta, "truncated": truncated})


class AttachmentUpload(Tool):
    name = "attachment_upload"
    description = (
        "Turn a file from the sandbox into an attachment of this session (to send it with attachment_send)."
    )
    default_grants = ANY

    class Input(ToolInput):
        path: str = Field(min_length=1)
        name: str | None = Field(None, max_length=1000)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        deps = _deps(ctx)
        if deps.sandboxes is None:
            raise ToolFailed("No sandbox backend is configured for this gateway.")
        try:
            sandbox = await deps.sandboxes.for_agent(ctx.agent_id)
            await sandbox.ensure()
            data = await sandbox.read_file(args.path)
            record = await runtime_attachments.upload(
                deps,
                Upload(
                    agent_id=ctx.agent_id,
                    session_id=ctx.session_id,
                    filename=args.name or args.path.rsplit("/", 1)[-1],
                    data=data,
                    uploader_user_id=None,
                ),
            )
        except OpenHermitError as exc:
            raise ToolFailed(exc.message) from None
        return ToolOutcome(
            text=f"Created attachment:\n{_line(record)}", details={"attachment": record.view().wire()}
        )


class AttachmentSend(Tool):
    name = "attachment_send"
    description = "Send an attachment to the people in this session (with an optional caption)."
    default_grants = ANY

    class Input(ToolInput):
        id: str = Field(min_length=1)
        caption: str | None = Field(None, max_length=4000)
        kind: AttachmentKind | None = None

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        deps = _deps(ctx)
        record = await _visible(ctx, args.id)
        event: dict[str, Any] = {
            "attachmentId": record.id,
            "mimeType": record.mime_type,
            "kind": args.kind or kind_of(record.mime_type),
            "name": record.original_name,
            "size": record.size_bytes,
            "sha256": record.sha256,
        }
        if args.caption:
            event["caption"] = args.caption
        text = args.caption or f"[sent attachment {record.original_name}]"
        payload = {
            "text": text,
            "final": False,
            "metadata": {"source": "attachment_send"},
            "attachment": event,
            "attachments": [runtime_attachments.as_message_attachment(record).wire()],
        }
        async with ctx.db.transaction() as tx:
            stored = await deps.journal.write(
                tx, ctx.agent_id, ctx.session_id, [NewEvent("assistant", payload, content=text)], None
            )
            await sessions.touch_session(tx, ctx.agent_id, ctx.session_id)
        deps.journal.publish(stored)
        return ToolOutcome(text=f"Sent {record.original_name} ({record.id}).", details={"attachment": event})


ATTACHMENT_TOOLS: list[Tool] = [AttachmentList(), AttachmentFetch(), AttachmentUpload(), AttachmentSend()]
