"""Python client of the gateway (HTTP, SSE, WebSocket)."""
