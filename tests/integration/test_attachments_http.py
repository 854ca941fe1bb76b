"""Session attachments over HTTP: upload, list, metadata, bytes, limits, materialisation."""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest

from openhermit.gateway.platform import Platform
from openhermit.testing.fake_sandbox import FakeSandboxResolver
from tests.runtime_helpers import create_agent, open_session

URL = "/api/agents/a1/sessions/cli:s1/attachments"


def png_bytes() -> bytes:
    """A valid 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@pytest.fixture
async def sandboxes(platform: Platform) -> FakeSandboxResolver:
    resolver = FakeSandboxResolver()
    platform.runtime.sandboxes = resolver
    return resolver


@pytest.fixture
async def session(client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await create_agent(client, admin_headers, "a1")
    await open_session(client, admin_headers, "a1", "cli:s1")


async def upload(
    client: httpx.AsyncClient, headers: dict[str, str], name: str, data: bytes, mime: str = "text/plain"
) -> httpx.Response:
    return await client.post(URL, files={"file": (name, data, mime)}, headers=headers)


async def test_upload_round_trip_and_materialisation(
    client: httpx.AsyncClient, admin_headers: dict[str, str], session: None, sandboxes: FakeSandboxResolver
) -> None:
    data = b"hello attachments\n" * 100
    made = await upload(client, admin_headers, "notes.txt", data)
    assert made.status_code == 201, made.text
    att = made.json()["attachment"]
    assert att["id"].startswith("att_")
    assert len(att["id"]) == 36
    assert att["type"] == "file"
    assert att["name"] == att["safeName"] == "notes.txt"
    assert att["mimeType"] == "text/plain"
    assert att["size"] == len(data)
    assert att["sha256"] == hashlib.sha256(data).hexdigest()
    assert att["materializationState"] == "copied"
    assert att["materializationError"] is None
    assert att["sandboxId"] == "fake-a1-default"
    assert att["sandboxPath"] == f"/home/agent/.openhermit/attachments/cli:s1/{att['id']}/notes.txt"
    sandbox = sandboxes.sandboxes[("a1", "default")]
    assert await sandbox.read_file(att["sandboxPath"]) == data

    raw = await client.get(f"{URL}/{att['id']}/bytes", headers=admin_headers)
    assert raw.status_code == 200
    assert raw.content == data
    assert raw.headers["content-type"].startswith("text/plain")
    assert raw.headers["content-disposition"] == 'inline; filename="notes.txt"'
    assert raw.headers["cache-control"] == "private, max-age=60"
    assert raw.headers["x-attachment-kind"] == "document"
    assert raw.headers["content-length"] == str(len(data))

    one = await client.get(f"{URL}/{att['id']}", headers=admin_headers)
    assert one.status_code == 200
    assert one.json() == {"attachment": att}
    listed = await client.get(URL, headers=admin_headers)
    assert listed.status_code == 200
    assert listed.json() == {"attachments": [att]}


async def test_stored_under_the_local_provider_key(
    client: httpx.AsyncClient, admin_headers: dict[str, str], session: None, platform: Platform
) -> None:
    made = await upload(client, admin_headers, "a.txt", b"abc")
    att = made.json()["attachment"]
    stored = platform.settings.home / "attachments" / "a1" / "cli:s1" / att["id"] / "a.txt"
    assert stored.read_bytes() == b"abc"


async def test_without_a_sandbox_backend_materialisation_fails_clearly(
    client: httpx.AsyncClient, admin_headers: dict[str, str], session: None, platform: Platform
) -> None:
    platform.runtime.sandboxes = None
    made = await upload(client, admin_headers, "a.txt", b"abc")
    assert made.status_code == 201
    att = made.json()["attachment"]
    assert att["materializationState"] == "failed"
    assert "No sandbox backend" in att["materializationError"]
    assert att["sandboxPath"] is None
    assert att["sandboxId"] is None
    raw = await client.get(f"{URL}/{att['id']}/bytes", headers=admin_headers)
    assert raw.content == b"abc"


async def test_png_claimed_as_text_is_sniffed(
    client: httpx.AsyncClient, admin_headers: dict[str, str], session: None
) -> None:
    made = await upload(client, admin_headers, "picture.txt", png_bytes(), "text/plain")
    att = made.json()["attachment"]
    assert att["mimeType"] == "image/png"
    raw = await client.get(f"{URL}/{att['id']}/bytes", headers=admin_headers)
    assert raw.headers["content-type"] == "image/png"
    assert raw.headers["x-attachment-kind"] == "image"


@pytest.mark.parametrize(
    ("name", "claim", "expected"),
    [
        ("data.json", "application/octet-stream", "application/json"),  # extension beats the claim
        ("blob", "application/pdf", "application/pdf"),  # then the claim
        ("blob", "", "application/octet-stream"),  # then the default
    ],
)
async def test_mime_fallbacks(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    session: None,
    name: str,
    claim: str,
    expected: str,
) -> None:
    made = await upload(client, admin_headers, name, b"some plain bytes", claim)
    assert made.json()["attachment"]["mimeType"] == expected


@pytest.mark.parametrize(
    ("original", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\report final.pdf", "report_final.pdf"),
        ("..hidden", "hidden"),
        ("résumé (1).txt", "r_sum___1_.txt"),
        ("...", "upload"),
        ("a" * 300 + ".txt", "a" * 200),
    ],
)
async def test_names_are_sanitised(
    client: httpx.AsyncClient, admin_headers: dict[str, str], session: None, original: str, safe: str
) -> None:
    made = await upload(client, admin_headers, original, b"x")
    assert made.status_code == 201, made.text
    att = made.json()["attachment"]
    assert att["safeName"] == safe
    raw = await client.get(f"{URL}/{att['id']}/bytes", headers=admin_headers)
    assert raw.headers["content-disposition"] == f'inline; filename="{safe}"'


async def test_limits(
    client: httpx.AsyncClient, admin_headers: dict[str, str], session: None, platform: Platform
) -> None:
    empty = await upload(client, admin_headers, "empty.txt", b"")
    assert empty.status_code == 400
    assert empty.json()["error"]["code"] == "validation_error"
    assert "empty" in empty.json()["error"]["message"]

    limit = platform.settings.attachments_max_bytes
    assert limit == 25 * 1024 * 1024
    at_limit = await upload(client, admin_headers, "big.bin", b"\0" * limit, "application/octet-stream")
    assert at_limit.status_code == 201, at_limit.text
    over = await upload(client, admin_headers, "big.bin", b"\0" * (limit + 1), "application/octet-stream")
    assert over.status_code == 413
    assert over.json()["error"]["code"] == "payload_too_large"
    listed = await client.get(URL, headers=admin_headers)
    assert [a["size"] for a in listed.json()["attachments"]] == [limit]


async def test_configured_limit(
    client: httpx.AsyncClient, admin_headers: dict[str, str], session: None, platform: Platform
) -> None:
    platform.runtime.settings = platform.settings.model_copy(update={"attachments_max_bytes": 10})
    assert (await upload(client, admin_headers, "a.txt", b"x" * 10)).status_code == 201
    over = await upload(client, admin_headers, "a.txt", b"x" * 11)
    assert over.status_code == 413
    assert set(over.json()) == {"error"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {"file": "not multipart"}},
        {"files": {"other": ("a.txt", b"abc", "text/plain")}},
        {"data": {"file": "a plain field, not a file"}, "files": {"x": ("x", b"x")}},
        {"content": b"--nope\r\n", "headers": {"content-type": "multipart/form-data; boundary=zz"}},
    ],
)
async def test_invalid_uploads(
    client: httpx.AsyncClient, admin_headers: dict[str, str], session: None, kwargs: dict[str, object]
) -> None:
    headers = {**admin_headers, **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    response = await client.post(URL, headers=headers, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}


async def test_unknown_ids(client: httpx.AsyncClient, admin_headers: dict[str, str], session: None) -> None:
    made = await upload(client, admin_headers, "a.txt", b"abc")
    att_id = made.json()["attachment"]["id"]
    for url in (
        f"{URL}/att_00000000000000000000000000000000",
        f"{URL}/att_00000000000000000000000000000000/bytes",
        f"/api/agents/a1/sessions/cli:other/attachments/{att_id}",
        "/api/agents/a1/sessions/cli:nope/attachments",
        "/api/agents/nope/sessions/cli:s1/attachments",
    ):
        response = await client.get(url, headers=admin_headers)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"
    missing = await client.post(
        "/api/agents/a1/sessions/cli:nope/attachments",
        files={"file": ("a.txt", b"abc", "text/plain")},
        headers=admin_headers,
    )
    assert missing.status_code == 404


async def test_user_scope_lists_the_callers_uploads(
    client: httpx.AsyncClient, admin_headers: dict[str, str], session: None, platform: Platform
) -> None:
    token, _ = platform.signer.mint("cli", "alice")
    alice = {"Authorization": f"Bearer {token}"}
    await open_session(client, alice, "a1", "cli:alice-1")
    await open_session(client, alice, "a1", "cli:alice-2")
    for sid, name in (("cli:alice-1", "one.txt"), ("cli:alice-2", "two.txt")):
        response = await client.post(
            f"/api/agents/a1/sessions/{sid}/attachments",
            files={"file": (name, b"x", "text/plain")},
            headers=alice,
        )
        assert response.status_code == 201, response.text
    await upload(client, admin_headers, "admin.txt", b"x")
    scoped = await client.get(
        "/api/agents/a1/sessions/cli:alice-1/attachments", params={"scope": "user"}, headers=alice
    )
    assert sorted(a["name"] for a in scoped.json()["attachments"]) == ["one.txt", "two.txt"]
    session_only = await client.get("/api/agents/a1/sessions/cli:alice-1/attachments", headers=alice)
    assert [a["name"] for a in session_only.json()["attachments"]] == ["one.txt"]
    # Alice cannot read the admin's session.
    other = await client.get(URL, headers=alice)
    assert other.status_code == 404
    bad = await client.get(URL, params={"scope": "everyone"}, headers=admin_headers)
    assert bad.status_code == 400
    admin_user_scope = await client.get(URL, params={"scope": "user"}, headers=admin_headers)
    assert admin_user_scope.status_code == 400


async def test_chunked_upload_without_length_is_capped(
    client: httpx.AsyncClient, admin_headers: dict[str, str], session: None, platform: Platform
) -> None:
    platform.runtime.settings = platform.settings.model_copy(update={"attachments_max_bytes": 1000})
    boundary = "zzBOUNDARYzz"

    def body(size: int) -> list[bytes]:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        return [head, *([b"x" * 1000] * (size // 1000)), f"\r\n--{boundary}--\r\n".encode()]

    async def chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    headers = {**admin_headers, "content-type": f"multipart/form-data; boundary={boundary}"}
    fits = await client.post(URL, content=chunks(body(1000)), headers=headers)
    assert fits.status_code == 201, fits.text
    assert fits.json()["attachment"]["size"] == 1000
    huge = await client.post(URL, content=chunks(body(200_000)), headers=headers)
    assert huge.status_code == 413
    assert huge.json()["error"]["code"] == "payload_too_large"
