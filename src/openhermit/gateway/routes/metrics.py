"""`GET /metrics`: Prometheus text."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from openhermit.gateway.state import platform_of
from openhermit.runtime.metrics import CONTENT_TYPE

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(platform_of(request).runtime.metrics.render(), media_type=CONTENT_TYPE)
