"""Session attachments: upload (multipart), list, metadata, bytes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from openhermit.attachments.names import kind_of
from openhermit.attachments.service import PayloadTooLarge, Upload, check_size
from openhermit.errors import Invalid, NotFound
from openhermit.gateway.lookup import access_for
from openhermit.protocol.attachments import AttachmentEnvelope, AttachmentList, AttachmentRecord
from openhermit.runtime import attachments as runtime_attachments
from openhermit.runtime import session_ops
from openhermit.runtime.access import AgentAccess
from openhermit.runtime.runner import AgentRunner
from openhermit.store.repos import attachments as repo

router = APIRouter(tags=["attachments"])
BASE = "/api/agents/{agent_id}/sessions/{session_id}/attachments"
# Multipart framing around the file; bodies above limit + this are refused before parsing.
MULTIPART_OVERHEAD = 64 * 1024

UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}


async def _capped(stream: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """The request body, refused with 413 once it exceeds `limit` (chunked bodies included)."""
    total = 0
    async for chunk in stream:
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge(
                f"The upload is larger than the {limit - MULTIPART_OVERHEAD}-byte attachment limit."
            )
        yield chunk


async def _file_of(request: Request, max_bytes: int) -> tuple[str | None, bytes, str | None]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Invalid("Upload a file as multipart/form-data in the field 'file'.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        check_size(max(int(declared) - MULTIPART_OVERHEAD, 1), max_bytes)
    body = _capped(request.stream(), max_bytes + MULTIPART_OVERHEAD)
    try:
        form = await MultiPartParser(request.headers, body, max_files=1, max_fields=10).parse()
    except MultiPartException as exc:
        raise Invalid(f"Invalid multipart body: {exc.message}") from None
    try:
        part = form.get("file")
        if not isinstance(part, UploadFile):
            raise Invalid("The multipart field 'file' with a file is required.")
        data = await part.read(max_bytes + 1)
        check_size(len(data), max_bytes)
        return part.filename, data, part.content_type
    finally:
        await form.close()


async def _visible(request: Request, agent_id: str, session_id: str) -> tuple[AgentRunner, AgentAccess]:
    runner, access = await access_for(request, agent_id)
    await session_ops.visible_session(runner, access, session_id)
    return runner, access


async def _attachment(runner: AgentRunner, session_id: str, attachment_id: str) -> AttachmentRecord:
    async with runner.deps.db.transaction() as tx:
        record = await repo.get_attachment(tx, runner.agent_id, attachment_id)
    if record is None or record.session_id != session_id:
        raise NotFound(f"Attachment {attachment_id} not found.")
    return record


@router.post(BASE, status_code=201, response_model=AttachmentEnvelope, openapi_extra=UPLOAD_BODY)
async def upload_attachment(request: Request, agent_id: str, session_id: str) -> JSONResponse:
    runner, access = await _visible(request, agent_id, session_id)
    filename, data, claimed = await _file_of(request, runner.deps.settings.attachments_max_bytes)
    record = await runtime_attachments.upload(
        runner.deps,
        Upload(
            agent_id=agent_id,
            session_id=session_id,
            filename=filename,
            data=data,
            claimed_mime=claimed,
            uploader_user_id=access.user_id,
        ),
    )
    return JSONResponse({"attachment": record.view().wire()}, status_code=201)


@router.get(BASE, response_model=AttachmentList)
async def list_attachments(
    request: Request, agent_id: str, session_id: str, scope: Literal["session", "user"] = "session"
) -> JSONResponse:
    runner, access = await _visible(request, agent_id, session_id)
    async with runner.deps.db.transaction() as tx:
        if scope == "user":
            if access.user_id is None:
                raise Invalid("scope=user needs a caller with a user identity.")
            found = await repo.list_for_uploader(tx, agent_id, access.user_id)
        else:
            found = await repo.list_for_session(tx, agent_id, session_id)
    return JSONResponse({"attachments": [r.view().wire() for r in found]})


@router.get(BASE + "/{attachment_id}", response_model=AttachmentEnvelope)
async def get_attachment(
    request: Request, agent_id: str, session_id: str, attachment_id: str
) -> JSONResponse:
    runner, _ = await _visible(request, agent_id, session_id)
    record = await _attachment(runner, session_id, attachment_id)
    return JSONResponse({"attachment": record.view().wire()})


@router.get(
    BASE + "/{attachment_id}/bytes",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "The file's bytes."}},
)
async def attachment_bytes(request: Request, agent_id: str, session_id: str, attachment_id: str) -> Response:
    runner, _ = await _visible(request, agent_id, session_id)
    record = await _attachment(runner, session_id, attachment_id)
    data = await runtime_attachments.read_bytes(runner.deps, record)
    return Response(
        content=data,
        media_type=record.mime_type,
        headers={
            "content-disposition": f'inline; filename="{record.safe_name}"',
            "cache-control": "private, max-age=60",
            "x-attachment-kind": kind_of(record.mime_type),
            "x-content-type-options": "nosniff",
        },
    )
