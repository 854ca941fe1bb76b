"""Attachments through the SDK against a real gateway process configured from the environment."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from openhermit.sdk import AsyncGatewayClient, GatewayClient, GatewayError, InvalidRequest, NotFound
from openhermit.testing.gateway_process import GatewayProcess

pytestmark = pytest.mark.e2e
TOKEN = "sdk-admin"


@pytest.fixture
def gateway(tmp_path: Path, db_url: str) -> Iterator[GatewayProcess]:
    process = GatewayProcess(
        tmp_path / "home",
        DATABASE_URL=db_url,
        GATEWAY_ADMIN_TOKEN=TOKEN,
        OPENHERMIT_ATTACHMENTS_MAX_BYTES="1000",
        OPENHERMIT_ATTACHMENTS_ROOT=str(tmp_path / "blobs"),
    ).start()
    yield process
    process.stop()


async def test_upload_list_get_bytes(gateway: GatewayProcess, tmp_path: Path) -> None:
    async with AsyncGatewayClient(gateway.url, TOKEN) as gw:
        await gw.create_agent("files")
        await gw.open_session("files", "api:1")
        data = b"col1,col2\n1,2\n"
        made = (await gw.upload_attachment("files", "api:1", data, "../table.csv", mime_type="text/csv"))[
            "attachment"
        ]
        assert made["safeName"] == "table.csv"
        assert made["sha256"] == hashlib.sha256(data).hexdigest()
        # The gateway's default sandbox received a copy (local bubblewrap where available).
        if made["materializationState"] == "copied":
            assert made["sandboxPath"].endswith(f"/.openhermit/attachments/api:1/{made['id']}/table.csv")
        else:
            assert made["materializationError"]
        assert (await gw.list_attachments("files", "api:1"))["attachments"] == [made]
        assert (await gw.get_attachment("files", "api:1", made["id"]))["attachment"] == made
        assert await gw.attachment_bytes("files", "api:1", made["id"]) == data
        assert (tmp_path / "blobs" / "files" / "api:1" / made["id"] / "table.csv").read_bytes() == data
        with pytest.raises(NotFound):
            await gw.attachment_bytes("files", "api:1", "att_nope")
        with pytest.raises(InvalidRequest, match="empty"):
            await gw.upload_attachment("files", "api:1", b"", "empty.txt")
        with pytest.raises(GatewayError) as too_big:
            await gw.upload_attachment("files", "api:1", b"x" * 1001, "big.bin")
        assert too_big.value.status == 413


def test_blocking_client(gateway: GatewayProcess) -> None:
    with GatewayClient(gateway.url, TOKEN) as gw:
        gw.create_agent("blocking")
        gw.open_session("blocking", "api:b")
        made = gw.upload_attachment("blocking", "api:b", b"hi", "hi.txt", mime_type="text/plain")
        assert gw.attachment_bytes("blocking", "api:b", made["attachment"]["id"]) == b"hi"
