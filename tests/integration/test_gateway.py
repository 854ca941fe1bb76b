from __future__ import annotations

import httpx
import pytest

from openhermit.config import Settings
from openhermit.gateway.app import create_app
from openhermit.gateway.platform import Platform
from tests.factories import Factory


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "role": "gateway"}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic test-admin-token"},
        {"Authorization": "Bearer"},
    ],
)
async def test_admin_routes_need_the_admin_token(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get("/api/admin/stats", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


async def test_admin_token_in_query_string(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/admin/stats", params={"token": "test-admin-token"})
    assert response.status_code == 200


async def test_admin_routes_when_no_token_is_configured(settings: Settings, platform: Platform) -> None:
    bare = settings.model_copy(update={"admin_token": None})
    platform.settings = bare
    app = create_app(bare, platform)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        response = await http.get("/api/admin/stats", headers={"Authorization": "Bearer anything"})
    assert response.status_code == 401
    assert "not configured" in response.json()["error"]["message"]


async def test_stats_counts_what_is_stored(
    client: httpx.AsyncClient, admin_headers: dict[str, str], factory: Factory
) -> None:
    await factory.agent("a")
    await factory.session("a", "s")
    await factory.user()
    usage = {"input": 10, "output": 5, "cacheRead": 0, "cacheWrite": 0, "cost": {"total": 0.01}}
    await factory.event("a", "s", "assistant", {"usage": usage}, content="hello")
    body = (await client.get("/api/admin/stats", headers=admin_headers)).json()
    assert body["counts"] == {"agents": 1, "users": 1, "sessions": 1, "sessionEvents": 1}
    assert body["usage"]["window24h"]["inputTokens"] == 10
    assert body["usage"]["allTime"]["costUsd"] == pytest.approx(0.01)
    assert body["memory"]["rss"] > 0
    assert body["uptime"] >= 0


async def test_unknown_route_and_method_use_the_envelope(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "Not Found"}}
    wrong_method = await client.post("/health")
    assert wrong_method.status_code == 405
    assert set(wrong_method.json()["error"]) == {"code", "message"}


async def test_openapi_is_published(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert "/health" in spec["paths"]
    assert "/api/admin/stats" in spec["paths"]
