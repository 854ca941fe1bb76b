"""Asynchronous approvals: a request the owner reviews later, announced in the inbox."""

from __future__ import annotations

from typing import Any

from openhermit.errors import Invalid, NotFound
from openhermit.protocol.policies import ApprovalRecord
from openhermit.runtime.deps import RuntimeDeps
from openhermit.runtime.journal import NewEvent
from openhermit.store.repos import approvals, policies

INBOX = "inbox"


async def request_approval(
    deps: RuntimeDeps,
    agent_id: str,
    session_id: str,
    requester_id: str,
    *,
    resource_type: str,
    resource_key: str,
    args: Any,
    tool_call_id: str | None,
    correlation_id: str | None,
    turn_id: int | None,
) -> ApprovalRecord:
    """Record the request, tell the requester's session, and put it in the owner's inbox."""
    base = {"resourceType": resource_type, "resourceKey": resource_key, "mode": "async"}
    async with deps.db.transaction() as tx:
        record = await approvals.create(
            tx, agent_id, session_id, requester_id, resource_type, resource_key, {"args": args}
        )
        requested = NewEvent(
            "approval_requested",
            {
                **base,
                "requestId": record.id,
                "toolCallId": tool_call_id,
                "args": args,
                "correlationId": correlation_id,
            },
        )
        stored = await deps.journal.write(tx, agent_id, session_id, [requested], turn_id)
        text = (
            f"Approval needed (#{record.short_id}): {requester_id} wants to use {resource_type} "
            f"`{resource_key}` in session {session_id}."
        )
        pending = NewEvent(
            "approval_pending",
            {
                **base,
                "requestId": record.id,
                "requesterId": requester_id,
                "requesterSessionId": session_id,
                "args": args,
            },
        )
        entry = NewEvent(
            "assistant",
            {
                "text": text,
                "final": False,
                "actions": [{"type": "approval_review", "requestId": record.id, "shortId": record.short_id}],
                "metadata": {"source": "approval"},
            },
            content=text,
        )
        stored += await deps.journal.write(tx, agent_id, INBOX, [pending, entry], None)
    deps.journal.publish(stored)
    return record


async def consume_approved(
    deps: RuntimeDeps, agent_id: str, requester_id: str, resource_type: str, resource_key: str
) -> bool:
    """Use up an approved once-only request for this call, if there is one."""
    async with deps.db.transaction() as tx:
        found = await approvals.approved_for(tx, agent_id, requester_id, resource_type, resource_key)
        if found is None:
            return False
        await approvals.resolve(
            tx, found, status="expired", resolution="once", reviewer="system", reason="used"
        )
    return True


async def review(
    deps: RuntimeDeps,
    agent_id: str,
    reviewer: str,
    *,
    decision: str,
    resolution: str,
    reason: str | None,
    request_id: str | None = None,
    short_id: int | None = None,
) -> ApprovalRecord:
    """Approve or reject; a persistent approval becomes an `allow` rule for the requester."""
    async with deps.db.transaction() as tx:
        record = await approvals.get_request(tx, agent_id, request_id=request_id, short_id=short_id)
        if record is None:
            raise NotFound("Approval request not found.")
        if record.status != "pending":
            raise Invalid(f"Approval request is already {record.status}.")
        await approvals.resolve(
            tx, record.id, status=decision, resolution=resolution, reviewer=reviewer, reason=reason
        )
        if decision == "approved" and resolution == "persistent":
            await policies.upsert_policy(
                tx,
                agent_id,
                record.resource_type,
                record.resource_key,
                "allow",
                [{"type": "user", "value": record.requester_id}],
                None,
            )
        payload = {
            "requestId": record.id,
            "resourceType": record.resource_type,
            "resourceKey": record.resource_key,
            "decision": decision,
            "resolution": resolution,
            "reviewerId": reviewer,
            "mode": "async",
        }
        stored = await deps.journal.write(tx, agent_id, INBOX, [NewEvent("approval_resolved", payload)], None)
        stored += await deps.journal.write(
            tx, agent_id, record.session_id, [NewEvent("approval_resolved", payload)], None
        )
        updated = await approvals.get_request(tx, agent_id, request_id=record.id)
    deps.journal.publish(stored)
    assert updated is not None
    return updated
