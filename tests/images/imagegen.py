"""Images made on the fly with Pillow (and pillow-heif): good ones with EXIF, and bad ones."""

from __future__ import annotations

import io
import random
import struct
import zlib
from fractions import Fraction

import pillow_heif
from PIL import ExifTags, Image

pillow_heif.register_heif_opener()


def _rational(value: float) -> Fraction:
    return Fraction(value).limit_denominator(1_000_000)


def dms(value: float) -> tuple[Fraction, Fraction, Fraction]:
    """Decimal degrees → (degrees, minutes, seconds) rationals as cameras write them."""
    value = abs(value)
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    seconds = (minutes_full - minutes) * 60
    return (_rational(degrees), _rational(minutes), _rational(round(seconds, 4)))


def make_exif(
    *,
    taken: str | None = None,
    offset: str | None = None,
    lat: float | None = None,
    lng: float | None = None,
    orientation: int | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    # A base-IFD tag as every camera writes (an Exif with only sub-IFDs is falsy: PNG drops it).
    exif[ExifTags.Base.Make] = "BeachSaverTest"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    if taken is not None or offset is not None:
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        if taken is not None:
            sub[ExifTags.Base.DateTimeOriginal] = taken
        if offset is not None:
            sub[ExifTags.Base.OffsetTimeOriginal] = offset
    if lat is not None and lng is not None:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
        gps[ExifTags.GPS.GPSLatitude] = dms(lat)
        gps[ExifTags.GPS.GPSLongitudeRef] = "E" if lng >= 0 else "W"
        gps[ExifTags.GPS.GPSLongitude] = dms(lng)
    return exif


def picture(size: tuple[int, int] = (640, 480), *, mode: str = "RGB", seed: int = 1) -> Image.Image:
    """A noisy picture (noise keeps encoders from producing tiny files)."""
    rng = random.Random(seed)
    image = Image.new("RGB", size)
    image.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(size[0] * size[1])])
    return image.convert(mode) if mode != "RGB" else image


def encode(fmt: str, *, size: tuple[int, int] = (640, 480), exif: Image.Exif | None = None, mode: str = "RGB") -> bytes:
    """``fmt``: JPEG, PNG, WEBP, HEIF, GIF, BMP, TIFF, AVIF."""
    image = picture(size, mode=mode)
    out = io.BytesIO()
    kwargs: dict[str, object] = {}
    if exif is not None:
        kwargs["exif"] = exif
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def jpeg(**kwargs: object) -> bytes:
    return encode("JPEG", **kwargs)  # type: ignore[arg-type]


def png_bomb(width: int, height: int) -> bytes:
    """A valid-looking 1-bit PNG of ``width``×``height`` whose few bytes inflate enormously."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b""
    # Only the first rows are really there; what matters is the header and the ratio.
    for _ in range(min(height, 64)):
        body += compressor.compress(row)
    body += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


SVG = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script><rect width='10' height='10'/></svg>"
)
HTML = b"<!DOCTYPE html><html><head><title>x</title></head><body><script>alert(1)</script></body></html>"
