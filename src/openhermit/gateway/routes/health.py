"""`GET /health`: liveness, no authentication."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from openhermit.protocol.base import WireModel

router = APIRouter()


class Health(WireModel):
    ok: bool
    role: Literal["gateway"]


@router.get("/health", response_model=Health, tags=["health"])
async def health() -> Health:
    return Health(ok=True, role="gateway")
