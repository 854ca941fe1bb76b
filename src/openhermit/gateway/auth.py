"""Credentials on requests: admin token, user JWTs, channel tokens (header or `?token=`)."""

from __future__ import annotations

import hmac

from starlette.requests import HTTPConnection

from openhermit.errors import Unauthorized
from openhermit.gateway.state import platform_of
from openhermit.runtime.access import ADMIN, Caller
from openhermit.secrets.channel_tokens import looks_like_channel_token, lookup_prefix, same_token
from openhermit.secrets.crypto import SecretCipher
from openhermit.store.repos import channels

CHANNEL_USER_HEADER = "x-channel-user-id"


def bearer_token(connection: HTTPConnection) -> str | None:
    """`Authorization: Bearer <t>`, or `?token=<t>` on any `/api/*` route (EventSource cannot set headers)."""
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if connection.url.path.startswith("/api/"):
        token = connection.query_params.get("token")
        if token:
            return token
    return None


def is_admin_token(configured: str | None, presented: str | None) -> bool:
    if not configured or not presented:
        return False
    return hmac.compare_digest(configured.encode(), presented.encode())


async def _channel_caller(
    connection: HTTPConnection, token: str, cipher: SecretCipher | None
) -> Caller | None:
    if cipher is None or not looks_like_channel_token(token):
        return None
    platform = platform_of(connection)
    async with platform.db.transaction() as tx:
        for row in await channels.candidates(tx, lookup_prefix(token)):
            if row.token_ciphertext and same_token(cipher.decrypt(row.token_ciphertext), token):
                await channels.touch(tx, row.id)
                return Caller(
                    kind="channel",
                    channel=row.namespace,
                    channel_user_id=connection.headers.get(CHANNEL_USER_HEADER, ""),
                    namespace=row.namespace,
                    token_agent=row.agent_id,
                )
    return None


async def caller_of(connection: HTTPConnection) -> Caller | None:
    """Who is calling: admin, a user (session JWT), a channel, or nobody (None)."""
    cached = getattr(connection.state, "caller", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    platform = platform_of(connection)
    token = bearer_token(connection)
    caller: Caller | None = None
    if token:
        admin = platform.settings.admin_token
        if admin is not None and is_admin_token(admin.get_secret_value(), token):
            caller = ADMIN
        elif (claims := platform.signer.verify(token)) is not None:
            if claims.purpose == "session":
                caller = Caller(kind="user", channel=claims.channel, channel_user_id=claims.channel_user_id)
        else:
            caller = await _channel_caller(connection, token, platform.cipher)
    connection.state.caller = caller
    return caller


async def require_caller(connection: HTTPConnection) -> Caller:
    """Any valid credential; 401 otherwise."""
    caller = await caller_of(connection)
    if caller is None:
        raise Unauthorized("Authentication required: a valid token in Authorization: Bearer or ?token=.")
    return caller


async def require_admin(connection: HTTPConnection) -> None:
    """Dependency of every `/api/admin/*` route: the admin token, compared in constant time."""
    if platform_of(connection).settings.admin_token is None:
        raise Unauthorized("Admin token is not configured on this gateway (set GATEWAY_ADMIN_TOKEN).")
    caller = await caller_of(connection)
    if caller is None or caller.kind != "admin":
        raise Unauthorized("A valid admin token is required.")
