"""Images on S3 storage against a real S3-protocol server (moto, server mode), including outages."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from PIL import Image as PILImage
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from beachsaver.core.db import session_scope
from beachsaver.images import service
from beachsaver.images.models import Image
from beachsaver.storage import S3Storage, storage_readiness
from tests.images import imagegen
from tests.images.conftest import World, error_of
from tests.storage.motoserver import MotoServer


@pytest.fixture
def bucket(moto: MotoServer) -> str:
    return moto.new_bucket()


@pytest.fixture
def settings_overrides(moto: MotoServer, bucket: str) -> dict[str, Any]:
    return moto.settings(bucket, "bs")


@pytest.fixture
def s3_world(world: World) -> World:
    assert isinstance(world.storage, S3Storage)
    world.app.state.readiness_checks["storage"] = storage_readiness
    return world


def test_upload_stores_in_the_bucket_and_urls_are_presigned(s3_world: World, moto: MotoServer, bucket: str) -> None:
    world = s3_world
    exif = imagegen.make_exif(taken="2025:05:01 10:30:00", offset="+09:00", lat=35.1587, lng=129.1604)
    data = imagegen.jpeg(size=(640, 480), exif=exif)
    image = world.upload_ok(world.investigator, data)
    assert image["taken_at"] == "2025-05-01T01:30:00Z"
    assert image["gps_lat"] == pytest.approx(35.1587)
    row = world.row(image["id"])
    assert moto.keys(bucket) == sorted([f"bs/{row.storage_key}", f"bs/{row.thumb_key}"])
    head = moto.client().head_object(Bucket=bucket, Key=f"bs/{row.storage_key}")
    assert head["ContentType"] == "image/jpeg"
    assert head["ContentLength"] == len(data)

    for url in (image["file_url"], image["thumb_url"]):
        assert url.startswith(f"{moto.endpoint}/{bucket}/bs/images/")
        assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["600"]
    original = httpx.get(image["file_url"])
    assert original.status_code == 200
    assert original.content == data
    thumb = httpx.get(image["thumb_url"])
    assert thumb.status_code == 200
    assert PILImage.open(io.BytesIO(thumb.content)).size == (320, 240)


def test_content_endpoint_redirects_to_a_presigned_url(s3_world: World, moto: MotoServer, bucket: str) -> None:
    world = s3_world
    data = imagegen.encode("WEBP", size=(200, 100))
    image = world.upload_ok(world.investigator, data)
    row = world.row(image["id"])
    headers = world.headers(world.investigator)
    for params, key in (({}, row.storage_key), ({"size": "thumb"}, row.thumb_key)):
        response = world.client.get(
            f"/api/images/{image['id']}/content", params=params, headers=headers, follow_redirects=False
        )
        assert response.status_code == 307
        location = response.headers["location"]
        assert location.startswith(f"{moto.endpoint}/{bucket}/bs/{key}?")
        assert response.headers["cache-control"] == "no-store"
        fetched = httpx.get(location)
        assert fetched.status_code == 200
        if key == row.storage_key:
            assert fetched.content == data
    others = world.client.get(
        f"/api/images/{image['id']}/content", headers=world.headers(world.cleaner), follow_redirects=False
    )
    assert others.status_code == 404


def test_readiness_reports_the_store(s3_world: World, moto: MotoServer) -> None:
    world = s3_world
    ready = world.client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json()["data"]["components"]["storage"]["ok"] is True
    assert ready.json()["data"]["components"]["storage"]["backend"] == "s3"
    moto.stop()
    down = world.client.get("/health/ready")
    assert down.status_code == 503
    assert error_of(down)["code"] == "STORAGE_UNAVAILABLE"
    moto.start()
    assert world.client.get("/health/ready").status_code == 200


def test_store_down_upload_is_503_nothing_recorded_rest_keeps_working(
    s3_world: World, moto: MotoServer, bucket: str
) -> None:
    world = s3_world
    before = world.upload_ok(world.investigator)
    before_keys = moto.keys(bucket)
    headers = world.headers(world.investigator)
    moto.stop()

    response = world.upload(world.investigator, imagegen.encode("PNG", size=(64, 64)))
    assert response.status_code == 503
    assert error_of(response)["code"] == "STORAGE_UNAVAILABLE"
    assert world.image_count() == 1

    # everything else keeps working: metadata (URLs are signed locally), other endpoints
    meta = world.client.get(f"/api/images/{before['id']}", headers=headers)
    assert meta.status_code == 200
    assert meta.json()["data"]["file_url"].startswith(moto.endpoint)
    me = world.client.get("/api/users/me", headers=headers)
    assert me.status_code == 200
    assert world.client.get("/health").status_code == 200

    moto.start()
    assert moto.keys(bucket) == before_keys
    after = world.upload_ok(world.investigator)
    assert world.image_count() == 2
    assert httpx.get(after["file_url"]).status_code == 200


def test_store_stopping_between_original_and_thumbnail(
    s3_world: World, moto: MotoServer, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = s3_world
    storage = world.storage
    real_put = storage.put

    def put_then_outage(key: str, data: bytes, content_type: str) -> None:
        real_put(key, data, content_type)
        moto.stop()

    monkeypatch.setattr(storage, "put", put_then_outage)
    response = world.upload(world.investigator)
    assert response.status_code == 503
    assert error_of(response)["code"] == "STORAGE_UNAVAILABLE"
    monkeypatch.undo()
    moto.start()
    assert world.image_count() == 0
    # The original could not be deleted while the store was down: it stays as a stray object
    # that no row points at (never the other way round).
    stray = moto.keys(bucket)
    assert len(stray) == 1
    assert stray[0].startswith("bs/images/")
    assert not stray[0].endswith(".thumb.jpg")
    # ... until the stray sweep removes it (today's folder: only when asked to include it)
    factory = world.app.state.runtime.session_factory
    with session_scope(factory) as db:
        assert service.remove_stray_objects(db) == 0
    with session_scope(factory) as db:
        assert service.remove_stray_objects(db, older_than_days=-1) == 1
    assert moto.keys(bucket) == []


@pytest.fixture
def fail_image_commit() -> Iterator[None]:
    def before_commit(session: Session) -> None:
        if any(isinstance(obj, Image) and obj.referenced_at is None for obj in session.identity_map.values()):
            raise OperationalError("COMMIT", {}, Exception("lost connection during commit"))

    event.listen(Session, "before_commit", before_commit)
    yield
    event.remove(Session, "before_commit", before_commit)


def test_database_failure_after_the_write_deletes_the_objects(
    s3_world: World, moto: MotoServer, bucket: str, fail_image_commit: None
) -> None:
    world = s3_world
    response = world.upload(world.investigator)
    assert response.status_code == 503
    assert error_of(response)["code"] == "DB_UNAVAILABLE"
    assert moto.keys(bucket) == []
    assert world.image_count() == 0


def test_missing_bucket_is_503(world: World, moto: MotoServer, bucket: str) -> None:
    moto.client().delete_bucket(Bucket=bucket)
    response = world.upload(world.investigator)
    assert response.status_code == 503
    assert error_of(response)["code"] == "STORAGE_UNAVAILABLE"
    assert world.image_count() == 0
