"""Python client of the OpenHermit gateway (HTTP, SSE); imports only the protocol."""

from openhermit.sdk.client import AsyncGatewayClient, GatewayClient
from openhermit.sdk.errors import (
    Conflict,
    GatewayError,
    GatewayUnreachable,
    InvalidRequest,
    NotFound,
    ServerError,
    Unauthorized,
)
from openhermit.sdk.sse import Frame

__all__ = [
    "AsyncGatewayClient",
    "Conflict",
    "Frame",
    "GatewayClient",
    "GatewayError",
    "GatewayUnreachable",
    "InvalidRequest",
    "NotFound",
    "ServerError",
    "Unauthorized",
]
