"""Accepting a file as a session attachment: limits, name, content type, hash, storage, row."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from openhermit.attachments.blobs import BlobStore
from openhermit.attachments.names import path_segment, safe_name, sniff_mime
from openhermit.errors import Invalid, OpenHermitError
from openhermit.protocol.attachments import AttachmentRecord
from openhermit.store.engine import Database
from openhermit.store.repos import attachments as repo

DEFAULT_MAX_BYTES = 25 * 1024 * 1024


class PayloadTooLarge(OpenHermitError):
    code = "payload_too_large"
    status = 413


def new_attachment_id() -> str:
    return f"att_{uuid.uuid4().hex}"


def check_size(size: int, max_bytes: int) -> None:
    """413 above the limit, 400 for an empty file."""
    if size > max_bytes:
        raise PayloadTooLarge(f"The file is larger than the {max_bytes}-byte attachment limit.")
    if size == 0:
        raise Invalid("The file is empty.")


@dataclass(frozen=True)
class Upload:
    agent_id: str
    session_id: str
    filename: str | None
    data: bytes
    claimed_mime: str | None = None
    uploader_user_id: str | None = None


async def ingest(db: Database, store: BlobStore, upload: Upload, *, max_bytes: int) -> AttachmentRecord:
    """Store the bytes and insert the row (materialisation `pending`)."""
    check_size(len(upload.data), max_bytes)
    name = safe_name(upload.filename)
    attachment_id = new_attachment_id()
    key = f"{upload.agent_id}/{path_segment(upload.session_id)}/{attachment_id}/{name}"
    mime = sniff_mime(upload.data, name, upload.claimed_mime)
    await store.put(key, upload.data, mime)
    try:
        async with db.transaction() as tx:
            return await repo.insert_attachment(
                tx,
                id=attachment_id,
                agent_id=upload.agent_id,
                session_id=upload.session_id,
                uploader_user_id=upload.uploader_user_id,
                original_name=(upload.filename or name)[:1000],
                safe_name=name,
                mime_type=mime,
                size_bytes=len(upload.data),
                sha256=hashlib.sha256(upload.data).hexdigest(),
                storage_provider=store.provider,
                storage_key=key,
            )
    except BaseException:
        await store.delete(key)
        raise
