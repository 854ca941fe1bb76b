"""Access to the process-wide platform from a request."""

from __future__ import annotations

from typing import cast

from fastapi import Request

from openhermit.gateway.platform import Platform


def platform_of(request: Request) -> Platform:
    return cast(Platform, request.app.state.platform)
