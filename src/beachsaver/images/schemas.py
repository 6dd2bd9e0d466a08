"""Wire shapes of `/api/images` (02-api §7)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from beachsaver.core.enums import CIEnum
from beachsaver.core.envelope import Schema, UtcDateTime

#: Largest id the databases store (signed 64-bit); larger numbers are a 400, never a driver error.
MAX_ID = 2**63 - 1

ImageIdValue = Annotated[int, Field(gt=0, le=MAX_ID)]


class ImageType(CIEnum):
    """The slot a photo is taken for; reports and depots check it when they attach the image."""

    INVESTIGATION_MAIN = "INVESTIGATION_MAIN"
    INVESTIGATION_AREA = "INVESTIGATION_AREA"
    CLEANING_BEFORE_AREA = "CLEANING_BEFORE_AREA"
    CLEANING_AFTER_AREA = "CLEANING_AFTER_AREA"
    COLLECTION_DEPOT = "COLLECTION_DEPOT"
    COLLECTION_COMPLETED = "COLLECTION_COMPLETED"


class ImageOut(Schema):
    id: int
    type: ImageType
    file_url: str = Field(description="signed URL of the original, valid 10 minutes")
    thumb_url: str = Field(description="signed URL of the JPEG thumbnail (≤ 320 px), valid 10 minutes")
    url_expires_at: UtcDateTime = Field(description="when file_url and thumb_url stop working")
    content_type: str = Field(description="image/jpeg, image/png, image/webp or image/heic (from the content)")
    width: int = Field(description="pixels, upright (EXIF orientation applied)")
    height: int = Field(description="pixels, upright (EXIF orientation applied)")
    bytes: int
    sha256: str
    taken_at: UtcDateTime | None = Field(None, description="EXIF DateTimeOriginal (Asia/Seoul when no offset)")
    gps_lat: float | None = Field(None, description="EXIF GPS latitude, 7 places")
    gps_lng: float | None = Field(None, description="EXIF GPS longitude, 7 places")
    uploaded_by: int
    created_at: UtcDateTime
