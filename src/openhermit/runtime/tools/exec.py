"""`exec`: run a shell command in the agent's sandbox (output capped at 256 KiB)."""

from __future__ import annotations

from pydantic import Field

from openhermit.errors import OpenHermitError
from openhermit.runtime.tools.base import OWNER, Tool, ToolContext, ToolFailed, ToolInput, ToolOutcome
from openhermit.runtime.tools.sandbox_access import check_exec, open_sandbox


class Exec(Tool):
    name = "exec"
    description = (
        "Run a shell command (sh -c) in your sandbox, starting in your home folder. Returns stdout, "
        "stderr and the exit code; output is capped at 256 KiB."
    )
    default_grants = OWNER

    class Input(ToolInput):
        command: str = Field(min_length=1, max_length=100_000)
        alias: str | None = Field(None, description="Sandbox alias; the default sandbox when omitted.")
        sandbox: str | None = Field(None, description="Same as alias.")
        cwd: str | None = Field(None, description="Working folder, relative to your home.")
        timeout_seconds: float | None = Field(None, gt=0, le=3600)

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:  # type: ignore[override]
        alias = args.alias or args.sandbox
        await check_exec(ctx, alias, args.command, args.cwd)
        sandbox = await open_sandbox(ctx, alias)
        try:
            result = await sandbox.exec(args.command, cwd=args.cwd, timeout_seconds=args.timeout_seconds)
        except OpenHermitError as exc:
            raise ToolFailed(str(exc)) from None
        # NUL bytes cannot be stored in PostgreSQL text; show them as the replacement character.
        stdout, stderr = (text.replace("\x00", "\ufffd") for text in (result.stdout, result.stderr))
        parts = [stdout.rstrip("\n")] if stdout else []
        if stderr:
            parts.append("[stderr]\n" + stderr.rstrip("\n"))
        notes = [f"exit code {result.exit_code}", f"{result.duration_ms} ms"]
        if result.timed_out:
            notes.append("timed out")
        if result.truncated:
            notes.append("output truncated at 256 KiB")
        parts.append(f"[{', '.join(notes)}]")
        details = {
            "stdout": stdout,
            "stderr": stderr,
            "exitCode": result.exit_code,
            "durationMs": result.duration_ms,
            "timedOut": result.timed_out,
            "truncated": result.truncated,
        }
        return ToolOutcome(text="\n".join(parts), details=details, is_error=result.exit_code != 0)
