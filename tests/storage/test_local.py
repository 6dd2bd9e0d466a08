"""The local-file backend, URL parsing, caching and the readiness check."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from beachsaver.config import Settings
from beachsaver.core import errors
from beachsaver.storage import (
    LocalStorage,
    ObjectNotFound,
    S3Storage,
    build_storage,
    get_storage,
    storage_readiness,
)
from beachsaver.storage.base import check_key


def settings(**values: object) -> Settings:
    return Settings.model_validate(values)


def test_put_get_exists_delete_roundtrip(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "files")
    assert store.exists("images/2026/05/a.jpg") is False
    store.put("images/2026/05/a.jpg", b"\xff\xd8abc", "image/jpeg")
    assert store.exists("images/2026/05/a.jpg") is True
    assert store.get("images/2026/05/a.jpg") == b"\xff\xd8abc"
    assert (tmp_path / "files" / "images" / "2026" / "05" / "a.jpg").read_bytes() == b"\xff\xd8abc"
    store.put("images/2026/05/a.jpg", b"new", "image/jpeg")
    assert store.get("images/2026/05/a.jpg") == b"new"
    store.delete("images/2026/05/a.jpg")
    assert store.exists("images/2026/05/a.jpg") is False
    store.delete("images/2026/05/a.jpg")  # deleting a missing key is fine
    with pytest.raises(ObjectNotFound) as caught:
        store.get("images/2026/05/a.jpg")
    assert caught.value.code == "NOT_FOUND"
    assert caught.value.status_code == 404


def test_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    for index in range(5):
        store.put(f"a/{index}.bin", os.urandom(1000), "application/octet-stream")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == [f"{i}.bin" for i in range(5)]


def test_list_keys_by_prefix(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "root")
    assert store.list_keys() == []
    for key in ("images/2026/05/b.jpg", "images/2026/04/a.png", "backups/x.tar", "images/2026/05/b.thumb.jpg"):
        store.put(key, b"x", "application/octet-stream")
    assert store.list_keys("images/") == [
        "images/2026/04/a.png",
        "images/2026/05/b.jpg",
        "images/2026/05/b.thumb.jpg",
    ]
    assert store.list_keys("images/2026/05/") == ["images/2026/05/b.jpg", "images/2026/05/b.thumb.jpg"]
    assert store.list_keys() == [
        "backups/x.tar",
        "images/2026/04/a.png",
        "images/2026/05/b.jpg",
        "images/2026/05/b.thumb.jpg",
    ]
    assert store.list_keys("nothing/") == []


@pytest.mark.parametrize(
    "key",
    ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a\\b", ".hidden", "a/.b", "a/", "a b", "a\x00b", "é", "x" * 600],
)
def test_unsafe_keys_are_refused(tmp_path: Path, key: str) -> None:
    store = LocalStorage(tmp_path)
    with pytest.raises(ValueError):
        store.put(key, b"x", "text/plain")
    with pytest.raises(ValueError):
        check_key(key)


def test_signed_url_is_left_to_the_api(tmp_path: Path) -> None:
    assert LocalStorage(tmp_path).signed_url("images/a.jpg", 600) is None


def test_unwritable_root_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"not a directory")
    store = LocalStorage(blocker / "files")
    with pytest.raises(errors.StorageUnavailable) as caught:
        store.put("images/a.jpg", b"x", "image/jpeg")
    assert caught.value.code == "STORAGE_UNAVAILABLE"
    assert caught.value.status_code == 503
    with pytest.raises(errors.StorageUnavailable):
        store.check()
    with pytest.raises(ObjectNotFound):
        store.get("images/a.jpg")


def test_check_creates_the_root(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "new" / "files")
    store.check()
    assert (tmp_path / "new" / "files").is_dir()


def test_build_storage_by_url(tmp_path: Path) -> None:
    local = build_storage(settings(data_dir=tmp_path))
    assert isinstance(local, LocalStorage)
    assert local.root == (tmp_path / "files").resolve()
    explicit = build_storage(settings(storage_url=(tmp_path / "elsewhere").as_uri()))
    assert isinstance(explicit, LocalStorage)
    assert explicit.root == tmp_path / "elsewhere"
    s3 = build_storage(
        settings(
            storage_url="s3://my-bucket/some/prefix/",
            s3_endpoint_url="http://127.0.0.1:9",
            s3_access_key_id="a",
            s3_secret_access_key="b",
        )
    )
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.prefix) == ("my-bucket", "some/prefix/")
    bare = build_storage(settings(storage_url="s3://my-bucket", s3_endpoint_url="http://127.0.0.1:9"))
    assert isinstance(bare, S3Storage)
    assert bare.prefix == ""


@pytest.mark.parametrize("url", ["ftp://host/x", "s3://", "s3://ab/x", "file://otherhost/x", "nonsense"])
def test_build_storage_refuses_bad_urls(url: str) -> None:
    with pytest.raises(ValueError):
        build_storage(settings(storage_url=url))


def test_get_storage_is_cached_per_settings_object(tmp_path: Path) -> None:
    first = settings(data_dir=tmp_path / "one")
    second = settings(data_dir=tmp_path / "two")
    assert get_storage(first) is get_storage(first)
    assert get_storage(second) is not get_storage(first)
    assert isinstance(get_storage(second), LocalStorage)
    assert get_storage(second).root == (tmp_path / "two" / "files").resolve()  # type: ignore[attr-defined]


def test_readiness(tmp_path: Path) -> None:
    good = SimpleNamespace(settings=settings(data_dir=tmp_path))
    result = storage_readiness(good)  # type: ignore[arg-type]
    assert result["ok"] is True
    assert result["backend"] == "local"
    assert "error_code" not in result
    blocker = tmp_path / "blocker"
    blocker.write_bytes(b"x")
    bad = SimpleNamespace(settings=settings(storage_url=(blocker / "files").as_uri()))
    assert storage_readiness(bad) == {"ok": False, "backend": "local", "error_code": "STORAGE_UNAVAILABLE"}  # type: ignore[arg-type]
    unknown = SimpleNamespace(settings=settings(storage_url="ftp://x/y"))
    assert storage_readiness(unknown) == {"ok": False, "backend": "unknown", "error_code": "STORAGE_UNAVAILABLE"}  # type: ignore[arg-type]
