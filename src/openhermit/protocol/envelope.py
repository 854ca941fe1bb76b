"""The error envelope every failing route answers with: `{"error": {"code", "message"}}`."""

from __future__ import annotations

from openhermit.protocol.base import WireModel


class ErrorBody(WireModel):
    code: str
    message: str


class ErrorEnvelope(WireModel):
    error: ErrorBody

    @classmethod
    def of(cls, code: str, message: str) -> ErrorEnvelope:
        return cls(error=ErrorBody(code=code, message=message))
