"""Typed errors shared by every layer; the gateway maps them to HTTP in one place.

Each error carries the wire `code` and HTTP `status` of the error envelope
`{"error": {"code": ..., "message": ...}}`.
"""

from __future__ import annotations


class OpenHermitError(Exception):
    """Base of every error a user may see."""

    code: str = "internal_error"
    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(OpenHermitError):
    code = "validation_error"
    status = 400


class Unauthorized(OpenHermitError):
    code = "unauthorized"
    status = 401


class Forbidden(OpenHermitError):
    code = "forbidden"
    status = 403


class InboxReadOnly(Forbidden):
    code = "inbox_read_only"


class NotFound(OpenHermitError):
    code = "not_found"
    status = 404


class Conflict(OpenHermitError):
    code = "conflict"
    status = 409


class NotConfigured(OpenHermitError):
    code = "not_configured"
    status = 500


class ConfigInvalid(OpenHermitError):
    code = "config_invalid"
    status = 500


class UpstreamError(OpenHermitError):
    code = "upstream_error"
    status = 502


class Timeout(OpenHermitError):
    code = "timeout"
    status = 504


class ConfigError(OpenHermitError):
    """Start-up configuration is unusable. The message is one line naming what to fix."""

    code = "config_invalid"
    status = 500


class SecretDecryptError(OpenHermitError):
    """A stored secret does not decrypt with the configured key (wrong key or tampered data)."""

    code = "secret_decrypt_failed"
    status = 500
