"""Access to the process-wide platform from a request."""

from __future__ import annotations

from typing import cast

from starlette.requests import HTTPConnection

from openhermit.gateway.platform import Platform


def platform_of(connection: HTTPConnection) -> Platform:
    return cast(Platform, connection.app.state.platform)
