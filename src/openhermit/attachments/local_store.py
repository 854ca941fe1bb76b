"""The `local` blob store: one file per object under a root folder."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from openhermit.attachments.blobs import BlobNotFound, BlobStore
from openhermit.config import Settings
from openhermit.errors import Invalid


class LocalBlobStore:
    provider = "local"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") for p in parts) or "\\" in key or "\0" in key:
            raise Invalid(f"Invalid storage key {key!r}.")
        return self.root.joinpath(*parts)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise BlobNotFound(f"No stored object {key}.") from None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)


def create(settings: Settings) -> BlobStore:
    return LocalBlobStore(settings.attachments_root or settings.home / "attachments")
