"""Images: upload checks, storage, reading rules, signed URLs, the orphan clean-up, and the rules
for attaching them to reports and depots.

Consistency with the object store: the bytes are written first and the row second. When the
write fails nothing reaches the database (503 ``STORAGE_UNAVAILABLE``); when the database part
fails (the flush here, or the commit at the request boundary) the written objects are deleted
again, so no row ever points at a missing object. Objects of removed rows are deleted only
after the removal has committed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, event, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from beachsaver.audit import service as audit
from beachsaver.config import Settings
from beachsaver.core import errors
from beachsaver.core.db import after_commit, rows_affected
from beachsaver.core.deps import Principal
from beachsaver.core.runtime import settings_of
from beachsaver.core.time import utcnow
from beachsaver.images import processing
from beachsaver.images.models import Image
from beachsaver.images.schemas import ImageType
from beachsaver.storage import Storage, get_storage

log = logging.getLogger("beachsaver.images")

MB = 1024 * 1024
#: Lifetime of file_url / thumb_url (07 §8: signed URLs valid 10 minutes).
SIGNED_URL_TTL_S = 600
ORIGINAL = "original"
THUMB = "thumb"
VARIANTS = (ORIGINAL, THUMB)
THUMB_CONTENT_TYPE = "image/jpeg"
CONTENT_TYPES = sorted({content_type for content_type, _ext in processing.ACCEPTED.values()})
ORPHAN_BATCH = 500
#: ``images/YYYY/MM/DD/<32 hex>.<ext>`` and ``….thumb.jpg``: the keys uploads write.
UPLOAD_KEY = re.compile(r"^images/(\d{4})/(\d{2})/(\d{2})/([0-9a-f]{32})\.(jpg|png|webp|heic|thumb\.jpg)$")


def storage_for(db: Session) -> Storage:
    return get_storage(settings_of(db))


def max_pixels(settings: Settings) -> int:
    """Pixel limit of an upload: ``BEACHSAVER_MAX_IMAGE_MEGAPIXELS`` (default 60) million."""
    megapixels = getattr(settings, "max_image_megapixels", None) or processing.DEFAULT_MAX_PIXELS // 1_000_000
    return int(megapixels) * 1_000_000


# ---- upload -----------------------------------------------------------------------------------


def _discard(storage: Storage, keys: Iterable[str]) -> None:
    """Best-effort delete (the store may be the thing that failed)."""
    for key in keys:
        try:
            storage.delete(key)
        except Exception as exc:
            log.warning("could not delete stored object %s: %s", key, type(exc).__name__)


@dataclass
class _WrittenObjects:
    storage: Storage
    keys: list[str]
    settled: bool = False

    def discard(self) -> None:
        if not self.settled:
            self.settled = True
            _discard(self.storage, self.keys)


def _discard_unless_committed(db: Session, image: Image, written: _WrittenObjects) -> None:
    """When the transaction that inserted ``image`` ends without it (rolled back, closed without
    commit, or its savepoint undone), delete the objects written for it."""
    root: SessionTransaction | None = db.get_transaction()

    def on_end(session: Session, transaction: SessionTransaction) -> None:
        if written.settled or transaction is not root:
            return
        if sa_inspect(image).persistent:
            written.settled = True  # committed: the row and its objects stay
            return
        written.discard()

    event.listen(db, "after_transaction_end", on_end)


def upload(db: Session, principal: Principal, *, data: bytes, image_type: ImageType) -> Image:
    """Check, store and register one photo (02-api §7); the caller's boundary commits."""
    settings = settings_of(db)
    if len(data) > settings.max_upload_mb * MB:
        raise errors.PayloadTooLarge()
    checked = processing.process(data, max_pixels=max_pixels(settings))
    now = utcnow()
    stem = f"images/{now:%Y/%m/%d}/{uuid.uuid4().hex}"
    key = f"{stem}.{checked.extension}"
    thumb_key = f"{stem}.thumb.jpg"
    storage = get_storage(settings)
    written = _WrittenObjects(storage, [])
    try:
        # Listed before writing: a write that fails after the store took the bytes (a lost
        # response) is cleaned up too; deleting a key that is not there is harmless.
        written.keys.append(key)
        storage.put(key, data, checked.content_type)
        written.keys.append(thumb_key)
        storage.put(thumb_key, checked.thumbnail, THUMB_CONTENT_TYPE)
    except BaseException:
        written.discard()
        raise
    image = Image(
        type=image_type.value,
        storage_key=key,
        thumb_key=thumb_key,
        content_type=checked.content_type,
        width=checked.width,
        height=checked.height,
        bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        taken_at=checked.taken_at,
        gps_lat=checked.gps_lat,
        gps_lng=checked.gps_lng,
        uploaded_by=principal.id,
        org_id=principal.org.id,
        referenced_at=None,
        created_at=now,
    )
    try:
        db.add(image)
        db.flush()
    except BaseException:
        written.discard()
        raise
    _discard_unless_committed(db, image, written)
    audit.record(
        db,
        "IMAGE_CREATE",
        actor_id=principal.id,
        target_type="IMAGE",
        target_id=image.id,
        org_id=image.org_id,
        after={
            "type": image.type,
            "content_type": image.content_type,
            "bytes": image.bytes,
            "sha256": image.sha256,
        },
    )
    return image


# ---- reading ----------------------------------------------------------------------------------


def can_read(db: Session, principal: Principal, image: Image) -> bool:
    """Who may see an image (07 §8): its uploader, admins whose scope holds the image's
    organisation, and anyone who can read a report, contribution or depot that references it."""
    if image.uploaded_by == principal.id:
        return True
    if principal.is_admin and principal.can_see_org(db, image.org_id):
        return True
    from sqlalchemy import or_

    from beachsaver.depots import service as depot_service
    from beachsaver.depots.models import CollectionDepot, DepotImage
    from beachsaver.reports import service as report_service
    from beachsaver.reports.models import Contribution, ContributionImage, Report, ReportImage

    via_report = (
        select(Report.id)
        .where(
            report_service.visible_clause(db, principal),
            or_(
                Report.id.in_(select(ReportImage.report_id).where(ReportImage.image_id == image.id)),
                Report.id.in_(
                    select(Contribution.report_id)
                    .join(ContributionImage, ContributionImage.contribution_id == Contribution.id)
                    .where(ContributionImage.image_id == image.id)
                ),
            ),
        )
        .limit(1)
    )
    if db.execute(via_report).first() is not None:
        return True
    via_depot = (
        select(CollectionDepot.id)
        .where(
            depot_service.visible_clause(db, principal),
            or_(
                CollectionDepot.id.in_(select(DepotImage.depot_id).where(DepotImage.image_id == image.id)),
                CollectionDepot.completion_image_id == image.id,
                CollectionDepot.issue_image_id == image.id,
            ),
        )
        .limit(1)
    )
    return db.execute(via_depot).first() is not None


def get_readable(db: Session, principal: Principal, image_id: int) -> Image:
    image = db.get(Image, image_id)
    if image is None or not can_read(db, principal, image):
        raise errors.NotFound()
    return image


def _url_key(settings: Settings) -> bytes:
    return hmac.new(settings.jwt_secret.encode("utf-8"), b"beachsaver:image-url:v1", hashlib.sha256).digest()


def content_signature(settings: Settings, image_id: int, variant: str, exp: int) -> str:
    message = f"{image_id}:{variant}:{exp}".encode("ascii")
    digest = hmac.new(_url_key(settings), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verify_content_signature(
    settings: Settings, image_id: int, variant: str, exp: int | None, sig: str | None, *, now: float | None = None
) -> bool:
    """True when ``sig`` signs this image, variant and expiry, and the expiry has not passed."""
    if exp is None or not sig:
        return False
    if (time.time() if now is None else now) > exp:
        return False
    expected = content_signature(settings, image_id, variant, exp)
    return hmac.compare_digest(expected.encode("ascii"), sig.encode("ascii", "replace"))


def content_path(settings: Settings, image_id: int, variant: str, exp: int) -> str:
    """The API URL (root-relative) that serves one variant without a bearer token until ``exp``."""
    size = "size=thumb&" if variant == THUMB else ""
    return f"/api/images/{image_id}/content?{size}exp={exp}&sig={content_signature(settings, image_id, variant, exp)}"


def _key_of(image: Image, variant: str) -> str:
    return image.thumb_key if variant == THUMB and image.thumb_key else image.storage_key


def content_type_of(image: Image, variant: str) -> str:
    return THUMB_CONTENT_TYPE if variant == THUMB and image.thumb_key else image.content_type


def signed_url(db: Session, image: Image, variant: str, *, exp: int | None = None) -> str:
    """A URL serving ``variant`` for 10 minutes: presigned by the object store when it can
    (S3), else a signed URL of ``GET /api/images/{id}/content``."""
    settings = settings_of(db)
    exp = exp if exp is not None else int(time.time()) + SIGNED_URL_TTL_S
    direct = get_storage(settings).signed_url(_key_of(image, variant), max(1, exp - int(time.time())))
    return direct or content_path(settings, image.id, variant, exp)


def present(db: Session, image: Image) -> dict[str, Any]:
    """The Image of the wire format (02-api §7), with fresh signed URLs."""
    exp = int(time.time()) + SIGNED_URL_TTL_S
    return {
        "id": image.id,
        "type": image.type,
        "file_url": signed_url(db, image, ORIGINAL, exp=exp),
        "thumb_url": signed_url(db, image, THUMB, exp=exp),
        "url_expires_at": datetime.fromtimestamp(exp, UTC),
        "content_type": image.content_type,
        "width": image.width,
        "height": image.height,
        "bytes": image.bytes,
        "sha256": image.sha256,
        "taken_at": image.taken_at,
        "gps_lat": float(image.gps_lat) if image.gps_lat is not None else None,
        "gps_lng": float(image.gps_lng) if image.gps_lng is not None else None,
        "uploaded_by": image.uploaded_by,
        "created_at": image.created_at,
    }


@dataclass(frozen=True)
class Content:
    """What the content endpoint answers: the bytes, or a redirect to a presigned URL."""

    redirect_url: str | None = None
    data: bytes = b""
    content_type: str = "application/octet-stream"


def content(db: Session, image: Image, variant: str) -> Content:
    storage = storage_for(db)
    key = _key_of(image, variant)
    direct = storage.signed_url(key, SIGNED_URL_TTL_S)
    if direct:
        return Content(redirect_url=direct)
    return Content(data=storage.get(key), content_type=content_type_of(image, variant))


# ---- orphans ----------------------------------------------------------------------------------


def remove_orphans(db: Session, older_than_hours: float = 24) -> int:
    """Delete images no report or depot took (``referenced_at`` NULL) within ``older_than_hours``.

    Rows go in this transaction (one savepoint each: a row something references after all is
    kept); their objects are deleted once it commits (``after_commit``: run this inside
    ``session_scope`` or a request). Returns how many images were removed.
    """
    cutoff = utcnow() - timedelta(hours=older_than_hours)
    storage = storage_for(db)
    removed = 0
    keys: list[str] = []
    last_id = 0
    while True:
        rows = db.execute(
            select(Image.id, Image.storage_key, Image.thumb_key, Image.org_id, Image.type, Image.sha256)
            .where(Image.referenced_at.is_(None), Image.created_at < cutoff, Image.id > last_id)
            .order_by(Image.id)
            .limit(ORPHAN_BATCH)
        ).all()
        if not rows:
            break
        for row in rows:
            last_id = row.id
            try:
                with db.begin_nested():
                    gone = rows_affected(db, delete(Image).where(Image.id == row.id, Image.referenced_at.is_(None)))
            except IntegrityError:
                log.warning("orphan image %s is referenced after all; kept", row.id)
                continue
            if gone != 1:
                continue
            removed += 1
            keys.append(row.storage_key)
            if row.thumb_key:
                keys.append(row.thumb_key)
            audit.record(
                db,
                "IMAGE_DELETE",
                actor_id=None,
                target_type="IMAGE",
                target_id=row.id,
                org_id=row.org_id,
                before={"type": row.type, "sha256": row.sha256},
                after={"reason": "ORPHAN"},
            )
    if keys:
        after_commit(db, lambda: _discard(storage, keys))
    return removed


def remove_stray_objects(db: Session, older_than_days: int = 2) -> int:
    """Delete stored objects no image row names: what a clean-up could not delete while the
    store was down. Only upload keys (``UPLOAD_KEY``) from day folders at least
    ``older_than_days`` old are considered, so an upload in flight is never touched. Returns how
    many objects were deleted."""
    storage = storage_for(db)
    cutoff = utcnow().date() - timedelta(days=older_than_days)
    by_stem: dict[str, list[str]] = {}
    for key in storage.list_keys("images/"):
        match = UPLOAD_KEY.match(key)
        if not match:
            continue
        try:
            day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            continue
        if day < cutoff:
            by_stem.setdefault(key.rsplit("/", 1)[0] + "/" + match.group(4), []).append(key)
    extensions = sorted({extension for _type, extension in processing.ACCEPTED.values()})
    stems = sorted(by_stem)
    removed = 0
    for start in range(0, len(stems), ORPHAN_BATCH):
        chunk = stems[start : start + ORPHAN_BATCH]
        originals = [f"{stem}.{extension}" for stem in chunk for extension in extensions]
        known = {
            key.rsplit(".", 1)[0]
            for key in db.execute(select(Image.storage_key).where(Image.storage_key.in_(originals))).scalars()
        }
        for stem in chunk:
            if stem in known:
                continue
            for key in by_stem[stem]:
                storage.delete(key)
                removed += 1
    return removed


# ---- attaching ----------------------------------------------------------------------------------


def resolve_for_attachment(
    db: Session,
    image_ids: Iterable[int],
    *,
    allowed_uploaders: set[int],
    allowed_types: set[str],
    field: str,
) -> list[Image]:
    """Load images a report or depot is about to reference, in the given order.

    Unknown ids or images uploaded by someone else → 404; a type that does not fit the slot →
    400 naming ``field``. Marks them referenced so the orphan job keeps them.
    """
    ids = list(dict.fromkeys(int(i) for i in image_ids))
    if not ids:
        return []
    rows = {img.id: img for img in db.execute(select(Image).where(Image.id.in_(ids))).scalars()}
    result: list[Image] = []
    for position, image_id in enumerate(ids):
        image = rows.get(image_id)
        if image is None or image.uploaded_by not in allowed_uploaders:
            raise errors.NotFound()
        if allowed_types and image.type not in allowed_types:
            raise errors.ValidationFailed.field(
                f"{field}[{position}]",
                f"image type {image.type} does not fit here ({', '.join(sorted(allowed_types))})",
            )
        if image.referenced_at is None:
            image.referenced_at = utcnow()
        result.append(image)
    return result
