"""`/api/images` (02-api §7): upload, metadata, and the bytes (or a redirect on S3)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from beachsaver.core import errors
from beachsaver.core.deps import CurrentUser, DbSession, get_principal
from beachsaver.core.envelope import Envelope, ok
from beachsaver.core.http import ApiRoute
from beachsaver.core.runtime import settings_of
from beachsaver.images import service
from beachsaver.images.models import Image
from beachsaver.images.schemas import MAX_ID, ImageOut, ImageType

router = APIRouter(prefix="/api/images", tags=["images"], route_class=ApiRoute)

ImageId = Annotated[int, Path(gt=0, le=MAX_ID)]

UPLOAD_DESCRIPTION = """Multipart form: `file` (the photo) and `type` (the slot it is for; any letter case).

The content decides, never the name or declared type: JPEG, PNG, WebP and HEIC that decode
completely are accepted. Another image format (GIF, BMP, TIFF, AVIF, …) → 415
`UNSUPPORTED_MEDIA_TYPE`; anything that is not an image (SVG, HTML, text, PDF, whatever its name),
an empty, truncated or corrupt file, or more pixels than the limit (decompression bombs) → 400
`VALIDATION_ERROR` naming `file`; larger than `BEACHSAVER_MAX_UPLOAD_MB` → 413. EXIF time and GPS
are read into `taken_at`, `gps_lat`, `gps_lng`. Object store down → 503 `STORAGE_UNAVAILABLE` and
nothing is recorded."""

CONTENT_DESCRIPTION = """The bytes of the image (`size=thumb`: the JPEG thumbnail, ≤ 320 px).

Signed in (bearer token): the uploader and admins whose scope holds the image's organisation.
With `exp` and `sig` from `file_url`/`thumb_url`: no token needed until `exp`; a wrong or expired
signature without a token → 401. On S3 storage the answer is a 307 redirect to a presigned URL."""


@router.post(
    "",
    status_code=201,
    response_model=Envelope[ImageOut],
    summary="Upload a photo",
    description=UPLOAD_DESCRIPTION,
)
def upload_image(
    db: DbSession,
    principal: CurrentUser,
    file: UploadFile = File(..., description="JPEG, PNG, WebP or HEIC"),
    image_type: ImageType = Form(..., alias="type"),
) -> dict[str, Any]:
    limit = settings_of(db).max_upload_mb * service.MB
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise errors.PayloadTooLarge()
    image = service.upload(db, principal, data=data, image_type=image_type)
    return ok(service.present(db, image))


@router.get("/{image_id}", response_model=Envelope[ImageOut], summary="Image metadata")
def get_image(image_id: ImageId, db: DbSession, principal: CurrentUser) -> dict[str, Any]:
    return ok(service.present(db, service.get_readable(db, principal, image_id)))


@router.get(
    "/{image_id}/content",
    response_class=Response,
    summary="Image bytes",
    description=CONTENT_DESCRIPTION,
    responses={
        200: {
            "description": "the image bytes",
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in service.CONTENT_TYPES},
        },
        307: {"description": "redirect to a presigned URL of the object store (S3)"},
    },
)
def get_image_content(
    request: Request,
    image_id: ImageId,
    db: DbSession,
    size: Annotated[str | None, Query(pattern=r"(?i)^(thumb|original)$", description="thumb or original")] = None,
    exp: Annotated[int | None, Query(ge=0, le=2**40, description="expiry of a signed URL (Unix s)")] = None,
    sig: Annotated[str | None, Query(max_length=128, description="signature of a signed URL")] = None,
) -> Response:
    variant = service.THUMB if size and size.lower() == service.THUMB else service.ORIGINAL
    image: Image | None = None
    if exp is not None or sig is not None:
        if service.verify_content_signature(settings_of(db), image_id, variant, exp, sig):
            image = db.get(Image, image_id)
            if image is None:
                raise errors.NotFound()
        elif not request.headers.get("authorization") and not request.cookies.get("bs_access"):
            raise errors.Unauthenticated("invalid_token")
    if image is None:
        principal = get_principal(request, db)
        image = service.get_readable(db, principal, image_id)
    found = service.content(db, image, variant)
    if found.redirect_url:
        return RedirectResponse(found.redirect_url, status_code=307, headers={"Cache-Control": "no-store"})
    return Response(
        content=found.data,
        media_type=found.content_type,
        headers={
            "Cache-Control": f"private, max-age={service.SIGNED_URL_TTL_S}",
            "Content-Disposition": f'inline; filename="image-{image.id}{"-thumb" if variant == service.THUMB else ""}"',
        },
    )
