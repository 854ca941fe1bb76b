"""Credentials on requests: the bearer token (header or `?token=`) and the admin check."""

from __future__ import annotations

import hmac

from fastapi import Request

from openhermit.errors import Unauthorized
from openhermit.gateway.state import platform_of


def bearer_token(request: Request) -> str | None:
    """`Authorization: Bearer <t>`, or `?token=<t>` on any `/api/*` route (EventSource cannot set headers)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if request.url.path.startswith("/api/"):
        token = request.query_params.get("token")
        if token:
            return token
    return None


def is_admin_token(configured: str | None, presented: str | None) -> bool:
    if not configured or not presented:
        return False
    return hmac.compare_digest(configured.encode(), presented.encode())


async def require_admin(request: Request) -> None:
    """Dependency of every `/api/admin/*` route: the admin token, compared in constant time."""
    configured = platform_of(request).settings.admin_token
    if configured is None:
        raise Unauthorized("Admin token is not configured on this gateway (set GATEWAY_ADMIN_TOKEN).")
    if not is_admin_token(configured.get_secret_value(), bearer_token(request)):
        raise Unauthorized("A valid admin token is required.")


async def require_caller(request: Request) -> None:
    """Dependency of agent routes that any authenticated caller may use.

    Until user tokens exist, the admin token is the only credential.
    """
    await require_admin(request)
