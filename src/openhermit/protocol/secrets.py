"""Secret payloads: what a client may see of a secret (never its value)."""

from __future__ import annotations

import re

from openhermit.protocol.base import WireModel

SECRET_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SecretInfo(WireModel):
    masked: str
    pass_through: bool = False


def mask_secret(value: str) -> str:
    """The display form of a secret: up to 8 characters all `*`; else first 4, 8 `*`, last 4."""
    if len(value) <= 8:
        return "*" * len(value)
    return f"{value[:4]}{'*' * 8}{value[-4:]}"


def check_secret_name(name: str) -> str:
    if not SECRET_NAME_PATTERN.fullmatch(name):
        raise ValueError(f"invalid secret name {name!r}: must match ^[A-Za-z_][A-Za-z0-9_]*$")
    return name
