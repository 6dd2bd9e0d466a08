"""GET /api/images/{id} and /content on the local backend: who may read, signed URLs."""

from __future__ import annotations

import io
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image as PILImage

from beachsaver.images import service
from tests.images import imagegen
from tests.images.conftest import World, error_of


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_uploader_reads_metadata_with_fresh_urls(world: World) -> None:
    image = world.upload_ok(world.investigator)
    response = world.client.get(f"/api/images/{image['id']}", headers=world.headers(world.investigator))
    assert response.status_code == 200
    data = response.json()["data"]
    for key in ("id", "type", "content_type", "width", "height", "bytes", "sha256", "uploaded_by", "created_at"):
        assert data[key] == image[key]
    exp = int(query_of(data["file_url"])["exp"])
    assert time.time() + 590 <= exp <= time.time() + 601
    assert data["url_expires_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp))


@pytest.mark.parametrize("reader", ["d1_admin", "city_admin", "platform"])
def test_admins_whose_scope_holds_the_org_read_it(world: World, reader: str) -> None:
    image = world.upload_ok(world.investigator)
    user = getattr(world, reader)
    meta = world.client.get(f"/api/images/{image['id']}", headers=world.headers(user))
    assert meta.status_code == 200
    assert meta.json()["data"]["id"] == image["id"]
    content = world.client.get(f"/api/images/{image['id']}/content", headers=world.headers(user))
    assert content.status_code == 200


@pytest.mark.parametrize("reader", ["investigator2", "cleaner", "d2_admin", "other_city_admin"])
def test_others_get_404(world: World, reader: str) -> None:
    image = world.upload_ok(world.investigator)
    user = getattr(world, reader)
    for path in (f"/api/images/{image['id']}", f"/api/images/{image['id']}/content"):
        response = world.client.get(path, headers=world.headers(user))
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "NOT_FOUND"


def test_unknown_and_invalid_ids(world: World) -> None:
    headers = world.headers(world.d1_admin)
    assert world.client.get("/api/images/999999", headers=headers).status_code == 404
    assert world.client.get("/api/images/999999/content", headers=headers).status_code == 404
    for bad in ("0", "-1", "abc", str(2**63)):
        response = world.client.get(f"/api/images/{bad}", headers=headers)
        assert response.status_code == 400, bad
        assert error_of(response)["details"][0]["field"] == "path.image_id"


def test_pending_and_anonymous(world: World) -> None:
    image = world.upload_ok(world.investigator)
    pending = world.client.get(f"/api/images/{image['id']}", headers=world.headers(world.pending))
    assert pending.status_code == 403
    assert error_of(pending)["code"] == "FORBIDDEN"
    anonymous = world.client.get(f"/api/images/{image['id']}")
    assert anonymous.status_code == 401
    assert error_of(anonymous)["code"] == "UNAUTHENTICATED"
    bare = world.client.get(f"/api/images/{image['id']}/content")
    assert bare.status_code == 401
    assert error_of(bare)["code"] == "UNAUTHENTICATED"


def test_content_with_bearer_original_and_thumb(world: World) -> None:
    data = imagegen.encode("PNG", size=(400, 200))
    image = world.upload_ok(world.investigator, data)
    headers = world.headers(world.investigator)
    original = world.client.get(f"/api/images/{image['id']}/content", headers=headers)
    assert original.status_code == 200
    assert original.content == data
    assert original.headers["content-type"] == "image/png"
    assert original.headers["cache-control"] == "private, max-age=600"
    assert original.headers["x-content-type-options"] == "nosniff"
    for size in ("thumb", "THUMB"):
        thumb = world.client.get(f"/api/images/{image['id']}/content", params={"size": size}, headers=headers)
        assert thumb.status_code == 200
        assert thumb.headers["content-type"] == "image/jpeg"
        assert PILImage.open(io.BytesIO(thumb.content)).size == (320, 160)
    explicit = world.client.get(f"/api/images/{image['id']}/content", params={"size": "original"}, headers=headers)
    assert explicit.content == data
    bad = world.client.get(f"/api/images/{image['id']}/content", params={"size": "huge"}, headers=headers)
    assert bad.status_code == 400
    assert error_of(bad)["details"][0]["field"] == "query.size"


def test_signed_urls_work_without_a_token(world: World) -> None:
    data = imagegen.jpeg(size=(640, 480))
    image = world.upload_ok(world.investigator, data)
    original = world.client.get(image["file_url"])
    assert original.status_code == 200
    assert original.content == data
    assert original.headers["content-type"] == "image/jpeg"
    thumb = world.client.get(image["thumb_url"])
    assert thumb.status_code == 200
    assert PILImage.open(io.BytesIO(thumb.content)).size == (320, 240)


def test_expired_signed_url_is_401(world: World) -> None:
    image = world.upload_ok(world.investigator)
    settings = world.app.state.settings
    past = int(time.time()) - 1
    expired = service.content_path(settings, image["id"], service.ORIGINAL, past)
    response = world.client.get(expired)
    assert response.status_code == 401
    assert error_of(response)["code"] == "UNAUTHENTICATED"
    soon = int(time.time()) + 1
    still_valid = service.content_path(settings, image["id"], service.ORIGINAL, soon)
    assert world.client.get(still_valid).status_code == 200
    time.sleep(max(0.0, soon - time.time()) + 1.1)
    assert world.client.get(still_valid).status_code == 401


def test_url_expiry_is_ten_minutes(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    image = world.upload_ok(world.investigator)
    url = image["file_url"]
    exp = int(query_of(url)["exp"])
    monkeypatch.setattr(time, "time", lambda: float(exp))
    assert world.client.get(url).status_code == 200
    monkeypatch.setattr(time, "time", lambda: float(exp) + 1)
    assert world.client.get(url).status_code == 401


def test_tampered_signed_urls_are_401(world: World) -> None:
    first = world.upload_ok(world.investigator)
    second = world.upload_ok(world.investigator)
    q = query_of(first["file_url"])
    exp, sig = int(q["exp"]), q["sig"]
    base = f"/api/images/{first['id']}/content"
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    cases = {
        "changed signature": f"/api/images/{first['id']}/content?exp={exp}&sig={flipped}",
        "longer expiry": f"/api/images/{first['id']}/content?exp={exp + 3600}&sig={sig}",
        "other image": f"/api/images/{second['id']}/content?exp={exp}&sig={sig}",
        "original signature used for the thumbnail": f"{base}?size=thumb&exp={exp}&sig={sig}",
        "no signature": f"/api/images/{first['id']}/content?exp={exp}",
        "no expiry": f"/api/images/{first['id']}/content?sig={sig}",
        "empty signature": f"/api/images/{first['id']}/content?exp={exp}&sig=",
        "non-ascii signature": f"/api/images/{first['id']}/content?exp={exp}&sig=%C3%A9{sig[1:]}",
    }
    thumb_sig = query_of(first["thumb_url"])["sig"]
    cases["thumbnail signature used for the original"] = f"/api/images/{first['id']}/content?exp={exp}&sig={thumb_sig}"
    for name, url in cases.items():
        response = world.client.get(url)
        assert response.status_code == 401, name
        assert error_of(response)["code"] == "UNAUTHENTICATED", name


def test_signed_url_with_a_different_secret_is_401(world: World) -> None:
    image = world.upload_ok(world.investigator)
    other = world.app.state.settings.model_copy(update={"jwt_secret": "another-secret-another-secret-1234"})
    forged = service.content_path(other, image["id"], service.ORIGINAL, int(time.time()) + 600)
    assert world.client.get(forged).status_code == 401


def test_bad_signature_falls_back_to_the_bearer_token(world: World) -> None:
    image = world.upload_ok(world.investigator)
    url = f"/api/images/{image['id']}/content?exp=1&sig=nonsense"
    assert world.client.get(url, headers=world.headers(world.investigator)).status_code == 200
    other = world.client.get(url, headers=world.headers(world.cleaner))
    assert other.status_code == 404


def test_bad_exp_is_400(world: World) -> None:
    image = world.upload_ok(world.investigator)
    response = world.client.get(f"/api/images/{image['id']}/content?exp=soon&sig=x")
    assert response.status_code == 400
    assert error_of(response)["details"][0]["field"] == "query.exp"


def test_signed_url_of_a_removed_image_is_404(world: World) -> None:

    image = world.upload_ok(world.investigator)
    row = world.row(image["id"])
    world.db.delete(row)
    world.db.commit()
    response = world.client.get(image["file_url"])
    assert response.status_code == 404
    assert error_of(response)["code"] == "NOT_FOUND"


def test_missing_object_is_404_not_500(world: World) -> None:

    image = world.upload_ok(world.investigator)
    row = world.row(image["id"])
    world.storage.delete(row.storage_key)
    response = world.client.get(image["file_url"])
    assert response.status_code == 404
    assert error_of(response)["code"] == "NOT_FOUND"


def test_local_storage_failure_on_read_is_503(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from beachsaver.core import errors

    image = world.upload_ok(world.investigator)

    def broken(key: str) -> bytes:
        raise errors.StorageUnavailable()

    monkeypatch.setattr(world.storage, "get", broken)
    response = world.client.get(image["file_url"])
    assert response.status_code == 503
    assert error_of(response)["code"] == "STORAGE_UNAVAILABLE"
    meta = world.client.get(f"/api/images/{image['id']}", headers=world.headers(world.investigator))
    assert meta.status_code == 200  # metadata does not need the store
