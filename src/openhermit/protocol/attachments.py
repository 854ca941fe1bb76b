"""Session attachments on the wire (spec §10) and the stored record behind them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from openhermit.protocol.base import WireModel

MaterializationState = Literal["pending", "copied", "failed"]


class AttachmentView(WireModel):
    """`{id, type:"file", name, safeName, mimeType, size, sha256, sandboxPath, sandboxId,
    materializationState, materializationError, createdAt}`."""

    id: str
    type: Literal["file"] = "file"
    name: str
    safe_name: str
    mime_type: str
    size: int
    sha256: str
    sandbox_path: str | None = None
    sandbox_id: str | None = None
    materialization_state: MaterializationState
    materialization_error: str | None = None
    created_at: datetime

    def wire(self) -> dict[str, Any]:
        """Every field, the unset sandbox ones as null (the spec's shape is fixed)."""
        return self.model_dump(mode="json")


class AttachmentEnvelope(WireModel):
    attachment: AttachmentView


class AttachmentList(WireModel):
    attachments: list[AttachmentView]


class AttachmentRecord(BaseModel):
    """A `session_attachments` row."""

    id: str
    agent_id: str
    session_id: str
    uploader_user_id: str | None
    original_name: str
    safe_name: str
    mime_type: str
    size_bytes: int
    sha256: str
    storage_provider: str
    storage_key: str
    sandbox_id: str | None
    sandbox_path: str | None
    materialization_state: MaterializationState
    materialization_error: str | None
    created_at: datetime

    def view(self) -> AttachmentView:
        return AttachmentView(
            id=self.id,
            name=self.original_name,
            safe_name=self.safe_name,
            mime_type=self.mime_type,
            size=self.size_bytes,
            sha256=self.sha256,
            sandbox_path=self.sandbox_path,
            sandbox_id=self.sandbox_id,
            materialization_state=self.materialization_state,
            materialization_error=self.materialization_error,
            created_at=self.created_at,
        )
