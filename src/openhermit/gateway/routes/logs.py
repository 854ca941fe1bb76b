"""`GET /api/admin/logs?lines=`: the last log lines of this gateway process."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from openhermit.gateway.auth import require_admin
from openhermit.gateway.log_buffer import CAPACITY, log_buffer
from openhermit.protocol.base import WireModel

router = APIRouter(tags=["admin"], dependencies=[Depends(require_admin)])


class LogLine(WireModel):
    timestamp: str
    message: str


@router.get("/api/admin/logs", response_model=list[LogLine])
async def logs(lines: int = Query(200, ge=1, le=CAPACITY)) -> list[LogLine]:
    return [LogLine(timestamp=ts, message=msg) for ts, msg in log_buffer().tail(lines)]
