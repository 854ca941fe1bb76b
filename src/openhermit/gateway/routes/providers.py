"""`GET /api/providers`: model providers and the models we know of."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from openhermit.gateway.auth import require_caller
from openhermit.protocol.base import WireModel
from openhermit.runtime.models.providers import PROVIDERS

router = APIRouter(tags=["providers"], dependencies=[Depends(require_caller)])


class ModelEntry(WireModel):
    id: str
    reasoning: bool


class ProviderEntry(WireModel):
    provider: str
    api: str
    key_names: list[str]
    models: list[ModelEntry]


@router.get("/api/providers", response_model=list[ProviderEntry])
async def providers() -> list[ProviderEntry]:
    return [
        ProviderEntry(
            provider=p.name,
            api=p.api,
            key_names=list(p.key_names),
            models=[ModelEntry(id=m.id, reasoning=m.reasoning) for m in p.models],
        )
        for p in PROVIDERS.values()
    ]
