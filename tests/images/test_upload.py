"""POST /api/images on the local backend: accepted formats, EXIF, thumbnails, bad input."""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any

import pytest
from PIL import Image as PILImage
from sqlalchemy import select

from beachsaver.audit.models import AuditEntry
from tests.images import imagegen
from tests.images.conftest import World, error_of, fields_of

KEY = re.compile(r"^images/\d{4}/\d{2}/\d{2}/[0-9a-f]{32}\.(jpg|png|webp|heic)$")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"max_upload_mb": 1}


def assert_nothing_stored(world: World) -> None:
    assert world.image_count() == 0
    assert world.image_keys() == []


def test_jpeg_with_exif_time_offset_and_gps(world: World) -> None:
    exif = imagegen.make_exif(taken="2025:05:01 10:30:00", offset="+09:00", lat=35.1587123, lng=129.1603987)
    data = imagegen.jpeg(size=(640, 480), exif=exif)
    response = world.upload(world.investigator, data, type="investigation_main", filename="x.png")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["success"] is True
    assert body["error"] is None
    image = body["data"]
    assert image["type"] == "INVESTIGATION_MAIN"
    assert image["content_type"] == "image/jpeg"
    assert (image["width"], image["height"]) == (640, 480)
    assert image["bytes"] == len(data)
    assert image["sha256"] == hashlib.sha256(data).hexdigest()
    assert image["taken_at"] == "2025-05-01T01:30:00Z"
    assert image["gps_lat"] == pytest.approx(35.1587123, abs=1e-6)
    assert image["gps_lng"] == pytest.approx(129.1603987, abs=1e-6)
    assert image["uploaded_by"] == world.investigator.id
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", image["created_at"])
    assert image["file_url"].startswith(f"/api/images/{image['id']}/content?exp=")
    assert image["thumb_url"].startswith(f"/api/images/{image['id']}/content?size=thumb&exp=")

    row = world.row(image["id"])
    assert row.org_id == world.d1.id
    assert row.referenced_at is None
    assert KEY.match(row.storage_key)
    assert row.storage_key.endswith(".jpg")
    assert row.thumb_key == row.storage_key[: -len(".jpg")] + ".thumb.jpg"
    assert world.storage.get(row.storage_key) == data  # the original, byte for byte (EXIF kept)
    thumb = PILImage.open(io.BytesIO(world.storage.get(row.thumb_key)))
    assert thumb.format == "JPEG"
    assert thumb.size == (320, 240)
    assert world.image_keys() == sorted([row.storage_key, row.thumb_key])

    entry = world.db.execute(select(AuditEntry).where(AuditEntry.action == "IMAGE_CREATE")).scalar_one()
    assert entry.actor_id == world.investigator.id
    assert entry.target_type == "IMAGE"
    assert entry.target_id == image["id"]
    assert entry.org_id == world.d1.id


def test_exif_time_without_offset_is_seoul_time(world: World) -> None:
    exif = imagegen.make_exif(taken="2025:01:31 23:59:30", lat=-33.8688, lng=-151.2093)
    response = world.upload(world.cleaner, imagegen.jpeg(exif=exif), type="CLEANING_BEFORE_AREA")
    assert response.status_code == 201, response.text
    image = response.json()["data"]
    assert image["taken_at"] == "2025-01-31T14:59:30Z"
    assert image["gps_lat"] == pytest.approx(-33.8688, abs=1e-6)
    assert image["gps_lng"] == pytest.approx(-151.2093, abs=1e-6)


def test_other_offsets_are_honoured(world: World) -> None:
    exif = imagegen.make_exif(taken="2025:03:10 08:00:00", offset="-05:00")
    response = world.upload(world.cleaner, imagegen.jpeg(exif=exif))
    assert response.status_code == 201, response.text
    assert response.json()["data"]["taken_at"] == "2025-03-10T13:00:00Z"


@pytest.mark.parametrize(
    ("taken", "offset"),
    [("0000:00:00 00:00:00", None), ("garbage", None), ("2025:13:45 10:00:00", None), ("2999:01:01 00:00:00", None)],
)
def test_unusable_exif_time_is_left_empty(world: World, taken: str, offset: str | None) -> None:
    response = world.upload(world.cleaner, imagegen.jpeg(exif=imagegen.make_exif(taken=taken, offset=offset)))
    assert response.status_code == 201, response.text
    assert response.json()["data"]["taken_at"] is None


def test_no_exif_gives_nulls(world: World) -> None:
    response = world.upload(world.collector, imagegen.jpeg(), type="collection_depot")
    assert response.status_code == 201, response.text
    image = response.json()["data"]
    assert image["type"] == "COLLECTION_DEPOT"
    assert image["taken_at"] is None
    assert image["gps_lat"] is None
    assert image["gps_lng"] is None


def test_gps_at_zero_zero_is_treated_as_missing(world: World) -> None:
    response = world.upload(world.cleaner, imagegen.jpeg(exif=imagegen.make_exif(lat=0.0, lng=0.0)))
    assert response.status_code == 201
    assert response.json()["data"]["gps_lat"] is None


def test_orientation_gives_upright_size_and_thumbnail(world: World) -> None:
    data = imagegen.jpeg(size=(640, 480), exif=imagegen.make_exif(orientation=6))
    response = world.upload(world.investigator, data)
    assert response.status_code == 201
    image = response.json()["data"]
    assert (image["width"], image["height"]) == (480, 640)
    row = world.row(image["id"])
    assert row.thumb_key
    assert PILImage.open(io.BytesIO(world.storage.get(row.thumb_key))).size == (240, 320)


@pytest.mark.parametrize(
    ("fmt", "content_type", "extension"),
    [("PNG", "image/png", "png"), ("WEBP", "image/webp", "webp"), ("HEIF", "image/heic", "heic")],
)
def test_png_webp_heic_are_accepted_with_exif(world: World, fmt: str, content_type: str, extension: str) -> None:
    exif = imagegen.make_exif(taken="2025:05:01 10:30:00", offset="+09:00", lat=35.1, lng=129.0)
    data = imagegen.encode(fmt, size=(400, 300), exif=exif)
    response = world.upload(world.investigator, data, type="Cleaning_After_Area", content_type="application/x-foo")
    assert response.status_code == 201, response.text
    image = response.json()["data"]
    assert image["content_type"] == content_type
    assert (image["width"], image["height"]) == (400, 300)
    assert image["taken_at"] == "2025-05-01T01:30:00Z"
    assert image["gps_lat"] == pytest.approx(35.1)
    assert image["gps_lng"] == pytest.approx(129.0)
    row = world.row(image["id"])
    assert row.thumb_key
    assert row.storage_key.endswith(f".{extension}")
    assert world.storage.get(row.storage_key) == data
    thumb = PILImage.open(io.BytesIO(world.storage.get(row.thumb_key)))
    assert (thumb.format, thumb.size) == ("JPEG", (320, 240))


def test_transparent_png_thumbnail_is_flattened(world: World) -> None:
    image = PILImage.new("RGBA", (50, 50), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    response = world.upload(world.investigator, out.getvalue())
    assert response.status_code == 201, response.text
    row = world.row(response.json()["data"]["id"])
    assert row.thumb_key
    thumb = PILImage.open(io.BytesIO(world.storage.get(row.thumb_key)))
    assert thumb.mode == "RGB"
    assert thumb.getpixel((25, 25)) == pytest.approx((255, 255, 255), abs=2)


@pytest.mark.parametrize(
    "image_type",
    [
        "INVESTIGATION_MAIN",
        "INVESTIGATION_AREA",
        "CLEANING_BEFORE_AREA",
        "CLEANING_AFTER_AREA",
        "COLLECTION_DEPOT",
        "COLLECTION_COMPLETED",
    ],
)
def test_every_type_is_accepted(world: World, image_type: str) -> None:
    response = world.upload(world.d1_admin, type=image_type.lower())
    assert response.status_code == 201, response.text
    assert response.json()["data"]["type"] == image_type


def test_admins_and_every_worker_role_may_upload(world: World) -> None:
    for user in (world.investigator, world.cleaner, world.collector, world.d1_admin, world.city_admin, world.platform):
        response = world.upload(user)
        assert response.status_code == 201, (user.role, response.text)
    assert world.image_count() == 6


def test_pending_citizen_gets_403(world: World) -> None:
    response = world.upload(world.pending)
    assert response.status_code == 403
    assert error_of(response)["code"] == "FORBIDDEN"
    assert_nothing_stored(world)


def test_no_token_gets_401(world: World) -> None:
    response = world.client.post(
        "/api/images", files={"file": ("a.jpg", imagegen.jpeg(), "image/jpeg")}, data={"type": "INVESTIGATION_MAIN"}
    )
    assert response.status_code == 401
    assert error_of(response)["code"] == "UNAUTHENTICATED"
    assert_nothing_stored(world)


# ---- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "payload", "filename", "declared"),
    [
        ("svg named .jpg", imagegen.SVG, "photo.jpg", "image/jpeg"),
        ("svg as svg", imagegen.SVG, "photo.svg", "image/svg+xml"),
        ("html named .jpg", imagegen.HTML, "photo.jpg", "image/jpeg"),
        ("text", b"just some text", "photo.jpg", "image/jpeg"),
        ("pdf", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "photo.jpg", "image/jpeg"),
        ("empty", b"", "photo.jpg", "image/jpeg"),
        ("jpeg header only", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "photo.jpg", "image/jpeg"),
    ],
)
def test_not_an_image_is_400_naming_file(world: World, name: str, payload: bytes, filename: str, declared: str) -> None:
    response = world.upload(world.investigator, payload, filename=filename, content_type=declared)
    assert response.status_code == 400, name
    assert error_of(response)["code"] == "VALIDATION_ERROR"
    assert fields_of(response) == ["file"]
    assert_nothing_stored(world)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_truncated_images_are_400_naming_file(world: World, fmt: str) -> None:
    data = imagegen.encode(fmt, size=(320, 240))
    for cut in (len(data) // 2, len(data) - 64):
        response = world.upload(world.investigator, data[:cut])
        assert response.status_code == 400, (fmt, cut)
        assert error_of(response)["code"] == "VALIDATION_ERROR"
        assert fields_of(response) == ["file"]
    assert_nothing_stored(world)


def test_corrupted_image_data_is_400(world: World) -> None:
    data = bytearray(imagegen.encode("PNG", size=(64, 64)))
    middle = len(data) // 2
    data[middle : middle + 16] = b"\x00" * 16  # breaks the IDAT checksum
    response = world.upload(world.investigator, bytes(data))
    assert response.status_code == 400
    assert fields_of(response) == ["file"]


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (20_000, 20_000), (8_000, 8_000)])
def test_decompression_bombs_are_400_naming_file(world: World, width: int, height: int) -> None:
    data = imagegen.png_bomb(width, height)
    assert len(data) < 10_000
    response = world.upload(world.investigator, data, filename="bomb.png", content_type="image/png")
    assert response.status_code == 400
    assert error_of(response)["code"] == "VALIDATION_ERROR"
    assert fields_of(response) == ["file"]
    assert_nothing_stored(world)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF", "AVIF"])
def test_other_image_formats_are_415(world: World, fmt: str) -> None:
    response = world.upload(world.investigator, imagegen.encode(fmt, size=(32, 32)), filename="photo.jpg")
    assert response.status_code == 415
    assert error_of(response)["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert fields_of(response) == ["file"]
    assert_nothing_stored(world)


def test_file_over_the_limit_is_413(world: World) -> None:
    # max_upload_mb = 1 in this module: one byte over the limit, inside the multipart allowance.
    data = imagegen.jpeg(size=(64, 48))
    data = data + b"\x00" * (1024 * 1024 + 1 - len(data))
    response = world.upload(world.investigator, data)
    assert response.status_code == 413
    assert error_of(response)["code"] == "PAYLOAD_TOO_LARGE"
    assert_nothing_stored(world)


def test_body_far_over_the_limit_is_413(world: World) -> None:
    response = world.upload(world.investigator, b"\xff" * (3 * 1024 * 1024))
    assert response.status_code == 413
    assert error_of(response)["code"] == "PAYLOAD_TOO_LARGE"
    assert_nothing_stored(world)


def test_file_at_the_limit_is_accepted(world: World) -> None:
    data = imagegen.jpeg(size=(64, 48))
    data = data + b"\x00" * (1024 * 1024 - len(data))  # trailing bytes after EOI are tolerated
    response = world.upload(world.investigator, data)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["bytes"] == 1024 * 1024


@pytest.mark.parametrize("image_type", ["", "SELFIE", "investigation main", "1"])
def test_bad_type_is_400_naming_type(world: World, image_type: str) -> None:
    response = world.upload(world.investigator, type=image_type)
    assert response.status_code == 400
    assert error_of(response)["code"] == "VALIDATION_ERROR"
    assert fields_of(response) == ["type"]
    assert_nothing_stored(world)


def test_missing_parts_are_400_naming_them(world: World) -> None:
    headers = world.headers(world.investigator)
    only_type = world.client.post(
        "/api/images", headers=headers, data={"type": "INVESTIGATION_MAIN"}, files={"other": ("x", b"y", "text/plain")}
    )
    assert only_type.status_code == 400
    assert fields_of(only_type) == ["file"]
    only_file = world.client.post("/api/images", headers=headers, files={"file": ("a.jpg", imagegen.jpeg())})
    assert only_file.status_code == 400
    assert fields_of(only_file) == ["type"]
    as_text = world.client.post(
        "/api/images", headers=headers, data={"type": "INVESTIGATION_MAIN", "file": "not a file"}
    )
    assert as_text.status_code == 400
    assert "file" in fields_of(as_text)
    assert_nothing_stored(world)


def test_json_body_is_415(world: World) -> None:
    response = world.client.post(
        "/api/images", headers=world.headers(world.investigator), json={"type": "INVESTIGATION_MAIN"}
    )
    assert response.status_code == 415
    assert error_of(response)["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_pixel_limit_comes_from_config(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # BEACHSAVER_MAX_IMAGE_MEGAPIXELS=1 (set on the settings object the app runs with)
    monkeypatch.setitem(world.app.state.settings.__dict__, "max_image_megapixels", 1)
    response = world.upload(world.investigator, imagegen.png_bomb(1001, 1000))
    assert response.status_code == 400
    assert fields_of(response) == ["file"]
    flat = io.BytesIO()
    PILImage.new("RGB", (1000, 1000), (10, 120, 200)).save(flat, format="PNG")
    accepted = world.upload(world.investigator, flat.getvalue())
    assert accepted.status_code == 201, accepted.text
