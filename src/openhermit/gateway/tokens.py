"""User tokens: HS256 JWTs for sessions and single-use exchange."""

from __future__ import annotations

import logging
import secrets as random
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

import jwt

from openhermit.config import Settings

log = logging.getLogger(__name__)
Purpose = Literal["session", "exchange"]
SESSION_TTL_SECONDS = 24 * 3600
EXCHANGE_TTL_SECONDS = 120
EXCHANGE_MAX_TTL_SECONDS = 600


@dataclass(frozen=True)
class Claims:
    channel: str
    channel_user_id: str
    purpose: Purpose
    jti: str
    exp: int
    issuer: str


class TokenSigner:
    def __init__(self, settings: Settings) -> None:
        if settings.jwt_secret is not None:
            self._key = settings.jwt_secret.get_secret_value().encode()
        else:
            log.warning(
                "GATEWAY_JWT_SECRET is not set: user tokens are signed with a random key and stop working "
                "when the gateway restarts."
            )
            self._key = random.token_bytes(32)

    def mint(
        self,
        channel: str,
        channel_user_id: str,
        *,
        purpose: Purpose = "session",
        ttl: int | None = None,
        issuer: str = "admin-issued",
    ) -> tuple[str, int]:
        """A signed token and its expiry (unix seconds)."""
        now = int(time.time())
        default = SESSION_TTL_SECONDS if purpose == "session" else EXCHANGE_TTL_SECONDS
        limit = SESSION_TTL_SECONDS if purpose == "session" else EXCHANGE_MAX_TTL_SECONDS
        exp = now + min(ttl or default, limit)
        claims: dict[str, Any] = {
            "sub": f"{channel}:{channel_user_id}",
            "channel": channel,
            "channelUserId": channel_user_id,
            "purpose": purpose,
            "issuer": issuer,
            "jti": str(uuid.uuid4()),
            "iat": now,
            "exp": exp,
        }
        return jwt.encode(claims, self._key, algorithm="HS256"), exp

    def verify(self, token: str) -> Claims | None:
        """The claims of a valid, unexpired token; None otherwise."""
        try:
            data = jwt.decode(token, self._key, algorithms=["HS256"], options={"require": ["exp", "sub"]})
        except jwt.PyJWTError:
            return None
        channel, channel_user_id = data.get("channel"), data.get("channelUserId")
        if not isinstance(channel, str) or not isinstance(channel_user_id, str):
            return None
        purpose = data.get("purpose") or "session"
        if purpose not in ("session", "exchange"):
            return None
        return Claims(
            channel,
            channel_user_id,
            purpose,
            str(data.get("jti", "")),
            int(data["exp"]),
            str(data.get("issuer", "")),
        )
