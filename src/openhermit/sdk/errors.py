"""Errors the SDK raises, built from the gateway's error envelope."""

from __future__ import annotations


class GatewayError(Exception):
    """A non-2xx answer from the gateway (or no answer at all)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


class GatewayUnreachable(GatewayError):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(0, "unreachable", f"cannot reach the gateway at {url} ({reason})")


class InvalidRequest(GatewayError):
    pass


class Unauthorized(GatewayError):
    pass


class Forbidden(GatewayError):
    pass


class NotFound(GatewayError):
    pass


class Conflict(GatewayError):
    pass


class ServerError(GatewayError):
    pass


_BY_STATUS: dict[int, type[GatewayError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
}


def error_for(status: int, body: object) -> GatewayError:
    code, message = "error", f"HTTP {status}"
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code", code))
        message = str(body["error"].get("message", message))
    elif isinstance(body, str) and body.strip():
        message = body.strip()[:500]
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else GatewayError)
    return kind(status, code, message)
