"""The `supabase` blob store: Supabase Storage's REST API (`/storage/v1/object/...`) over httpx2.

Authenticates with the service-role (or `sb_secret_`) key, sent as `apikey` and bearer token.
"""

from __future__ import annotations

from urllib.parse import quote

import httpx2

from openhermit.attachments.blobs import BlobNotFound, BlobStore
from openhermit.config import Settings
from openhermit.errors import ConfigError, UpstreamError

TIMEOUT_SECONDS = 60.0


class SupabaseBlobStore:
    provider = "supabase"

    def __init__(self, url: str, key: str, bucket: str, *, prefix: str = "") -> None:
        self.base = url.rstrip("/") + "/storage/v1"
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._headers = {"apikey": key, "Authorization": f"Bearer {key}"}

    def _object_url(self, key: str) -> str:
        return f"{self.base}/object/{quote(self.bucket, safe='')}/{quote(self.prefix + key, safe='/')}"

    async def _send(self, method: str, url: str, **kwargs: object) -> httpx2.Response:
        try:
            async with httpx2.AsyncClient(timeout=TIMEOUT_SECONDS, headers=self._headers) as client:
                return await client.request(method, url, **kwargs)  # type: ignore[arg-type]
        except httpx2.HTTPError as exc:
            raise UpstreamError(f"Supabase storage {method} failed: {exc}") from None

    @staticmethod
    def _missing(response: httpx2.Response) -> bool:
        if response.status_code == 404:
            return True
        # Storage answers 400 with `{"statusCode": "404", "error": "not_found"}` for missing objects.
        try:
            body = response.json()
        except ValueError:
            return False
        return isinstance(body, dict) and (
            str(body.get("statusCode")) == "404" or body.get("error") in ("not_found", "Not found")
        )

    @staticmethod
    def _fail(action: str, response: httpx2.Response) -> UpstreamError:
        return UpstreamError(
            f"Supabase storage {action} failed: HTTP {response.status_code} {response.text[:200]}"
        )

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        headers = {"Content-Type": content_type, "x-upsert": "true", "cache-control": "3600"}
        response = await self._send("POST", self._object_url(key), content=data, headers=headers)
        if response.status_code >= 300:
            raise self._fail("upload", response)

    async def get(self, key: str) -> bytes:
        response = await self._send("GET", self._object_url(key))
        if response.status_code >= 300:
            if self._missing(response):
                raise BlobNotFound(f"No stored object {key}.")
            raise self._fail("download", response)
        return response.content

    async def delete(self, key: str) -> None:
        url = f"{self.base}/object/{quote(self.bucket, safe='')}"
        response = await self._send("DELETE", url, json={"prefixes": [self.prefix + key]})
        if response.status_code >= 300 and not self._missing(response):
            raise self._fail("delete", response)


def create(settings: Settings) -> BlobStore:
    if not settings.supabase_url:
        raise ConfigError("SUPABASE_URL: required for the supabase attachment provider")
    if settings.supabase_service_role_key is None:
        raise ConfigError("SUPABASE_SERVICE_ROLE_KEY: required for the supabase attachment provider")
    return SupabaseBlobStore(
        settings.supabase_url,
        settings.supabase_service_role_key.get_secret_value(),
        settings.attachments_supabase_bucket,
        prefix=settings.attachments_supabase_prefix,
    )
