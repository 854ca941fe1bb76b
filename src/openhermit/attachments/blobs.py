"""Where attachment bytes live: the `BlobStore` Protocol and choosing one by name.

Providers register under the entry-point group `openhermit.blob_stores`; each entry point
names a factory `(settings) -> BlobStore`. The built-ins are `local`, `s3` and `supabase`.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Protocol, runtime_checkable

from openhermit.config import Settings
from openhermit.errors import ConfigError, NotFound

ENTRY_POINT_GROUP = "openhermit.blob_stores"


class BlobNotFound(NotFound):
    """No object is stored under the key."""


@runtime_checkable
class BlobStore(Protocol):
    """Opaque bytes under `/`-separated keys (`<agentId>/<sessionId>/<attachmentId>/<name>`)."""

    provider: str

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes:
        """The stored bytes; `BlobNotFound` when the key holds nothing."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; a missing key is not an error."""
        ...


BlobStoreFactory = Callable[[Settings], BlobStore]


def blob_store_factories() -> dict[str, BlobStoreFactory]:
    """Every registered provider by name (loading the entry points)."""
    return {ep.name: ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)}


def open_blob_store(settings: Settings) -> BlobStore:
    """The provider named by `settings.attachments_provider`."""
    name = settings.attachments_provider
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        known = ", ".join(sorted(blob_store_factories())) or "none"
        raise ConfigError(f"OPENHERMIT_ATTACHMENTS_PROVIDER: unknown provider {name!r} (known: {known})")
    factory: BlobStoreFactory = found[0].load()
    return factory(settings)
