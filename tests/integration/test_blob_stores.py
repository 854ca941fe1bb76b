"""One contract for every blob store provider, against real servers on 127.0.0.1: the local
folder, an S3-compatible server (moto, driven by boto3) and a fake of Supabase Storage's API."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from openhermit.attachments.blobs import BlobNotFound, BlobStore, blob_store_factories, open_blob_store
from openhermit.attachments.local_store import LocalBlobStore
from openhermit.config import Settings
from openhermit.errors import ConfigError, Invalid, UpstreamError
from openhermit.gateway.platform import Platform, start_platform
from openhermit.testing.fake_sandbox import FakeSandboxResolver
from openhermit.testing.fake_supabase import FakeSupabaseStorage
from tests.runtime_helpers import create_agent, open_session

KEY = "agent-1/cli:default/att_0123456789abcdef0123456789abcdef/report.pdf"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 reads its default credential chain; these reach only the local server."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


def s3_settings(tmp_path: Path, endpoint: str, bucket: str) -> Settings:
    boto3.session.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    return Settings(
        home=tmp_path,
        attachments_provider="s3",
        attachments_s3_bucket=bucket,
        attachments_s3_prefix="oh/",
        attachments_s3_region="us-east-1",
        attachments_s3_endpoint=endpoint,
        attachments_s3_force_path_style=True,
    )


@pytest.fixture
def supabase() -> Iterator[FakeSupabaseStorage]:
    with FakeSupabaseStorage(key="sb_secret_test") as fake:
        yield fake


def supabase_settings(tmp_path: Path, fake: FakeSupabaseStorage) -> Settings:
    return Settings(
        home=tmp_path,
        attachments_provider="supabase",
        supabase_url=fake.url,
        supabase_service_role_key="sb_secret_test",
        attachments_supabase_prefix="uploads",
    )


@pytest.fixture(params=["local", "s3", "supabase"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, aws_credentials: None, supabase: FakeSupabaseStorage
) -> BlobStore:
    if request.param == "local":
        return open_blob_store(Settings(home=tmp_path))
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        return open_blob_store(s3_settings(tmp_path, endpoint, f"bucket-{uuid.uuid4().hex[:12]}"))
    return open_blob_store(supabase_settings(tmp_path, supabase))


async def test_contract(store: BlobStore) -> None:
    assert isinstance(store, BlobStore)
    await store.put(KEY, b"%PDF-1.7 first", "application/pdf")
    assert await store.get(KEY) == b"%PDF-1.7 first"
    await store.put(KEY, b"second", "application/pdf")  # replacing is allowed
    assert await store.get(KEY) == b"second"
    other = KEY.replace("report.pdf", "other.bin")
    await store.put(other, bytes(range(256)) * 1000, "application/octet-stream")
    assert await store.get(other) == bytes(range(256)) * 1000
    await store.delete(KEY)
    with pytest.raises(BlobNotFound):
        await store.get(KEY)
    await store.delete(KEY)  # deleting a missing key is fine
    assert await store.get(other) == bytes(range(256)) * 1000


def test_providers_register_through_entry_points() -> None:
    assert {"local", "s3", "supabase"} <= set(blob_store_factories())


def test_provider_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown provider 'ftp'"):
        open_blob_store(Settings(home=tmp_path, attachments_provider="ftp"))
    with pytest.raises(ConfigError, match="OPENHERMIT_ATTACHMENTS_S3_BUCKET"):
        open_blob_store(Settings(home=tmp_path, attachments_provider="s3"))
    with pytest.raises(ConfigError, match="SUPABASE_URL"):
        open_blob_store(Settings(home=tmp_path, attachments_provider="supabase"))


async def test_local_store_layout_and_key_checks(tmp_path: Path) -> None:
    store = open_blob_store(Settings(home=tmp_path))
    assert isinstance(store, LocalBlobStore)
    await store.put(KEY, b"x", "text/plain")
    assert (tmp_path / "attachments" / KEY).read_bytes() == b"x"
    custom = open_blob_store(Settings(home=tmp_path, attachments_root=tmp_path / "elsewhere"))
    await custom.put("a/b", b"y", "text/plain")
    assert (tmp_path / "elsewhere" / "a" / "b").read_bytes() == b"y"
    for bad in ("../escape", "a/../../b", "/abs", "a//b", ""):
        with pytest.raises(Invalid):
            await store.put(bad, b"x", "text/plain")


async def test_s3_objects_land_under_the_prefix(
    tmp_path: Path, aws_credentials: None, s3_endpoint: str
) -> None:
    store = open_blob_store(s3_settings(tmp_path, s3_endpoint, "prefixed"))
    await store.put(KEY, b"abc", "text/plain")
    client = boto3.session.Session().client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    found = client.get_object(Bucket="prefixed", Key=f"oh/{KEY}")
    assert found["Body"].read() == b"abc"
    assert found["ContentType"] == "text/plain"


async def test_s3_missing_bucket_is_an_upstream_error(
    tmp_path: Path, aws_credentials: None, s3_endpoint: str
) -> None:
    settings = s3_settings(tmp_path, s3_endpoint, "exists").model_copy(
        update={"attachments_s3_bucket": "missing"}
    )
    with pytest.raises(UpstreamError, match="NoSuchBucket"):
        await open_blob_store(settings).put(KEY, b"x", "text/plain")


async def test_supabase_wire_format(tmp_path: Path, supabase: FakeSupabaseStorage) -> None:
    store = open_blob_store(supabase_settings(tmp_path, supabase))
    await store.put(KEY, b"abc", "text/plain")
    assert supabase.objects[("attachments", f"uploads/{KEY}")].content_type == "text/plain"
    encoded = KEY.replace(":", "%3A")
    assert ("POST", f"/storage/v1/object/attachments/uploads/{encoded}") in supabase.requests
    wrong_key = supabase_settings(tmp_path, supabase).model_copy(
        update={"supabase_service_role_key": SecretStr("nope")}
    )
    with pytest.raises(UpstreamError, match="invalid signature"):
        await open_blob_store(wrong_key).get(KEY)
    no_bucket = supabase_settings(tmp_path, supabase).model_copy(
        update={"attachments_supabase_bucket": "missing"}
    )
    with pytest.raises(UpstreamError, match="Bucket not found"):
        await open_blob_store(no_bucket).put(KEY, b"x", "text/plain")


@pytest.mark.parametrize("provider", ["s3", "supabase"])
async def test_http_upload_through_remote_providers(
    request: pytest.FixtureRequest,
    provider: str,
    tmp_path: Path,
    aws_credentials: None,
    supabase: FakeSupabaseStorage,
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    platform: Platform,
) -> None:
    if provider == "s3":
        configured = s3_settings(tmp_path, request.getfixturevalue("s3_endpoint"), f"http-{provider}")
    else:
        configured = supabase_settings(tmp_path, supabase)
    platform.runtime.blobs = open_blob_store(configured)
    platform.runtime.sandboxes = FakeSandboxResolver()
    await create_agent(client, admin_headers, "a1")
    await open_session(client, admin_headers, "a1", "cli:s1")
    url = "/api/agents/a1/sessions/cli:s1/attachments"
    data = b"remote bytes " * 1000
    made = await client.post(url, files={"file": ("r.txt", data, "text/plain")}, headers=admin_headers)
    assert made.status_code == 201, made.text
    att = made.json()["attachment"]
    assert att["materializationState"] == "copied"
    raw = await client.get(f"{url}/{att['id']}/bytes", headers=admin_headers)
    assert raw.content == data
    assert not (platform.settings.home / "attachments").exists()  # nothing went to the local store


async def test_an_unknown_provider_stops_start_up(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="OPENHERMIT_ATTACHMENTS_PROVIDER: unknown provider 'ftp'"):
        await start_platform(settings.model_copy(update={"attachments_provider": "ftp"}))
