"""Policies and approval requests of an agent (owner)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from openhermit.errors import NotFound
from openhermit.gateway.lookup import access_for
from openhermit.gateway.state import platform_of
from openhermit.protocol.policies import ApprovalRecord, ApprovalReview, PolicyRecord, PolicyUpsert
from openhermit.runtime.approvals import review
from openhermit.store.repos import approvals, policies

router = APIRouter(tags=["policies"])


def scope_for(body: PolicyUpsert) -> dict[str, Any] | None:
    """File and exec rows default their scope from the resource key."""
    if body.scope is not None:
        return body.scope
    if body.resource_type == "file":
        return {"sandbox": "*", "mode": "*", "path": body.resource_key}
    if body.resource_type == "exec":
        return {"sandbox": "*", "command": body.resource_key}
    return None


@router.get("/api/agents/{agent_id}/policies", response_model=list[PolicyRecord])
async def list_policies(
    request: Request, agent_id: str, resource_type: str | None = None
) -> list[PolicyRecord]:
    await access_for(request, agent_id, owner=True)
    kind = resource_type or request.query_params.get("resourceType")
    async with platform_of(request).db.transaction() as tx:
        return await policies.list_policies(tx, agent_id, kind)


@router.post("/api/agents/{agent_id}/policies", response_model=PolicyRecord, status_code=201)
async def upsert_policy(request: Request, agent_id: str, body: PolicyUpsert) -> JSONResponse:
    await access_for(request, agent_id, owner=True)
    grants = [g.wire() for g in body.grants]
    async with platform_of(request).db.transaction() as tx:
        record = await policies.upsert_policy(
            tx, agent_id, body.resource_type, body.resource_key, body.effect, grants, scope_for(body)
        )
    return JSONResponse(record.model_dump(mode="json", by_alias=True), status_code=201)


@router.delete("/api/agents/{agent_id}/policies/{resource_type}/{resource_key:path}")
async def delete_policy(
    request: Request, agent_id: str, resource_type: str, resource_key: str, effect: str | None = None
) -> dict[str, bool]:
    await access_for(request, agent_id, owner=True)
    async with platform_of(request).db.transaction() as tx:
        if not await policies.delete_policy(tx, agent_id, resource_type, resource_key, effect):
            raise NotFound("No such policy.")
    return {"ok": True}


@router.get("/api/agents/{agent_id}/approvals", response_model=list[ApprovalRecord])
async def list_approvals(request: Request, agent_id: str, status: str | None = None) -> list[ApprovalRecord]:
    await access_for(request, agent_id, owner=True)
    async with platform_of(request).db.transaction() as tx:
        return await approvals.list_requests(tx, agent_id, status)


@router.get("/api/agents/{agent_id}/approvals/{request_id}", response_model=ApprovalRecord)
async def get_approval(request: Request, agent_id: str, request_id: str) -> ApprovalRecord:
    await access_for(request, agent_id, owner=True)
    async with platform_of(request).db.transaction() as tx:
        record = await approvals.get_request(tx, agent_id, request_id=request_id)
    if record is None:
        raise NotFound("Approval request not found.")
    return record


async def _review(request: Request, agent_id: str, body: ApprovalReview, **target: Any) -> ApprovalRecord:
    _, access = await access_for(request, agent_id, owner=True)
    reviewer = access.user_id or "admin"
    runtime = platform_of(request).runtime
    return await review(
        runtime,
        agent_id,
        reviewer,
        decision=body.decision,
        resolution=body.resolution,
        reason=body.reason,
        **target,
    )


@router.post("/api/agents/{agent_id}/approvals/{request_id}/review", response_model=ApprovalRecord)
async def review_approval(
    request: Request, agent_id: str, request_id: str, body: ApprovalReview
) -> ApprovalRecord:
    return await _review(request, agent_id, body, request_id=request_id)


@router.post("/api/agents/{agent_id}/approvals/by-short/{short_id}/review", response_model=ApprovalRecord)
async def review_by_short(
    request: Request, agent_id: str, short_id: int, body: ApprovalReview
) -> ApprovalRecord:
    return await _review(request, agent_id, body, short_id=short_id)
