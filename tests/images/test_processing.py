"""images.processing on its own: modes, orientations, EXIF parsing edge cases."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from PIL import ExifTags
from PIL import Image as PILImage

from beachsaver.core import errors
from beachsaver.images import processing
from tests.images import imagegen


def thumb_of(result: processing.ProcessedImage) -> PILImage.Image:
    thumb = PILImage.open(io.BytesIO(result.thumbnail))
    assert thumb.format == "JPEG"
    assert thumb.mode == "RGB"
    return thumb


@pytest.mark.parametrize(
    ("orientation", "upright"),
    [
        *[(value, (400, 200)) for value in (1, 2, 3, 4)],
        *[(value, (200, 400)) for value in (5, 6, 7, 8)],
        (0, (400, 200)),
        (99, (400, 200)),
    ],
)
def test_every_orientation(orientation: int, upright: tuple[int, int]) -> None:
    data = imagegen.jpeg(size=(400, 200), exif=imagegen.make_exif(orientation=orientation))
    result = processing.process(data)
    assert (result.width, result.height) == upright
    assert thumb_of(result).size == ((320, 160) if upright[0] > upright[1] else (160, 320))


def test_orientation_turns_the_thumbnail_the_right_way() -> None:
    image = PILImage.new("RGB", (400, 200), (255, 255, 255))
    image.paste((255, 0, 0), (0, 0, 100, 200))  # red on the left as stored
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=imagegen.make_exif(orientation=6), quality=95)
    thumb = thumb_of(processing.process(out.getvalue()))
    assert thumb.size == (160, 320)
    red, green, blue = thumb.getpixel((80, 20))  # type: ignore[misc]  # rotated 90° clockwise: on top
    assert red > 200 and green < 60 and blue < 60
    assert thumb.getpixel((80, 300))[1] > 200  # type: ignore[index]


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("L", "JPEG"), ("CMYK", "JPEG"), ("P", "PNG"), ("LA", "PNG"), ("I;16", "PNG"), ("1", "PNG"), ("RGBA", "WEBP")],
)
def test_colour_modes(mode: str, fmt: str) -> None:
    image = PILImage.new(mode, (500, 250))
    out = io.BytesIO()
    image.save(out, format=fmt)
    result = processing.process(out.getvalue())
    assert (result.width, result.height) == (500, 250)
    assert thumb_of(result).size == (320, 160)


def test_small_images_are_not_enlarged() -> None:
    result = processing.process(imagegen.encode("PNG", size=(40, 30)))
    assert thumb_of(result).size == (40, 30)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
@pytest.mark.parametrize(
    "raw",
    [
        b"Exif\x00\x00not a tiff header at all",
        b"Exif\x00\x00II*\x00\xff\xff\xff\x7f",
        b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00",
    ],
)
def test_broken_exif_does_not_reject_the_photo(raw: bytes) -> None:
    out = io.BytesIO()
    imagegen.picture((64, 48)).save(out, format="JPEG", exif=raw)
    result = processing.process(out.getvalue())
    assert (result.width, result.height) == (64, 48)
    assert (result.taken_at, result.gps_lat, result.gps_lng) == (None, None, None)


@pytest.mark.parametrize(
    ("value", "offset", "expected"),
    [
        ("2025:05:01 10:30:00", None, datetime(2025, 5, 1, 1, 30, tzinfo=UTC)),
        ("2025:05:01 10:30:00", "+09:00", datetime(2025, 5, 1, 1, 30, tzinfo=UTC)),
        ("2025:05:01 10:30:00", "+00:00", datetime(2025, 5, 1, 10, 30, tzinfo=UTC)),
        ("2025:05:01 10:30:00", "-0330", datetime(2025, 5, 1, 14, 0, tzinfo=UTC)),
        ("2025:05:01 10:30:00", "garbage", datetime(2025, 5, 1, 1, 30, tzinfo=UTC)),
        ("2025:05:01 10:30:00", "+25:00", datetime(2025, 5, 1, 1, 30, tzinfo=UTC)),
        (b"2025:05:01 10:30:00\x00", None, datetime(2025, 5, 1, 1, 30, tzinfo=UTC)),
        ("2025-05-01T10:30:00", None, None),
        ("    :  :     :  :  ", None, None),
        ("1989:12:31 23:00:00", "+00:00", None),
        ("2025:02:30 10:00:00", None, None),
        (None, None, None),
        (12345, None, None),
    ],
)
def test_exif_datetime(value: object, offset: object, expected: datetime | None) -> None:
    assert processing.parse_exif_datetime(value, offset) == expected


def test_exif_gps_edge_cases() -> None:
    gps = ExifTags.GPS
    assert processing.parse_exif_gps({}) == (None, None)
    assert processing.parse_exif_gps(None) == (None, None)
    good = {gps.GPSLatitudeRef: "N", gps.GPSLatitude: (35.0, 9.0, 31.2), gps.GPSLongitudeRef: "E"}
    assert processing.parse_exif_gps(good) == (None, None)  # longitude missing
    good[gps.GPSLongitude] = (129.0, 9.0, 36.0)
    assert processing.parse_exif_gps(good) == (Decimal("35.1586667"), Decimal("129.1600000"))
    decimal_degrees = {gps.GPSLatitude: (35.5,), gps.GPSLongitude: (129.25,), gps.GPSLongitudeRef: b"W"}
    assert processing.parse_exif_gps(decimal_degrees) == (Decimal("35.5000000"), Decimal("-129.2500000"))
    out_of_range = {gps.GPSLatitude: (95.0, 0.0, 0.0), gps.GPSLongitude: (129.0, 0.0, 0.0)}
    assert processing.parse_exif_gps(out_of_range) == (None, None)
    not_numbers = {gps.GPSLatitude: ("a", "b", "c"), gps.GPSLongitude: (129.0, 0.0, 0.0)}
    assert processing.parse_exif_gps(not_numbers) == (None, None)
    nan = {gps.GPSLatitude: (float("nan"), 0.0, 0.0), gps.GPSLongitude: (129.0, 0.0, 0.0)}
    assert processing.parse_exif_gps(nan) == (None, None)
    negative = {gps.GPSLatitude: (-35.0, 0.0, 0.0), gps.GPSLongitude: (129.0, 0.0, 0.0)}
    assert processing.parse_exif_gps(negative) == (None, None)


def test_errors_name_the_file_field() -> None:
    with pytest.raises(errors.ValidationFailed) as bad:
        processing.process(imagegen.SVG)
    assert bad.value.details == [{"field": "file", "message": "The file is not a JPEG, PNG, WebP or HEIC image."}]
    with pytest.raises(errors.UnsupportedMediaType) as other:
        processing.process(imagegen.encode("GIF", size=(8, 8)))
    assert other.value.details is not None
    assert other.value.details[0]["field"] == "file"
