"""remove_orphans: unreferenced images older than 24 h go, with their objects, after the commit."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from beachsaver.audit.models import AuditEntry
from beachsaver.core import errors
from beachsaver.core.db import session_scope
from beachsaver.core.time import utcnow
from beachsaver.images import service
from beachsaver.images.models import Image
from tests.images.conftest import World


def age(world: World, image_id: int, hours: float, *, referenced: bool = False) -> None:
    values: dict[str, object] = {"created_at": utcnow() - timedelta(hours=hours)}
    if referenced:
        values["referenced_at"] = utcnow() - timedelta(hours=hours - 1)
    world.db.execute(update(Image).where(Image.id == image_id).values(**values))
    world.db.commit()


def keys_of(world: World, image_id: int) -> list[str]:
    row = world.row(image_id)
    return sorted([row.storage_key, row.thumb_key or ""])


def test_only_old_unreferenced_images_are_removed(world: World) -> None:
    old = world.upload_ok(world.investigator)
    old_referenced = world.upload_ok(world.investigator)
    fresh = world.upload_ok(world.cleaner)
    just_under = world.upload_ok(world.cleaner)
    age(world, old["id"], 25)
    age(world, old_referenced["id"], 48, referenced=True)
    age(world, just_under["id"], 23.9)
    kept_keys = sorted(
        keys_of(world, old_referenced["id"]) + keys_of(world, fresh["id"]) + keys_of(world, just_under["id"])
    )
    old_keys = keys_of(world, old["id"])
    assert set(old_keys) <= set(world.image_keys())

    with session_scope(world.app.state.runtime.session_factory) as db:
        assert service.remove_orphans(db) == 1
        assert set(old_keys) <= set(world.image_keys())  # objects go only after the commit

    remaining = sorted(world.db.execute(select(Image.id)).scalars())
    assert remaining == sorted([old_referenced["id"], fresh["id"], just_under["id"]])
    assert world.image_keys() == kept_keys
    entry = world.db.execute(select(AuditEntry).where(AuditEntry.action == "IMAGE_DELETE")).scalar_one()
    assert entry.target_id == old["id"]
    assert entry.target_type == "IMAGE"
    assert entry.actor_id is None
    assert entry.org_id == world.d1.id
    world.db.commit()

    signed = world.client.get(old["file_url"])
    assert signed.status_code == 404
    meta = world.client.get(f"/api/images/{old['id']}", headers=world.headers(world.investigator))
    assert meta.status_code == 404


def test_a_rolled_back_clean_up_keeps_rows_and_objects(world: World) -> None:
    image = world.upload_ok(world.investigator)
    age(world, image["id"], 30)
    keys = keys_of(world, image["id"])
    db = world.app.state.runtime.session_factory()
    try:
        assert service.remove_orphans(db) == 1
        db.rollback()
    finally:
        db.close()
    assert world.image_count() == 1
    assert world.image_keys() == keys
    assert world.client.get(image["file_url"]).status_code == 200


def test_custom_age_and_nothing_to_do(world: World) -> None:
    factory = world.app.state.runtime.session_factory
    with session_scope(factory) as db:
        assert service.remove_orphans(db) == 0
    image = world.upload_ok(world.investigator)
    age(world, image["id"], 2)
    with session_scope(factory) as db:
        assert service.remove_orphans(db) == 0
    with session_scope(factory) as db:
        assert service.remove_orphans(db, older_than_hours=1) == 1
    assert world.image_count() == 0
    assert world.image_keys() == []


def test_many_orphans_in_batches(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "ORPHAN_BATCH", 2)
    ids = [world.upload_ok(world.investigator)["id"] for _ in range(5)]
    for image_id in ids:
        age(world, image_id, 25)
    with session_scope(world.app.state.runtime.session_factory) as db:
        assert service.remove_orphans(db) == 5
    assert world.image_count() == 0
    assert world.image_keys() == []


def test_store_failure_after_commit_does_not_undo_the_clean_up(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    image = world.upload_ok(world.investigator)
    age(world, image["id"], 25)

    def broken(key: str) -> None:
        raise errors.StorageUnavailable()

    monkeypatch.setattr(world.storage, "delete", broken)
    with session_scope(world.app.state.runtime.session_factory) as db:
        assert service.remove_orphans(db) == 1
    assert world.image_count() == 0  # rows are gone; the stray objects are only logged


def test_an_image_still_referenced_by_a_foreign_key_is_kept(world: World) -> None:
    """Belt and braces: referenced_at NULL but a row points at it → kept, the rest proceeds."""
    held = world.upload_ok(world.investigator)
    free = world.upload_ok(world.investigator)
    age(world, held["id"], 25)
    age(world, free["id"], 25)
    table = f"tmp_image_ref_{uuid.uuid4().hex[:8]}"
    engine = world.app.state.runtime.engine
    id_type = "BIGINT" if engine.dialect.name == "mysql" else "INTEGER"
    with engine.begin() as conn:
        conn.execute(
            text(f"CREATE TABLE {table} (image_id {id_type} NOT NULL, FOREIGN KEY (image_id) REFERENCES images(id))")
        )
        conn.execute(text(f"INSERT INTO {table} (image_id) VALUES (:id)"), {"id": held["id"]})
    try:
        held_keys = keys_of(world, held["id"])
        with session_scope(world.app.state.runtime.session_factory) as db:
            assert service.remove_orphans(db) == 1
        assert list(world.db.execute(select(Image.id)).scalars()) == [held["id"]]
        world.db.commit()
        assert world.image_keys() == held_keys
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE {table}"))


def test_stray_objects_without_rows_are_swept(world: World) -> None:
    storage = world.storage
    known = world.upload_ok(world.investigator)
    row = world.row(known["id"])
    # move the known image into an old day folder (rows and objects agree)
    old_key = f"images/2020/01/01/{'a' * 32}.jpg"
    old_thumb = f"images/2020/01/01/{'a' * 32}.thumb.jpg"
    storage.put(old_key, storage.get(row.storage_key), "image/jpeg")
    storage.put(old_thumb, storage.get(row.thumb_key or ""), "image/jpeg")
    storage.delete(row.storage_key)
    storage.delete(row.thumb_key or "")
    world.db.execute(update(Image).where(Image.id == known["id"]).values(storage_key=old_key, thumb_key=old_thumb))
    world.db.commit()
    fresh = world.upload_ok(world.investigator)
    fresh_row = world.row(fresh["id"])
    stray = [f"images/2020/01/01/{'b' * 32}.png", f"images/2020/01/01/{'b' * 32}.thumb.jpg"]
    stray_thumb_only = f"images/2020/01/02/{'c' * 32}.thumb.jpg"
    not_ours = ["images/2020/01/01/readme.txt", f"images/2020/13/01/{'d' * 32}.jpg"]
    recent_stray = f"{fresh_row.storage_key.rsplit('/', 1)[0]}/{'e' * 32}.jpg"
    for key in [*stray, stray_thumb_only, *not_ours, recent_stray]:
        storage.put(key, b"x", "application/octet-stream")

    with session_scope(world.app.state.runtime.session_factory) as db:
        assert service.remove_stray_objects(db) == 3
    assert world.image_keys() == sorted(
        [old_key, old_thumb, fresh_row.storage_key, fresh_row.thumb_key or "", *not_ours, recent_stray]
    )
    assert world.client.get(known["file_url"]).status_code == 200

    with session_scope(world.app.state.runtime.session_factory) as db:
        assert service.remove_stray_objects(db, older_than_days=-1) == 1  # today's folder too
    assert recent_stray not in world.image_keys()
    assert world.image_count() == 2
