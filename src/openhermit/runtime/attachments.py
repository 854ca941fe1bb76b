"""Attachments in the runtime: upload + materialisation into the agent's sandbox, and URL passthrough.

An uploaded file is copied into the agent's default sandbox at
`<agentHome>/.openhermit/attachments/<sessionId>/<attachmentId>/<safeName>` (state `copied`);
when that fails (or no sandbox backend is configured) the row says `failed` with the reason,
and `attachment_fetch` tries again.
"""

from __future__ import annotations

import logging
import posixpath

from openhermit.attachments.blobs import BlobStore, open_blob_store
from openhermit.attachments.fetch import SafeFetcher, parse_networks
from openhermit.attachments.names import path_segment
from openhermit.attachments.service import Upload, ingest
from openhermit.errors import NotFound, OpenHermitError
from openhermit.protocol.attachments import AttachmentRecord
from openhermit.protocol.sessions import SessionAttachment, SessionMessage
from openhermit.runtime.access import AgentAccess
from openhermit.runtime.deps import RuntimeDeps
from openhermit.runtime.models.base import ImagePart
from openhermit.store.repos import attachments as repo
from openhermit.store.repos import receipts, sessions
from openhermit.store.repos.events import StoredEvent

log = logging.getLogger(__name__)
ATTACHMENTS_DIR = ".openhermit/attachments"
NO_SANDBOX = "No sandbox backend is configured for this gateway; the file is kept in attachment storage."


def blob_store(deps: RuntimeDeps) -> BlobStore:
    """The configured blob store, opened on first use."""
    if deps.blobs is None:
        deps.blobs = open_blob_store(deps.settings)
    return deps.blobs


def sandbox_path(agent_home: str, record: AttachmentRecord) -> str:
    return posixpath.join(
        agent_home, ATTACHMENTS_DIR, path_segment(record.session_id), record.id, record.safe_name
    )


async def read_bytes(deps: RuntimeDeps, record: AttachmentRecord) -> bytes:
    """The stored bytes of an attachment (from the provider that stored them)."""
    store = blob_store(deps)
    if store.provider != record.storage_provider:
        raise NotFound(
            f"Attachment {record.id} is stored with provider {record.storage_provider!r}, "
            f"but this gateway uses {store.provider!r}."
        )
    return await store.get(record.storage_key)


async def materialise(
    deps: RuntimeDeps, record: AttachmentRecord, data: bytes | None = None
) -> AttachmentRecord:
    """Copy the file into the agent's default sandbox; the row ends `copied` or `failed`."""
    if deps.sandboxes is None:
        state, sandbox_id, path, error = "failed", None, None, NO_SANDBOX
    else:
        try:
            sandbox = await deps.sandboxes.for_agent(record.agent_id)
            await sandbox.ensure()
            target = sandbox_path(sandbox.agent_home, record)
            await sandbox.write_file(target, data if data is not None else await read_bytes(deps, record))
            state, sandbox_id, path, error = "copied", sandbox.id, target, None
        except Exception as exc:  # any backend failure is recorded on the row, not raised
            log.warning("materialising attachment %s failed: %s", record.id, exc)
            state, sandbox_id, path, error = "failed", None, None, str(exc) or type(exc).__name__
    async with deps.db.transaction() as tx:
        updated = await repo.set_materialization(
            tx, record.id, state, sandbox_id=sandbox_id, sandbox_path=path, error=error
        )
    return updated or record


async def ensure_materialised(deps: RuntimeDeps, record: AttachmentRecord) -> AttachmentRecord:
    """Copy the file again unless it is still in the agent's sandbox (failed earlier, deleted
    since, or the default sandbox changed)."""
    if record.materialization_state == "copied" and record.sandbox_path and deps.sandboxes is not None:
        sandbox = await deps.sandboxes.for_agent(record.agent_id)
        if record.sandbox_id == sandbox.id:
            try:
                await sandbox.stat(record.sandbox_path)
                return record
            except OpenHermitError:
                pass  # gone: copy it again
    return await materialise(deps, record)


async def upload(deps: RuntimeDeps, upload: Upload) -> AttachmentRecord:
    """Store a new attachment and copy it into the sandbox."""
    record = await ingest(deps.db, blob_store(deps), upload, max_bytes=deps.settings.attachments_max_bytes)
    return await materialise(deps, record, upload.data)


def url_fetcher(deps: RuntimeDeps) -> SafeFetcher:
    settings = deps.settings
    return SafeFetcher(
        max_bytes=settings.attachments_max_bytes,
        allow_http=settings.attachments_fetch_allow_http,
        allowed_networks=parse_networks(settings.attachments_fetch_allowed_networks),
    )


def as_message_attachment(record: AttachmentRecord) -> SessionAttachment:
    return SessionAttachment(
        id=record.id,
        type="file",
        name=record.original_name,
        mime_type=record.mime_type,
        size=record.size_bytes,
        sha256=record.sha256,
        sandbox_path=record.sandbox_path,
        materialization_state=record.materialization_state,
    )


async def resolve_url_attachments(
    deps: RuntimeDeps, agent_id: str, session_id: str, message: SessionMessage, access: AgentAccess
) -> SessionMessage:
    """URL passthrough: fetch each `{url}` attachment (SSRF-guarded) and store it as a session
    attachment; failures are `attachment_fetch_failed` (400)."""
    pending = [a for a in message.attachments or [] if a.url and not a.id]
    if not pending or session_id == "inbox":
        return message  # nothing to fetch, or a message that will be refused anyway
    async with deps.db.transaction() as tx:
        access.require_session(await sessions.get_record(tx, agent_id, session_id), session_id)
        if message.message_id and await receipts.find_receipt(tx, agent_id, session_id, message.message_id):
            return message  # a retry of a stored message: it is deduplicated, not fetched again
    fetcher = url_fetcher(deps)
    resolved: list[SessionAttachment] = []
    for item in message.attachments or []:
        if item not in pending:
            resolved.append(item)
            continue
        assert item.url is not None
        fetched = await fetcher.fetch(item.url)
        record = await upload(
            deps,
            Upload(
                agent_id=agent_id,
                session_id=session_id,
                filename=item.name or fetched.filename,
                data=fetched.data,
                claimed_mime=item.mime_type or fetched.content_type,
                uploader_user_id=access.user_id,
            ),
        )
        resolved.append(as_message_attachment(record).model_copy(update={"url": item.url}))
    return message.model_copy(update={"attachments": resolved})


INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
INLINE_MAX_IMAGES = 4
INLINE_MAX_BYTES = 1024 * 1024


async def inline_images(
    deps: RuntimeDeps, agent_id: str, rows: list[StoredEvent]
) -> dict[int, list[ImagePart]]:
    """Images to show a multimodal model (spec §10): those of the latest user message that has
    attachments, at most 4, each at most 1 MiB. Keyed by the message's row id."""
    latest = next(
        (r for r in reversed(rows) if r.event_type == "user" and r.payload.get("attachments")), None
    )
    if latest is None:
        return {}
    ids = [a["id"] for a in latest.payload["attachments"] if isinstance(a, dict) and a.get("id")]
    parts: list[ImagePart] = []
    async with deps.db.transaction() as tx:
        records = [await repo.get_attachment(tx, agent_id, i) for i in ids]
    for record in records:
        if len(parts) >= INLINE_MAX_IMAGES:
            break
        if (
            record is None
            or record.mime_type not in INLINE_IMAGE_TYPES
            or record.size_bytes > INLINE_MAX_BYTES
        ):
            continue
        try:
            parts.append(ImagePart(record.mime_type, await read_bytes(deps, record)))
        except OpenHermitError as exc:
            log.warning("cannot inline attachment %s: %s", record.id, exc)
    return {latest.id: parts} if parts else {}
