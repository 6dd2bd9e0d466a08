"""The S3 backend against a real S3-protocol server (moto, server mode, 127.0.0.1)."""

from __future__ import annotations

import time
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from beachsaver.config import Settings
from beachsaver.core import errors
from beachsaver.storage import ObjectNotFound, S3Storage, build_storage, storage_readiness
from tests.storage.motoserver import MotoServer


def s3_store(moto: MotoServer, bucket: str, prefix: str = "bs") -> S3Storage:
    store = build_storage(Settings.model_validate(moto.settings(bucket, prefix)))
    assert isinstance(store, S3Storage)
    return store


def test_roundtrip_under_the_prefix(moto: MotoServer) -> None:
    bucket = moto.new_bucket()
    store = s3_store(moto, bucket)
    assert store.exists("images/2026/05/a.jpg") is False
    store.put("images/2026/05/a.jpg", b"\xff\xd8jpeg", "image/jpeg")
    assert store.exists("images/2026/05/a.jpg") is True
    assert store.get("images/2026/05/a.jpg") == b"\xff\xd8jpeg"
    assert moto.keys(bucket) == ["bs/images/2026/05/a.jpg"]
    head = moto.client().head_object(Bucket=bucket, Key="bs/images/2026/05/a.jpg")
    assert head["ContentType"] == "image/jpeg"
    store.delete("images/2026/05/a.jpg")
    store.delete("images/2026/05/a.jpg")  # missing: not an error
    assert store.exists("images/2026/05/a.jpg") is False
    with pytest.raises(ObjectNotFound):
        store.get("images/2026/05/a.jpg")
    assert moto.keys(bucket) == []


def test_list_keys_strips_the_prefix(moto: MotoServer) -> None:
    bucket = moto.new_bucket()
    store = s3_store(moto, bucket, "deep/prefix")
    for key in ("images/2026/05/b.jpg", "images/2026/04/a.png", "backups/x.tar"):
        store.put(key, b"x", "application/octet-stream")
    moto.client().put_object(Bucket=bucket, Key="not-ours/images/z.jpg", Body=b"x")
    assert store.list_keys("images/") == ["images/2026/04/a.png", "images/2026/05/b.jpg"]
    assert store.list_keys() == ["backups/x.tar", "images/2026/04/a.png", "images/2026/05/b.jpg"]
    no_prefix = s3_store(moto, bucket, "")
    assert no_prefix.list_keys("not-ours/") == ["not-ours/images/z.jpg"]


def test_list_keys_pages_through_many_objects(moto: MotoServer) -> None:
    bucket = moto.new_bucket()
    store = s3_store(moto, bucket)
    client = moto.client()
    for index in range(1005):
        client.put_object(Bucket=bucket, Key=f"bs/images/{index:05d}.jpg", Body=b"x")
    keys = store.list_keys("images/")
    assert len(keys) == 1005
    assert keys[0] == "images/00000.jpg"
    assert keys[-1] == "images/01004.jpg"


def test_presigned_url_serves_the_object_for_its_ttl(moto: MotoServer) -> None:
    bucket = moto.new_bucket()
    store = s3_store(moto, bucket)
    store.put("images/p.png", b"\x89PNGdata", "image/png")
    url = store.signed_url("images/p.png", 600)
    assert url is not None
    assert url.startswith(f"{moto.endpoint}/{bucket}/bs/images/p.png?")
    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == b"\x89PNGdata"
    # moto does not enforce expiry; the signed lifetime is what S3 enforces.
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["600"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert "X-Amz-Signature" in query


def test_missing_bucket_fails_the_check(moto: MotoServer) -> None:
    store = s3_store(moto, "bs-does-not-exist")
    with pytest.raises(errors.StorageUnavailable):
        store.check()
    with pytest.raises(errors.StorageUnavailable):
        store.put("images/a.jpg", b"x", "image/jpeg")


def test_server_down_is_storage_unavailable_and_recovers(moto: MotoServer) -> None:
    bucket = moto.new_bucket()
    store = s3_store(moto, bucket)
    store.put("images/kept.jpg", b"kept", "image/jpeg")
    runtime = SimpleNamespace(settings=Settings.model_validate(moto.settings(bucket)))
    ready = storage_readiness(runtime)  # type: ignore[arg-type]
    assert ready["ok"] is True
    assert ready["backend"] == "s3"
    moto.stop()
    started = time.perf_counter()
    for call in (
        lambda: store.put("images/new.jpg", b"x", "image/jpeg"),
        lambda: store.get("images/kept.jpg"),
        lambda: store.delete("images/kept.jpg"),
        lambda: store.exists("images/kept.jpg"),
        lambda: store.list_keys("images/"),
        store.check,
    ):
        with pytest.raises(errors.StorageUnavailable) as caught:
            call()
        assert caught.value.code == "STORAGE_UNAVAILABLE"
    assert time.perf_counter() - started < 30  # fails fast, no hanging retries
    assert storage_readiness(runtime) == {"ok": False, "backend": "s3", "error_code": "STORAGE_UNAVAILABLE"}  # type: ignore[arg-type]
    moto.start()
    assert store.get("images/kept.jpg") == b"kept"
    assert storage_readiness(runtime)["ok"] is True  # type: ignore[arg-type]
