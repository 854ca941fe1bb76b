"""URL passthrough: the SSRF guard, redirects, limits, and attachments sent as URLs in messages."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from openhermit.attachments.fetch import AttachmentFetchFailed, SafeFetcher, address_refusal, parse_networks
from openhermit.gateway.platform import Platform
from openhermit.testing.fake_sandbox import FakeSandboxResolver
from tests.runtime_helpers import create_agent, open_session

LOOPBACK = parse_networks("127.0.0.1/32")


class Origin:
    """A small HTTP server on 127.0.0.1 that records the Host header of each request."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        origin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                origin.hosts.append(self.headers.get("Host", ""))
                if self.path.startswith("/hop/"):
                    left = int(self.path.rsplit("/", 1)[-1])
                    target = f"/hop/{left - 1}" if left > 0 else "/file.txt"
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/to-private":
                    self.send_response(301)
                    self.send_header("Location", "http://10.0.0.1/secret")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path == "/big":
                    body = b"x" * 2000
                elif self.path == "/file.txt":
                    body = b"fetched content"
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Disposition", 'attachment; filename="report.txt"')
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def origin() -> Iterator[Origin]:
    server = Origin()
    yield server
    server.close()


def resolver_for(table: dict[str, list[str]]) -> Any:
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        if host not in table:
            raise OSError(f"unknown host {host}")
        return table[host]

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://127.0.0.1/x", "loopback"),
        ("https://10.0.0.1/x", "private"),
        ("https://192.168.1.20/x", "private"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://[fd00:ec2::254]/latest/meta-data/", "metadata"),
        ("https://[::1]/x", "loopback"),
        ("https://[fe80::1]/x", "link-local"),
        ("https://[fc00::5]/x", "private"),
        ("https://[::ffff:127.0.0.1]/x", "loopback"),
        ("https://0.0.0.0/x", "unspecified"),
        ("https://100.64.0.1/x", "not a public"),
        ("https://localhost/x", "loopback"),  # the system resolver says 127.0.0.1 / ::1
        ("https://2130706433/x", "not an IP address"),
        ("http://93.184.216.34/x", "only https"),
        ("ftp://example.com/x", "only https"),
        ("file:///etc/passwd", "only https"),
        ("https://user:pw@example.com/x", "credentials"),
    ],
)
async def test_refused_urls(url: str, reason: str) -> None:
    with pytest.raises(AttachmentFetchFailed, match=reason) as caught:
        await SafeFetcher(max_bytes=1000).fetch(url)
    assert caught.value.code == "attachment_fetch_failed"
    assert caught.value.status == 400


async def test_hostname_resolving_to_loopback_is_refused() -> None:
    resolver = resolver_for({"innocent.example": ["93.184.216.34", "127.0.0.1"]})
    with pytest.raises(
        AttachmentFetchFailed,
        match=r"innocent.example resolves to a refused address \(127.0.0.1 is a loopback address\)",
    ):
        await SafeFetcher(max_bytes=1000, resolver=resolver).fetch("https://innocent.example/x")


def test_address_rules() -> None:
    assert address_refusal("93.184.216.34") is None
    assert address_refusal("2606:2800:220:1:248:1893:25c8:1946") is None
    assert address_refusal("2002:7f00:1::1") is not None  # 6to4 wrapping 127.0.0.1
    assert address_refusal("127.0.0.1", LOOPBACK) is None
    assert address_refusal("169.254.169.254", parse_networks("169.254.0.0/16")) is not None  # never allowed


async def test_connects_to_the_validated_address_with_the_original_host(origin: Origin) -> None:
    """DNS rebinding: the name is resolved once per hop and the connection goes to that address."""
    resolver = resolver_for({"files.test": ["127.0.0.1"]})
    fetcher = SafeFetcher(max_bytes=1000, allow_http=True, allowed_networks=LOOPBACK, resolver=resolver)
    fetched = await fetcher.fetch(f"http://files.test:{origin.port}/file.txt")
    assert fetched.data == b"fetched content"
    assert fetched.filename == "report.txt"
    assert fetched.content_type == "text/plain"
    assert origin.hosts == [f"files.test:{origin.port}"]
    assert resolver.calls == ["files.test"]


async def test_redirects_are_followed_up_to_five(origin: Origin) -> None:
    resolver = resolver_for({"files.test": ["127.0.0.1"]})
    fetcher = SafeFetcher(max_bytes=1000, allow_http=True, allowed_networks=LOOPBACK, resolver=resolver)
    fetched = await fetcher.fetch(f"http://files.test:{origin.port}/hop/4")  # 5 redirects
    assert fetched.data == b"fetched content"
    assert fetched.url.endswith("/file.txt")
    assert len(resolver.calls) == 6  # every hop re-resolved and re-validated
    with pytest.raises(AttachmentFetchFailed, match="more than 5 redirects"):
        await fetcher.fetch(f"http://files.test:{origin.port}/hop/5")  # 6 redirects


async def test_redirect_to_a_private_address_is_refused(origin: Origin) -> None:
    fetcher = SafeFetcher(max_bytes=1000, allow_http=True, allowed_networks=LOOPBACK)
    with pytest.raises(AttachmentFetchFailed, match=r"10\.0\.0\.1 is a private address"):
        await fetcher.fetch(f"http://127.0.0.1:{origin.port}/to-private")


async def test_size_limit_and_errors(origin: Origin) -> None:
    fetcher = SafeFetcher(max_bytes=1000, allow_http=True, allowed_networks=LOOPBACK)
    with pytest.raises(AttachmentFetchFailed, match="larger than the 1000-byte"):
        await fetcher.fetch(f"http://127.0.0.1:{origin.port}/big")
    with pytest.raises(AttachmentFetchFailed, match="HTTP 404"):
        await fetcher.fetch(f"http://127.0.0.1:{origin.port}/missing")
    with pytest.raises(AttachmentFetchFailed, match="Cannot resolve"):
        await SafeFetcher(max_bytes=1000, resolver=resolver_for({})).fetch("https://nowhere.test/")


async def test_timeout() -> None:
    """A server that accepts and never answers: the fetch ends at the configured timeout."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)  # never served
    try:
        port = server.server_address[1]
        fetcher = SafeFetcher(max_bytes=1000, allow_http=True, allowed_networks=LOOPBACK, timeout_seconds=0.5)
        with pytest.raises(AttachmentFetchFailed, match=r"longer than 0.5 s|timed out"):
            await fetcher.fetch(f"http://127.0.0.1:{port}/slow")
    finally:
        server.server_close()


@pytest.fixture
async def passthrough(
    client: httpx.AsyncClient, admin_headers: dict[str, str], platform: Platform
) -> FakeSandboxResolver:
    platform.runtime.sandboxes = resolver = FakeSandboxResolver()
    await create_agent(client, admin_headers, "a1")
    await open_session(client, admin_headers, "a1", "cli:s1")
    return resolver


async def test_message_with_a_url_attachment_is_refused_for_private_addresses(
    client: httpx.AsyncClient, admin_headers: dict[str, str], passthrough: FakeSandboxResolver
) -> None:
    body = {"text": "look", "attachments": [{"type": "file", "url": "https://127.0.0.1/secret"}]}
    response = await client.post(
        "/api/agents/a1/sessions/cli:s1/messages", json=body, params={"append": "true"}, headers=admin_headers
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "attachment_fetch_failed"
    assert "loopback" in error["message"]


async def test_message_with_a_url_attachment_is_fetched_and_stored(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    passthrough: FakeSandboxResolver,
    platform: Platform,
    origin: Origin,
) -> None:
    platform.runtime.settings = platform.settings.model_copy(
        update={"attachments_fetch_allow_http": True, "attachments_fetch_allowed_networks": "127.0.0.1/32"}
    )
    url = f"http://127.0.0.1:{origin.port}/file.txt"
    body = {"text": "look", "attachments": [{"type": "file", "url": url}]}
    response = await client.post(
        "/api/agents/a1/sessions/cli:s1/messages", json=body, params={"append": "true"}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    listed = (await client.get("/api/agents/a1/sessions/cli:s1/attachments", headers=admin_headers)).json()
    [att] = listed["attachments"]
    assert att["name"] == "report.txt"
    assert att["mimeType"] == "text/plain"
    assert att["materializationState"] == "copied"
    history = (await client.get("/api/agents/a1/sessions/cli:s1/messages", headers=admin_headers)).json()
    [message] = [m for m in history if m["role"] == "user"]
    assert message["attachments"][0]["id"] == att["id"]
    assert message["attachments"][0]["sandboxPath"] == att["sandboxPath"]
    raw = await client.get(
        f"/api/agents/a1/sessions/cli:s1/attachments/{att['id']}/bytes", headers=admin_headers
    )
    assert raw.content == b"fetched content"


def _tls_material(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A private CA and a certificate for `files.test` signed by it (cert, key, CA cert)."""
    now = datetime.now(UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("test CA"))
        .issuer_name(name("test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("files.test"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("files.test")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    paths[0].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    paths[2].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return paths


async def test_https_presents_the_host_name_for_sni_and_certificate_checks(
    origin: Origin, tmp_path: Path
) -> None:
    cert, key, ca = _tls_material(tmp_path)
    server_names: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, server_name, ctx: server_names.append(server_name)
    origin.server.socket = context.wrap_socket(origin.server.socket, server_side=True)
    trust = ssl.create_default_context(cafile=str(ca))
    resolver = resolver_for({"files.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    fetcher = SafeFetcher(max_bytes=1000, allowed_networks=LOOPBACK, resolver=resolver, verify=trust)
    fetched = await fetcher.fetch(f"https://files.test:{origin.port}/file.txt")
    assert fetched.data == b"fetched content"
    assert server_names == ["files.test"]
    assert origin.hosts == [f"files.test:{origin.port}"]
    # The certificate is checked against the host name, so another name on the same address fails.
    with pytest.raises(AttachmentFetchFailed, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
        await fetcher.fetch(f"https://other.test:{origin.port}/file.txt")


async def test_a_retried_message_does_not_fetch_again(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    passthrough: FakeSandboxResolver,
    platform: Platform,
    origin: Origin,
) -> None:
    platform.runtime.settings = platform.settings.model_copy(
        update={"attachments_fetch_allow_http": True, "attachments_fetch_allowed_networks": "127.0.0.1/32"}
    )
    body = {
        "text": "look",
        "messageId": "m-1",
        "attachments": [{"type": "file", "url": f"http://127.0.0.1:{origin.port}/file.txt"}],
    }
    for _ in range(2):
        response = await client.post(
            "/api/agents/a1/sessions/cli:s1/messages",
            json=body,
            params={"append": "true"},
            headers=admin_headers,
        )
        assert response.status_code == 200, response.text
    listed = (await client.get("/api/agents/a1/sessions/cli:s1/attachments", headers=admin_headers)).json()
    assert len(listed["attachments"]) == 1
    assert len(origin.hosts) == 1
