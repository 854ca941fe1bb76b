"""`file_read`, `file_write`, `file_edit`, `file_list`, `file_stat`, `file_delete`: the agent's
workspace files, in its default sandbox or the one named by `sandbox`."""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from pydantic import Field

from openhermit.errors import OpenHermitError
from openhermit.runtime.tools.base import (
    OWNER,
    OWNER_USER,
    Tool,
    ToolContext,
    ToolFailed,
    ToolInput,
    ToolOutcome,
)
from openhermit.runtime.tools.sandbox_access import check_file, open_sandbox
from openhermit.sandbox.base import SKILLS_DIR, FileInfo, Sandbox

READ_CAP_BYTES = 5 * 1024 * 1024
ALIAS = Field(None, description="Sandbox alias; the agent's default sandbox when omitted.")


class PathInput(ToolInput):
    path: str = Field(
        min_length=1, max_length=4096, description="Relative to your home, or absolute inside it."
    )
    sandbox: str | None = ALIAS


def _info(info: FileInfo) -> dict[str, object]:
    return {"path": info.path, "kind": info.kind, "size": info.size, "modified": info.modified.isoformat()}


async def _open(ctx: ToolContext, args: PathInput, mode: Literal["read", "write"]) -> Sandbox:
    sandbox = await open_sandbox(ctx, args.sandbox)
    await check_file(ctx, sandbox, args.sandbox, mode, args.path)
    return sandbox


class _FileTool(Tool):
    async def run(self, ctx: ToolContext, args: PathInput) -> ToolOutcome:  # type: ignore[override]
        try:
            return await self.act(ctx, args)
        except OpenHermitError as exc:  # missing files, paths outside the home …
            raise ToolFailed(str(exc)) from None

    async def act(self, ctx: ToolContext, args: PathInput) -> ToolOutcome:
        raise NotImplementedError


class FileRead(_FileTool):
    name = "file_read"
    description = (
        "Read a file from your workspace. offset/limit select lines (1-based); encoding base64 for "
        "binary files. At most 5 MiB."
    )
    default_grants = OWNER_USER

    class Input(PathInput):
        offset: int | None = Field(None, ge=1, description="First line to return (1-based).")
        limit: int | None = Field(None, ge=1, description="Number of lines to return.")
        encoding: Literal["utf8", "base64"] = "utf8"

    async def act(self, ctx: ToolContext, args: Input) -> ToolOutcome:  # type: ignore[override]
        sandbox = await _open(ctx, args, "read")
        data = await sandbox.read_file(args.path)
        if len(data) > READ_CAP_BYTES:
            raise ToolFailed(f"{args.path} is {len(data)} bytes; file_read returns at most {READ_CAP_BYTES}.")
        if args.encoding == "base64":
            return ToolOutcome(text=base64.b64encode(data).decode(), details={"bytes": len(data)})
        text = data.decode("utf-8", "replace").replace("\x00", "\ufffd")  # PostgreSQL text has no NUL
        if SKILLS_DIR in args.path or (args.offset is None and args.limit is None):
            return ToolOutcome(text=text, details={"bytes": len(data)})
        lines = text.splitlines(keepends=True)
        start = (args.offset or 1) - 1
        chosen = lines[start : start + args.limit if args.limit else None]
        return ToolOutcome(text="".join(chosen), details={"bytes": len(data), "lines": len(lines)})


class FileWrite(_FileTool):
    name = "file_write"
    description = "Write a file in your workspace (mode create, overwrite or append); folders are made."
    default_grants = OWNER

    class Input(PathInput):
        content: str
        mode: Literal["create", "overwrite", "append"] = "overwrite"
        encoding: Literal["utf8", "base64"] = "utf8"

    async def act(self, ctx: ToolContext, args: Input) -> ToolOutcome:  # type: ignore[override]
        sandbox = await _open(ctx, args, "write")
        try:
            data = (
                base64.b64decode(args.content, validate=True)
                if args.encoding == "base64"
                else args.content.encode()
            )
        except binascii.Error:
            raise ToolFailed("content is not valid base64.") from None
        existing: bytes | None = None
        if args.mode != "overwrite":
            try:
                existing = await sandbox.read_file(args.path)
            except OpenHermitError as exc:
                if getattr(exc, "status", None) != 404:
                    raise
        if args.mode == "create" and existing is not None:
            raise ToolFailed(f"{args.path} already exists (mode create).")
        if args.mode == "append" and existing is not None:
            data = existing + data
        await sandbox.write_file(args.path, data)
        return ToolOutcome(text=f"Wrote {len(data)} bytes to {args.path}.", details={"bytes": len(data)})


class FileEdit(_FileTool):
    name = "file_edit"
    description = "Replace text in a file of your workspace: find_text must occur (once unless replace_all)."
    default_grants = OWNER

    class Input(PathInput):
        find_text: str = Field(min_length=1)
        replace_text: str
        replace_all: bool = False

    async def act(self, ctx: ToolContext, args: Input) -> ToolOutcome:  # type: ignore[override]
        sandbox = await _open(ctx, args, "write")
        text = (await sandbox.read_file(args.path)).decode("utf-8")
        count = text.count(args.find_text)
        if count == 0:
            raise ToolFailed(f"find_text does not occur in {args.path}.")
        if count > 1 and not args.replace_all:
            raise ToolFailed(
                f"find_text occurs {count} times in {args.path}; make it unique or set replace_all."
            )
        updated = text.replace(args.find_text, args.replace_text, -1 if args.replace_all else 1)
        await sandbox.write_file(args.path, updated.encode())
        done = count if args.replace_all else 1
        return ToolOutcome(text=f"Replaced {done} occurrence(s) in {args.path}.", details={"replaced": done})


class FileList(_FileTool):
    name = "file_list"
    description = "List a folder of your workspace."
    default_grants = OWNER_USER

    class Input(PathInput):
        path: str = Field(".", min_length=1, max_length=4096)

    async def act(self, ctx: ToolContext, args: Input) -> ToolOutcome:  # type: ignore[override]
        sandbox = await _open(ctx, args, "read")
        entries = await sandbox.list_files(args.path)
        lines = [f"{e.path}{'/' if e.kind == 'dir' else ''}\t{e.size}" for e in entries]
        return ToolOutcome(text="\n".join(lines) or "(empty)", details=[_info(e) for e in entries])


class FileStat(_FileTool):
    name = "file_stat"
    description = "Kind, size and modification time of a path in your workspace."
    default_grants = OWNER_USER
    Input = PathInput

    async def act(self, ctx: ToolContext, args: PathInput) -> ToolOutcome:
        sandbox = await _open(ctx, args, "read")
        info = _info(await sandbox.stat(args.path))
        return ToolOutcome(
            text=f"{info['path']}: {info['kind']}, {info['size']} bytes, {info['modified']}", details=info
        )


class FileDelete(_FileTool):
    name = "file_delete"
    description = "Delete a file (or a folder with everything in it) from your workspace."
    default_grants = OWNER
    Input = PathInput

    async def act(self, ctx: ToolContext, args: PathInput) -> ToolOutcome:
        sandbox = await _open(ctx, args, "write")
        await sandbox.delete(args.path, recursive=True)
        return ToolOutcome(text=f"Deleted {args.path}.")


FILE_TOOLS: list[Tool] = [FileRead(), FileWrite(), FileEdit(), FileList(), FileStat(), FileDelete()]
