"""The `s3` blob store (boto3): AWS S3 or any S3-compatible service (R2, MinIO, B2) via `endpoint`.

Credentials come from boto3's default chain (environment, shared config, instance role).
"""

from __future__ import annotations

import asyncio
from typing import Any

from openhermit.attachments.blobs import BlobNotFound, BlobStore
from openhermit.config import Settings
from openhermit.errors import ConfigError, UpstreamError


class S3BlobStore:
    provider = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        region: str | None = None,
        endpoint: str | None = None,
        force_path_style: bool = False,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        config = Config(s3={"addressing_style": "path" if force_path_style else "auto"})
        self._client: Any = boto3.session.Session().client(
            "s3", region_name=region, endpoint_url=endpoint, config=config
        )

    def _key(self, key: str) -> str:
        return self.prefix + key

    async def _call(self, method: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await asyncio.to_thread(getattr(self._client, method), Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                raise BlobNotFound(f"No stored object {kwargs.get('Key')}.") from None
            raise UpstreamError(f"S3 {method} failed: {code or exc}") from None
        except BotoCoreError as exc:
            raise UpstreamError(f"S3 {method} failed: {exc}") from None

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self._call("put_object", Key=self._key(key), Body=data, ContentType=content_type)

    async def get(self, key: str) -> bytes:
        found = await self._call("get_object", Key=self._key(key))
        body = found["Body"]
        try:
            return await asyncio.to_thread(body.read)
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await self._call("delete_object", Key=self._key(key))


def create(settings: Settings) -> BlobStore:
    if not settings.attachments_s3_bucket:
        raise ConfigError("OPENHERMIT_ATTACHMENTS_S3_BUCKET: required for the s3 attachment provider")
    return S3BlobStore(
        settings.attachments_s3_bucket,
        prefix=settings.attachments_s3_prefix,
        region=settings.attachments_s3_region,
        endpoint=settings.attachments_s3_endpoint,
        force_path_style=settings.attachments_s3_force_path_style,
    )
