"""Checking uploaded photos by their content, reading their EXIF and making thumbnails.

What the bytes are decides, never the file name or the declared content type:

- JPEG, PNG, WebP and HEIC/HEIF that decode completely are accepted;
- a real image in another format (GIF, BMP, TIFF, ICO, AVIF, JPEG 2000, PSD) → 415
  ``UNSUPPORTED_MEDIA_TYPE`` (``details`` names ``file``);
- anything that is not an image at all (SVG, HTML, PDF, text — whatever it is named), an empty
  file, a truncated or corrupt image, and a decompression bomb (more pixels than
  ``max_pixels`` or than Pillow's own ``Image.MAX_IMAGE_PIXELS``) → 400 ``VALIDATION_ERROR``
  naming ``file``.

EXIF (``DateTimeOriginal`` + ``OffsetTimeOriginal``, GPS) is read from the file as uploaded,
before the image is decoded or converted; the stored original keeps its bytes unchanged. Width
and height are those of the upright picture (EXIF Orientation applied), like the thumbnail.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from PIL import ExifTags, Image

from beachsaver.core import errors
from beachsaver.core.time import SEOUL, utcnow

try:  # HEIC support (pillow-heif); without it HEIC uploads answer 415.
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a dependency
    pass

FIELD = "file"
THUMB_MAX_PX = 320
THUMB_QUALITY = 80
DEFAULT_MAX_PIXELS = 60_000_000

#: Pillow format → (content type, file extension).
ACCEPTED: dict[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
    "HEIF": ("image/heic", "heic"),
}
#: Raster formats recognised (header only, never decoded) to answer 415 instead of 400.
#: Deliberately short: only formats with a magic number, so that text is never taken for one.
RECOGNISED_OTHER = ("GIF", "BMP", "TIFF", "ICO", "AVIF", "JPEG2000", "PSD")

_EXIF_DATETIME = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")
_SEVEN_PLACES = Decimal("0.0000001")


@dataclass(frozen=True)
class ProcessedImage:
    format: str
    content_type: str
    extension: str
    width: int
    height: int
    taken_at: datetime | None
    gps_lat: Decimal | None
    gps_lng: Decimal | None
    thumbnail: bytes


def _bad(message: str) -> errors.ValidationFailed:
    return errors.ValidationFailed.field(FIELD, message)


def _unsupported(fmt: str) -> errors.UnsupportedMediaType:
    return errors.UnsupportedMediaType(
        details=[{"field": FIELD, "message": f"{fmt} images are not accepted (JPEG, PNG, WebP or HEIC)"}]
    )


def _identify_other(data: bytes) -> str | None:
    """The name of a recognised but unaccepted image format, or None (header parse only)."""
    Image.init()
    formats = [f for f in RECOGNISED_OTHER if f in Image.OPEN]
    try:
        with Image.open(io.BytesIO(data), formats=formats) as other:
            return str(other.format or "unknown")
    except Exception:
        return None


# ---- EXIF -------------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "ignore")
    if not isinstance(value, str):
        return None
    return value.strip().strip("\x00").strip() or None


def parse_exif_datetime(value: Any, offset: Any = None) -> datetime | None:
    """``2026:05:01 10:30:00`` (+ ``+09:00``; Asia/Seoul when absent) → aware UTC, or None when
    missing, malformed or implausible (before 1990 or more than a day in the future)."""
    raw = _text(value)
    if raw is None:
        return None
    match = _EXIF_DATETIME.match(raw)
    if not match:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        local = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    tz: Any = SEOUL
    offset_text = _text(offset)
    if offset_text:
        off = _EXIF_OFFSET.match(offset_text)
        if off:
            minutes = int(off.group(2)) * 60 + int(off.group(3))
            if minutes <= 14 * 60:
                tz = timezone((-1 if off.group(1) == "-" else 1) * timedelta(minutes=minutes))
    result = local.replace(tzinfo=tz).astimezone(UTC)
    if result.year < 1990 or result > utcnow() + timedelta(days=1):
        return None
    return result


def _degrees(value: Any) -> float | None:
    try:
        parts = [float(v) for v in (value if isinstance(value, (tuple, list)) else (value,))]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not parts or len(parts) > 3 or not all(math.isfinite(p) and p >= 0 for p in parts):
        return None
    total = 0.0
    for part, scale in zip(parts, (1.0, 60.0, 3600.0), strict=False):
        total += part / scale
    return total


def parse_exif_gps(gps: Any) -> tuple[Decimal | None, Decimal | None]:
    """GPS IFD → (lat, lng) rounded to 7 places; (None, None) when absent, invalid, out of
    range or exactly 0,0 (what devices write without a fix)."""
    if not gps:
        return None, None
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude))
    lng = _degrees(gps.get(ExifTags.GPS.GPSLongitude))
    if lat is None or lng is None:
        return None, None
    if (_text(gps.get(ExifTags.GPS.GPSLatitudeRef)) or "N").upper().startswith("S"):
        lat = -lat
    if (_text(gps.get(ExifTags.GPS.GPSLongitudeRef)) or "E").upper().startswith("W"):
        lng = -lng
    if not (-90 <= lat <= 90 and -180 <= lng <= 180) or (lat == 0 and lng == 0):
        return None, None
    return (
        Decimal(repr(lat)).quantize(_SEVEN_PLACES, rounding=ROUND_HALF_UP),
        Decimal(repr(lng)).quantize(_SEVEN_PLACES, rounding=ROUND_HALF_UP),
    )


def read_exif(image: Image.Image) -> tuple[datetime | None, Decimal | None, Decimal | None]:
    """(taken_at, gps_lat, gps_lng) from an opened, not yet decoded image."""
    try:
        exif = image.getexif()
    except Exception:
        return None, None, None
    taken_at: datetime | None = None
    lat: Decimal | None = None
    lng: Decimal | None = None
    try:
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        taken_at = parse_exif_datetime(
            sub.get(ExifTags.Base.DateTimeOriginal), sub.get(ExifTags.Base.OffsetTimeOriginal)
        )
    except Exception:
        taken_at = None
    try:
        lat, lng = parse_exif_gps(exif.get_ifd(ExifTags.IFD.GPSInfo))
    except Exception:
        lat, lng = None, None
    return taken_at, lat, lng


# ---- decoding and thumbnails ----------------------------------------------------------------


_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_SIDES = {
    Image.Transpose.TRANSPOSE,
    Image.Transpose.ROTATE_270,
    Image.Transpose.TRANSVERSE,
    Image.Transpose.ROTATE_90,
}


def _orientation(image: Image.Image) -> Image.Transpose | None:
    """The transposition that turns the image upright (EXIF Orientation; a broken tag → none)."""
    try:
        value = image.getexif().get(ExifTags.Base.Orientation)
    except Exception:
        return None
    return _ORIENTATION.get(value) if isinstance(value, int) else None


def _thumbnail(image: Image.Image) -> tuple[bytes, tuple[int, int]]:
    """A JPEG of at most 320 px a side, upright, transparency on white; also the upright size of
    the image. Scales before turning so that a large photo is never copied at full size twice."""
    method = _orientation(image)
    width, height = image.size
    upright = (height, width) if method in _SWAPS_SIDES else (width, height)
    working = image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        working = Image.new("RGB", rgba.size, (255, 255, 255))
        working.paste(rgba, mask=rgba.getchannel("A"))
    elif image.mode != "RGB":
        working = image.convert("RGB")
    working.thumbnail((THUMB_MAX_PX, THUMB_MAX_PX), Image.Resampling.LANCZOS)
    if method is not None:
        working = working.transpose(method)
    out = io.BytesIO()
    working.save(out, format="JPEG", quality=THUMB_QUALITY, optimize=True)
    return out.getvalue(), upright


def process(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ProcessedImage:
    """Check ``data`` by decoding it, read its EXIF and build its thumbnail (see module doc)."""
    if not data:
        raise _bad("The file is empty.")
    limit = max_pixels
    if Image.MAX_IMAGE_PIXELS:
        limit = min(limit, int(Image.MAX_IMAGE_PIXELS))
    try:
        image = Image.open(io.BytesIO(data), formats=list(ACCEPTED))
    except Image.DecompressionBombError:
        raise _bad(f"The image has too many pixels (at most {limit:,}).") from None
    except Exception:
        other = _identify_other(data)
        if other is not None:
            raise _unsupported(other) from None
        raise _bad("The file is not a JPEG, PNG, WebP or HEIC image.") from None
    with image:
        fmt = str(image.format)
        if fmt not in ACCEPTED:  # pragma: no cover - Image.open(formats=...) guarantees it
            raise _unsupported(fmt)
        width, height = image.size
        if width <= 0 or height <= 0:
            raise _bad("The image has no pixels.")
        if width * height > limit:
            raise _bad(f"The image has too many pixels ({width}×{height}; at most {limit:,}).")
        # EXIF first, from the file as uploaded.
        taken_at, gps_lat, gps_lng = read_exif(image)
        try:
            image.load()
            if fmt == "PNG":  # every chunk's CRC (load() skips those of the image data)
                with Image.open(io.BytesIO(data), formats=["PNG"]) as again:
                    again.verify()
            thumbnail, (width, height) = _thumbnail(image)
        except Image.DecompressionBombError:
            raise _bad(f"The image has too many pixels (at most {limit:,}).") from None
        except MemoryError:
            raise _bad("The image is too large to decode.") from None
        except Exception:
            raise _bad("The image is truncated or corrupt.") from None
    content_type, extension = ACCEPTED[fmt]
    return ProcessedImage(
        format=fmt,
        content_type=content_type,
        extension=extension,
        width=width,
        height=height,
        taken_at=taken_at,
        gps_lat=gps_lat,
        gps_lng=gps_lng,
        thumbnail=thumbnail,
    )
