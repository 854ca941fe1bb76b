"""File names and content types of uploads: sanitising, MIME sniffing, kinds."""

from __future__ import annotations

import mimetypes
import re
from typing import Literal
from urllib.parse import quote

import filetype

DEFAULT_NAME = "upload"
MAX_NAME_CHARS = 200
OCTET_STREAM = "application/octet-stream"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_MIME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")

AttachmentKind = Literal["image", "audio", "video", "document"]


def safe_name(original: str | None) -> str:
    """Spec §10: strip any path, replace characters outside `[A-Za-z0-9._-]` with `_`, drop
    leading dots, keep at most 200 characters; `upload` when nothing is left."""
    base = re.split(r"[\\/]", original or "")[-1]
    cleaned = _UNSAFE.sub("_", base).lstrip(".")[:MAX_NAME_CHARS]
    return cleaned or DEFAULT_NAME


def _plain(mime: str | None) -> str | None:
    """The bare `type/subtype` of a content type, lower-cased; None when it is not one."""
    if not mime:
        return None
    bare = mime.split(";", 1)[0].strip().lower()
    return bare if _MIME.match(bare) else None


def sniff_mime(data: bytes, name: str, claimed: str | None = None) -> str:
    """The content type: magic bytes, then the file extension, then the client's claim, then
    `application/octet-stream`."""
    kind = filetype.guess(data[:8192])
    if kind is not None:
        return str(kind.mime)
    by_extension, _ = mimetypes.guess_type(name, strict=False)
    return _plain(by_extension) or _plain(claimed) or OCTET_STREAM


def kind_of(mime: str) -> AttachmentKind:
    """How a channel presents the file (the `kind` of an `attachment` event)."""
    major = mime.split("/", 1)[0]
    if major in ("image", "audio", "video"):
        return major  # type: ignore[return-value]
    return "document"


def is_text(mime: str) -> bool:
    """Whether the content is meant to be read as text."""
    return mime.startswith("text/") or mime in {
        "application/json",
        "application/xml",
        "application/javascript",
        "application/x-yaml",
        "application/yaml",
        "application/x-sh",
        "application/sql",
        "application/toml",
    }


def path_segment(value: str) -> str:
    """A session id as one path segment: `cli:default` stays, `/` and other oddities are
    percent-encoded (reversible, so two sessions never share a folder)."""
    encoded = quote(value, safe=":@-._~")
    return "%2E" + encoded[1:] if encoded.startswith(".") else encoded
