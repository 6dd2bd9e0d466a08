"""S3-protocol backend (``s3://bucket/prefix``) through boto3: AWS S3, MinIO, NCP/NHN object
storage, moto in the tests. Timeouts are short and retries few so that an unreachable store
turns into a quick 503 instead of a hung request."""

from __future__ import annotations

import logging
from typing import Any

from beachsaver.core import errors
from beachsaver.storage.base import ObjectNotFound, Storage, check_key, check_prefix

log = logging.getLogger("beachsaver.storage")

_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


def _unavailable(exc: Exception, action: str) -> errors.StorageUnavailable:
    log.error("object store %s failed: %s", action, type(exc).__name__)
    return errors.StorageUnavailable()


class S3Storage(Storage):
    kind = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        region: str = "us-east-1",
        client: Any = None,
    ) -> None:
        import boto3
        from botocore.config import Config

        if len(bucket) < 3:
            raise ValueError("S3 bucket names have at least 3 characters")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        if self.prefix:
            check_key(self.prefix.rstrip("/"))
        if client is None:
            config = Config(
                connect_timeout=3,
                read_timeout=10,
                retries={"max_attempts": 2, "mode": "standard"},
                signature_version="s3v4",
                s3={"addressing_style": "path" if endpoint_url else "auto"},
            )
            session = boto3.session.Session()
            client = session.client(
                "s3",
                endpoint_url=endpoint_url or None,
                region_name=region,
                aws_access_key_id=access_key_id or None,
                aws_secret_access_key=secret_access_key or None,
                config=config,
            )
        self.client = client

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    @staticmethod
    def _is_missing(exc: Exception) -> bool:
        from botocore.exceptions import ClientError

        if not isinstance(exc, ClientError):
            return False
        return str(exc.response.get("Error", {}).get("Code")) in _MISSING_CODES

    def put(self, key: str, data: bytes, content_type: str) -> None:
        full = self._key(key)
        try:
            self.client.put_object(Bucket=self.bucket, Key=full, Body=data, ContentType=content_type)
        except Exception as exc:
            raise _unavailable(exc, "put") from exc

    def get(self, key: str) -> bytes:
        full = self._key(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=full)
            body: bytes = response["Body"].read()
            return body
        except Exception as exc:
            if self._is_missing(exc):
                raise ObjectNotFound() from None
            raise _unavailable(exc, "get") from exc

    def delete(self, key: str) -> None:
        full = self._key(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=full)
        except Exception as exc:
            if self._is_missing(exc):
                return
            raise _unavailable(exc, "delete") from exc

    def exists(self, key: str) -> bool:
        full = self._key(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=full)
            return True
        except Exception as exc:
            if self._is_missing(exc):
                return False
            raise _unavailable(exc, "head") from exc

    def signed_url(self, key: str, ttl_s: int) -> str | None:
        full = self._key(key)
        try:
            url: str = self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": full}, ExpiresIn=int(ttl_s)
            )
            return url
        except Exception as exc:
            raise _unavailable(exc, "sign") from exc

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise _unavailable(exc, "check") from exc

    def list_keys(self, prefix: str = "") -> list[str]:
        check_prefix(prefix)
        keys: list[str] = []
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    keys.append(str(item["Key"])[len(self.prefix) :])
        except Exception as exc:
            raise _unavailable(exc, "list") from exc
        return sorted(keys)
