"""Python client of the OpenHermit gateway (HTTP, SSE, WebSocket RPC); imports only the protocol."""

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
from openhermit.sdk.ws import AgentSocket, RpcError

__all__ = [
    "AgentSocket",
    "AsyncGatewayClient",
    "Conflict",
    "Frame",
    "GatewayClient",
    "GatewayError",
    "GatewayUnreachable",
    "InvalidRequest",
    "NotFound",
    "RpcError",
    "ServerError",
    "Unauthorized",
]
