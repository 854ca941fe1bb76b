"""Owner tools for policies and approvals."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from openhermit.protocol.policies import Effect, Grant, ResourceType
from openhermit.runtime.approvals import review
from openhermit.runtime.tools.base import OWNER, Tool, ToolContext, ToolFailed, ToolInput, ToolOutcome
from openhermit.store.repos import approvals, policies


class PolicyList(Tool):
    name = "policy_list"
    description = "List this agent's policy rules."
    default_grants = OWNER

    class Input(ToolInput):
        resource_type: ResourceType | None = None

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            found = await policies.list_policies(tx, ctx.agent_id, args.resource_type)
        lines = [
            f"- {p.resource_type}:{p.resource_key} {p.effect} {[g.wire() for g in p.grants]}" for p in found
        ]
        return ToolOutcome(text="\n".join(lines) or "No policies.", details=[p.wire() for p in found])


class PolicySet(Tool):
    name = "policy_set"
    description = "Create or replace a policy rule (effect allow, deny or require_approval) with its grants."
    default_grants = OWNER

    class Input(ToolInput):
        resource_type: ResourceType
        resource_key: str = Field(min_length=1)
        effect: Effect = "allow"
        grants: list[Grant]
        scope: dict[str, Any] | None = None

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            record = await policies.upsert_policy(
                tx,
                ctx.agent_id,
                args.resource_type,
                args.resource_key,
                args.effect,
                [g.wire() for g in args.grants],
                args.scope,
            )
        return ToolOutcome(text=f"Policy {record.resource_type}:{record.resource_key} {record.effect} saved.")


class PolicyDelete(Tool):
    name = "policy_delete"
    description = "Delete policy rules of a resource (optionally only one effect)."
    default_grants = OWNER

    class Input(ToolInput):
        resource_type: ResourceType
        resource_key: str = Field(min_length=1)
        effect: Effect | None = None

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            count = await policies.delete_policy(
                tx, ctx.agent_id, args.resource_type, args.resource_key, args.effect
            )
        if not count:
            raise ToolFailed("No such policy.")
        return ToolOutcome(text=f"Deleted {count} rule(s).")


class ApprovalList(Tool):
    name = "approval_list"
    description = "List approval requests (pending by default)."
    default_grants = OWNER

    class Input(ToolInput):
        status: Literal["pending", "approved", "rejected", "expired"] | None = "pending"

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        async with ctx.db.transaction() as tx:
            found = await approvals.list_requests(tx, ctx.agent_id, args.status)
        lines = [
            f"- #{a.short_id} {a.requester_id} wants {a.resource_type}:{a.resource_key} ({a.status})"
            for a in found
        ]
        return ToolOutcome(
            text="\n".join(lines) or "No approval requests.", details=[a.wire() for a in found]
        )


class ApprovalReviewTool(Tool):
    name = "approval_review"
    description = "Approve or reject a request by id or short number; persistent approvals become a rule."
    default_grants = OWNER

    class Input(ToolInput):
        id: str = Field(min_length=1)
        decision: Literal["approved", "rejected"]
        resolution: Literal["once", "persistent"] = "once"
        reason: str | None = None

    async def run(self, ctx: ToolContext, args: Input) -> ToolOutcome:
        short = int(args.id.lstrip("#")) if args.id.lstrip("#").isdigit() else None
        record = await review(
            ctx.deps,
            ctx.agent_id,
            ctx.user_id or "owner",
            decision=args.decision,
            resolution=args.resolution,
            reason=args.reason,
            request_id=None if short is not None else args.id,
            short_id=short,
        )
        return ToolOutcome(text=f"Request #{record.short_id} {record.status}.")


GOVERNANCE_TOOLS: list[Tool] = [
    PolicyList(),
    PolicySet(),
    PolicyDelete(),
    ApprovalList(),
    ApprovalReviewTool(),
]
