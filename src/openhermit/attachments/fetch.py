"""Fetching a URL on a user's behalf without reaching the gateway's own network (SSRF guard).

Every hop: the scheme must be https (http only when allowed by settings), the host is resolved
once, every address it resolves to must be public, and the connection goes to one of those
validated addresses with the original `Host` header and TLS server name, so a second DNS answer
(rebinding) is never used. Redirects are followed by hand, at most 5, each re-validated.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import unquote, urljoin

import httpx2

from openhermit.errors import Invalid

MAX_REDIRECTS = 5
TIMEOUT_SECONDS = 30.0
REDIRECT_CODES = {301, 302, 303, 307, 308}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# Resolves (host, port) to IP address strings.
Resolver = Callable[[str, int], Awaitable[list[str]]]

# Cloud metadata endpoints, refused even if listed in the allowed networks.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)


class AttachmentFetchFailed(Invalid):
    """A URL attachment could not be fetched (refused by the guard, unreachable or too large)."""

    code = "attachment_fetch_failed"


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the operating system's resolver gives for `host`."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    return addr.ipv4_mapped or addr.sixtofour or (addr.teredo[1] if addr.teredo else None)


def address_refusal(address: str, allowed: Sequence[IPNetwork] = ()) -> str | None:
    """Why connecting to `address` is refused, or None when it is a public address."""
    try:
        addr: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address} is not an IP address"
    if isinstance(addr, ipaddress.IPv6Address) and (inner := _embedded_ipv4(addr)) is not None:
        reason = address_refusal(str(inner), allowed)
        return f"{address} embeds {reason}" if reason else None
    if addr in METADATA_ADDRESSES:
        return f"{addr} is a cloud metadata address"
    if any(addr in net for net in allowed):
        return None
    for label, flag in (
        ("unspecified", addr.is_unspecified),
        ("loopback", addr.is_loopback),
        ("link-local", addr.is_link_local),
        ("private", addr.is_private),
        ("multicast", addr.is_multicast),
        ("reserved", addr.is_reserved),
    ):
        if flag:
            return f"{addr} is a {label} address"
    if not addr.is_global:
        return f"{addr} is not a public address"
    return None


def parse_networks(text: str) -> list[IPNetwork]:
    """Comma-separated CIDRs (the `attachments_fetch_allowed_networks` setting)."""
    return [ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()]


@dataclass(frozen=True)
class Fetched:
    data: bytes
    filename: str | None  # from Content-Disposition or the last path segment
    content_type: str | None
    url: str  # after redirects


def _filename(response: httpx2.Response, url: httpx2.URL) -> str | None:
    disposition = response.headers.get("content-disposition")
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        name = message.get_filename()
        if name:
            return name
    last = unquote(url.path.rsplit("/", 1)[-1])
    return last or None


@dataclass
class SafeFetcher:
    """Fetches http(s) URLs for attachment passthrough."""

    max_bytes: int
    allow_http: bool = False
    allowed_networks: Sequence[IPNetwork] = ()
    resolver: Resolver = system_resolver
    timeout_seconds: float = TIMEOUT_SECONDS
    max_redirects: int = MAX_REDIRECTS
    # TLS verification (a context with a private CA in tests); certificates are always checked
    # against the URL's host name, never the address connected to.
    verify: ssl.SSLContext | bool = field(default=True, repr=False)

    async def fetch(self, url: str) -> Fetched:
        """The body of `url`; `AttachmentFetchFailed` with the reason otherwise."""
        try:
            async with asyncio.timeout(self.timeout_seconds):
                return await self._follow(url)
        except TimeoutError:
            raise AttachmentFetchFailed(
                f"Fetching {url} took longer than {self.timeout_seconds:g} s."
            ) from None

    async def _follow(self, url: str) -> Fetched:
        timeout = httpx2.Timeout(self.timeout_seconds)
        async with httpx2.AsyncClient(
            timeout=timeout, follow_redirects=False, verify=self.verify, trust_env=False
        ) as client:
            current = url
            for _hop in range(self.max_redirects + 1):
                target = await self._validate(current)
                response, body = await self._get(client, target, current)
                if response.status_code in REDIRECT_CODES and "location" in response.headers:
                    current = urljoin(current, response.headers["location"])
                    continue
                if response.status_code >= 400:
                    raise AttachmentFetchFailed(f"Fetching {current} failed: HTTP {response.status_code}.")
                return Fetched(
                    data=body,
                    filename=_filename(response, httpx2.URL(current)),
                    content_type=response.headers.get("content-type"),
                    url=current,
                )
        raise AttachmentFetchFailed(f"Fetching {url} followed more than {self.max_redirects} redirects.")

    async def _validate(self, url: str) -> httpx2.URL:
        """The URL rewritten to a validated IP address of its host."""
        try:
            parsed = httpx2.URL(url)
        except httpx2.InvalidURL as exc:
            raise AttachmentFetchFailed(f"Invalid URL {url!r}: {exc}") from None
        allowed_schemes = ("https", "http") if self.allow_http else ("https",)
        if parsed.scheme not in allowed_schemes:
            raise AttachmentFetchFailed(
                f"Refused {url}: only {' and '.join(allowed_schemes)} URLs are fetched."
            )
        host = parsed.host
        if not host:
            raise AttachmentFetchFailed(f"Refused {url}: the URL has no host.")
        if parsed.userinfo:
            raise AttachmentFetchFailed(f"Refused {url}: credentials in URLs are not allowed.")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        if _is_ip(host):
            addresses = [host]
        else:
            try:
                addresses = await self.resolver(host, port)
            except OSError as exc:
                raise AttachmentFetchFailed(f"Cannot resolve {host}: {exc}") from None
        if not addresses:
            raise AttachmentFetchFailed(f"Cannot resolve {host}: no addresses.")
        for address in addresses:
            reason = address_refusal(address, self.allowed_networks)
            if reason and address == host:
                raise AttachmentFetchFailed(f"Refused {url}: {reason}.")
            if reason:
                raise AttachmentFetchFailed(
                    f"Refused {url}: {host} resolves to a refused address ({reason})."
                )
        return parsed.copy_with(host=addresses[0].split("%", 1)[0])

    async def _get(
        self, client: httpx2.AsyncClient, target: httpx2.URL, original: str
    ) -> tuple[httpx2.Response, bytes]:
        """GET the validated address, presenting the original host name (Host header and SNI)."""
        source = httpx2.URL(original)
        host_header = source.netloc.decode("ascii").rsplit("@", 1)[-1]
        request = client.build_request(
            "GET",
            target,
            headers={"Host": host_header, "Accept-Encoding": "identity"},
            extensions={"sni_hostname": source.host} if source.scheme == "https" else {},
        )
        try:
            response = await client.send(request, stream=True)
        except httpx2.HTTPError as exc:
            raise AttachmentFetchFailed(f"Fetching {original} failed: {exc}") from None
        try:
            if response.status_code in REDIRECT_CODES or response.status_code >= 400:
                return response, b""
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise _too_large(original, self.max_bytes)
            body = bytearray()
            async for chunk in response.aiter_raw():
                body.extend(chunk)
                if len(body) > self.max_bytes:
                    raise _too_large(original, self.max_bytes)
            return response, bytes(body)
        except httpx2.HTTPError as exc:
            raise AttachmentFetchFailed(f"Fetching {original} failed: {exc}") from None
        finally:
            await response.aclose()


def _too_large(url: str, limit: int) -> AttachmentFetchFailed:
    return AttachmentFetchFailed(f"{url} is larger than the {limit}-byte attachment limit.")


_IPV4 = re.compile(r"^\d+(\.\d+){0,3}$")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_IPV4.match(host))  # odd IPv4 spellings (2130706433, 127.1) are refused below
    return True
