"""Channel tokens: `oh_ch_` + 48 hex characters, stored encrypted, found by their prefix."""

from __future__ import annotations

import hmac
import secrets as random

PREFIX = "oh_ch_"
LOOKUP_PREFIX_CHARS = 12


def new_channel_token() -> str:
    return PREFIX + random.token_hex(24)


def looks_like_channel_token(token: str) -> bool:
    return token.startswith(PREFIX) and len(token) == len(PREFIX) + 48


def lookup_prefix(token: str) -> str:
    return token[:LOOKUP_PREFIX_CHARS]


def same_token(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
