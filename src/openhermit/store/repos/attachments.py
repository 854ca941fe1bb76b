"""Session attachments: the metadata rows (bytes live in a blob store)."""

from __future__ import annotations

from sqlalchemy import select, update

from openhermit.protocol.attachments import AttachmentRecord, MaterializationState
from openhermit.store.engine import Tx
from openhermit.store.tables.sessions import SessionAttachment


def _record(row: SessionAttachment) -> AttachmentRecord:
    return AttachmentRecord.model_validate(row, from_attributes=True)


async def insert_attachment(
    tx: Tx,
    *,
    id: str,
    agent_id: str,
    session_id: str,
    uploader_user_id: str | None,
    original_name: str,
    safe_name: str,
    mime_type: str,
    size_bytes: int,
    sha256: str,
    storage_provider: str,
    storage_key: str,
) -> AttachmentRecord:
    row = SessionAttachment(
        id=id,
        agent_id=agent_id,
        session_id=session_id,
        uploader_user_id=uploader_user_id,
        original_name=original_name,
        safe_name=safe_name,
        mime_type=mime_type,
        size_bytes=size_bytes,
        sha256=sha256,
        storage_provider=storage_provider,
        storage_key=storage_key,
        materialization_state="pending",
    )
    tx.add(row)
    await tx.flush()
    await tx.refresh(row)
    return _record(row)


async def get_attachment(tx: Tx, agent_id: str, attachment_id: str) -> AttachmentRecord | None:
    row = await tx.get(SessionAttachment, attachment_id)
    return _record(row) if row is not None and row.agent_id == agent_id else None


async def list_for_session(
    tx: Tx, agent_id: str, session_id: str, limit: int = 100
) -> list[AttachmentRecord]:
    rows = await tx.execute(
        select(SessionAttachment)
        .where(SessionAttachment.agent_id == agent_id, SessionAttachment.session_id == session_id)
        .order_by(SessionAttachment.created_at.desc(), SessionAttachment.id)
        .limit(limit)
    )
    return [_record(r) for r in rows.scalars()]


async def list_for_uploader(tx: Tx, agent_id: str, user_id: str, limit: int = 100) -> list[AttachmentRecord]:
    rows = await tx.execute(
        select(SessionAttachment)
        .where(SessionAttachment.agent_id == agent_id, SessionAttachment.uploader_user_id == user_id)
        .order_by(SessionAttachment.created_at.desc(), SessionAttachment.id)
        .limit(limit)
    )
    return [_record(r) for r in rows.scalars()]


async def set_materialization(
    tx: Tx,
    attachment_id: str,
    state: MaterializationState,
    *,
    sandbox_id: str | None = None,
    sandbox_path: str | None = None,
    error: str | None = None,
) -> AttachmentRecord | None:
    await tx.execute(
        update(SessionAttachment)
        .where(SessionAttachment.id == attachment_id)
        .values(
            materialization_state=state,
            sandbox_id=sandbox_id,
            sandbox_path=sandbox_path,
            materialization_error=error,
        )
    )
    row = await tx.get(SessionAttachment, attachment_id, populate_existing=True)
    return _record(row) if row is not None else None
