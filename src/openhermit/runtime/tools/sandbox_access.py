"""How the file and exec tools reach a sandbox: the alias picks one, the policy engine's file and
exec scopes decide whether this caller may touch that path or run that command."""

from __future__ import annotations

import posixpath
from typing import Literal

from openhermit.errors import OpenHermitError
from openhermit.runtime.approvals import consume_approved, request_approval
from openhermit.runtime.policy import Principal, Rule, exec_decision, file_decision, normalize_command
from openhermit.runtime.tools.base import ToolContext, ToolFailed
from openhermit.sandbox.base import Sandbox


async def open_sandbox(ctx: ToolContext, alias: str | None) -> Sandbox:
    resolver = getattr(ctx.deps, "sandboxes", None)
    if resolver is None:
        raise ToolFailed("No sandbox is available to this agent.")
    try:
        return await resolver.for_agent(ctx.agent_id, alias)
    except OpenHermitError as exc:
        raise ToolFailed(str(exc)) from None


def _principal(ctx: ToolContext) -> Principal:
    return Principal(user_id=ctx.user_id, role=ctx.role, system=ctx.introspection)


def _rules(ctx: ToolContext) -> list[Rule]:
    return list(ctx.extras.get("policy_rules") or [])


def policy_path(sandbox: Sandbox, path: str) -> str:
    """The path as file policy rows name it: relative to the agent's home, normalised."""
    joined = posixpath.normpath(posixpath.join(sandbox.agent_home, path))
    return posixpath.relpath(joined, sandbox.agent_home)


async def _enforce(ctx: ToolContext, decision: str, resource_type: str, key: str, what: str) -> None:
    if decision == "allow":
        return
    if decision == "deny":
        raise ToolFailed(f"The policy does not allow you to {what}.")
    requester = ctx.user_id or "anonymous"
    if ctx.deps is not None and await consume_approved(ctx.deps, ctx.agent_id, requester, resource_type, key):
        return
    if ctx.deps is None:
        raise ToolFailed(f"Approval required to {what}.")
    record = await request_approval(
        ctx.deps,
        ctx.agent_id,
        ctx.session_id,
        requester,
        resource_type=resource_type,
        resource_key=key,
        args={"key": key},
        tool_call_id=None,
        correlation_id=None,
        turn_id=None,
    )
    raise ToolFailed(
        f"Approval required: to {what} needs the owner's approval (request #{record.short_id}). "
        "Tell the user and stop; they can ask again once it is approved."
    )


async def check_file(
    ctx: ToolContext, sandbox: Sandbox, alias: str | None, mode: Literal["read", "write"], path: str
) -> None:
    rel = policy_path(sandbox, path)
    decision = file_decision(_principal(ctx), _rules(ctx), sandbox=alias or "default", mode=mode, path=rel)
    if _principal(ctx).system:
        return
    await _enforce(ctx, decision, "file", rel, f"{mode} {rel}")


async def check_exec(ctx: ToolContext, alias: str | None, command: str, cwd: str | None) -> None:
    if _principal(ctx).system:
        return
    decision = exec_decision(
        _principal(ctx), _rules(ctx), sandbox=alias or "default", command=command, cwd=cwd
    )
    await _enforce(ctx, decision, "exec", normalize_command(command), f"run {normalize_command(command)!r}")
