"""Object store and database stay consistent when either fails during an upload (local backend)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from beachsaver.audit.models import AuditEntry
from beachsaver.core import errors
from beachsaver.core.db import session_scope
from beachsaver.core.deps import Principal
from beachsaver.images import service
from beachsaver.images.models import Image
from beachsaver.images.schemas import ImageType
from tests.images import imagegen
from tests.images.conftest import World, error_of


def assert_nothing_stored(world: World) -> None:
    assert world.image_count() == 0
    assert world.image_keys() == []
    assert world.db.execute(select(AuditEntry).where(AuditEntry.action == "IMAGE_CREATE")).first() is None
    world.db.commit()


def test_storage_write_failure_is_503_and_records_nothing(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(key: str, data: bytes, content_type: str) -> None:
        raise errors.StorageUnavailable()

    monkeypatch.setattr(world.storage, "put", broken)
    response = world.upload(world.investigator)
    assert response.status_code == 503
    assert error_of(response)["code"] == "STORAGE_UNAVAILABLE"
    monkeypatch.undo()
    assert_nothing_stored(world)


def test_thumbnail_write_failure_removes_the_original(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = world.storage
    real_put = storage.put
    calls: list[str] = []

    def second_put_fails(key: str, data: bytes, content_type: str) -> None:
        calls.append(key)
        if len(calls) == 2:
            raise errors.StorageUnavailable()
        real_put(key, data, content_type)

    monkeypatch.setattr(storage, "put", second_put_fails)
    response = world.upload(world.investigator)
    assert response.status_code == 503
    assert error_of(response)["code"] == "STORAGE_UNAVAILABLE"
    assert len(calls) == 2
    assert calls[1].endswith(".thumb.jpg")
    monkeypatch.undo()
    assert_nothing_stored(world)


def test_upload_works_again_after_the_store_recovers(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(key: str, data: bytes, content_type: str) -> None:
        raise errors.StorageUnavailable()

    monkeypatch.setattr(world.storage, "put", broken)
    assert world.upload(world.investigator).status_code == 503
    monkeypatch.undo()
    image = world.upload_ok(world.investigator)
    assert world.image_count() == 1
    assert len(world.image_keys()) == 2
    assert world.client.get(image["file_url"]).status_code == 200


@pytest.fixture
def fail_image_flush() -> Iterator[None]:
    """The database fails when the image row is written (after the objects were stored)."""

    def before_flush(session: Session, _context: Any, _instances: Any) -> None:
        if any(isinstance(obj, Image) for obj in session.new):
            raise OperationalError("INSERT INTO images", {}, Exception("server has gone away"))

    event.listen(Session, "before_flush", before_flush)
    yield
    event.remove(Session, "before_flush", before_flush)


@pytest.fixture
def fail_image_commit() -> Iterator[None]:
    """The database fails at COMMIT of the transaction that inserted an image."""

    def before_commit(session: Session) -> None:
        if any(isinstance(obj, Image) and obj.referenced_at is None for obj in session.identity_map.values()):
            raise OperationalError("COMMIT", {}, Exception("lost connection during commit"))

    event.listen(Session, "before_commit", before_commit)
    yield
    event.remove(Session, "before_commit", before_commit)


def test_database_failure_at_insert_deletes_the_objects(world: World, fail_image_flush: None) -> None:
    response = world.upload(world.investigator)
    assert response.status_code == 503
    assert error_of(response)["code"] == "DB_UNAVAILABLE"
    assert world.image_keys() == []


def test_database_failure_at_commit_deletes_the_objects(world: World, fail_image_commit: None) -> None:
    response = world.upload(world.investigator)
    assert response.status_code == 503
    assert error_of(response)["code"] == "DB_UNAVAILABLE"
    assert world.image_keys() == []
    assert world.image_count() == 0


def principal_in(db: Session, world: World) -> Principal:
    """The investigator as a Principal bound to ``db`` (what a request would have)."""
    return Principal(user=db.merge(world.investigator), session_id=0, org=db.merge(world.d1))


def test_rolled_back_transaction_deletes_the_objects(world: World) -> None:
    factory = world.app.state.runtime.session_factory
    with pytest.raises(RuntimeError), session_scope(factory) as db:
        service.upload(db, principal_in(db, world), data=imagegen.jpeg(), image_type=ImageType.INVESTIGATION_MAIN)
        assert len(world.image_keys()) == 2
        raise RuntimeError("something later in the request failed")
    assert world.image_keys() == []
    assert world.image_count() == 0


def test_session_closed_without_commit_deletes_the_objects(world: World) -> None:
    db = world.app.state.runtime.session_factory()
    service.upload(db, principal_in(db, world), data=imagegen.jpeg(), image_type=ImageType.COLLECTION_DEPOT)
    assert len(world.image_keys()) == 2
    db.close()
    assert world.image_keys() == []


def test_undone_savepoint_deletes_the_objects_at_the_end(world: World) -> None:
    factory = world.app.state.runtime.session_factory
    with session_scope(factory) as db:
        principal = principal_in(db, world)
        kept = service.upload(db, principal, data=imagegen.jpeg(), image_type=ImageType.INVESTIGATION_MAIN)
        nested = db.begin_nested()
        service.upload(
            db, principal, data=imagegen.encode("PNG", size=(32, 32)), image_type=ImageType.INVESTIGATION_AREA
        )
        nested.rollback()
        assert len(world.image_keys()) == 4  # deleted only when the transaction ends
        kept_keys = sorted([kept.storage_key, kept.thumb_key or ""])
    assert world.image_keys() == kept_keys
    assert world.image_count() == 1


def test_committed_upload_keeps_its_objects_through_later_rollbacks(world: World) -> None:
    factory = world.app.state.runtime.session_factory
    db = factory()
    principal = principal_in(db, world)
    image = service.upload(db, principal, data=imagegen.jpeg(), image_type=ImageType.INVESTIGATION_MAIN)
    db.commit()
    keys = sorted([image.storage_key, image.thumb_key or ""])
    db.execute(select(Image)).all()
    db.rollback()
    db.close()
    assert world.image_count() == 1
    assert world.image_keys() == keys
