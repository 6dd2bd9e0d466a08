"""Object storage: local files (``file:///path``, the default ``$DATA_DIR/files``) or an
S3-protocol bucket (``s3://bucket/prefix``), chosen by ``settings.resolved_storage_url``.

``get_storage(settings)`` returns one backend per settings object; ``storage_readiness`` is the
``/health/ready`` component check.
"""

from __future__ import annotations

import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from beachsaver.core import errors
from beachsaver.storage.base import ObjectNotFound, Storage, check_key
from beachsaver.storage.local import LocalStorage
from beachsaver.storage.s3 import S3Storage

if TYPE_CHECKING:
    from beachsaver.config import Settings
    from beachsaver.core.runtime import Runtime

__all__ = [
    "LocalStorage",
    "ObjectNotFound",
    "S3Storage",
    "Storage",
    "build_storage",
    "check_key",
    "get_storage",
    "storage_readiness",
]


def build_storage(settings: Settings) -> Storage:
    """A new backend for ``settings.resolved_storage_url`` (``ValueError`` for other schemes)."""
    url = settings.resolved_storage_url
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ValueError("file storage URLs name a local path: file:///path")
        return LocalStorage(Path(url2pathname(unquote(parts.path))))
    if scheme == "s3":
        if not parts.netloc:
            raise ValueError("S3 storage URLs name a bucket: s3://bucket/prefix")
        return S3Storage(
            parts.netloc,
            unquote(parts.path),
            endpoint_url=settings.s3_endpoint_url,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            region=settings.s3_region,
        )
    raise ValueError(f"unsupported storage URL scheme: {scheme or url!r}")


_cache: dict[int, tuple[weakref.ref[Settings], Storage]] = {}
_cache_lock = threading.Lock()


def _forget(settings_id: int) -> None:
    with _cache_lock:
        _cache.pop(settings_id, None)


def get_storage(settings: Settings) -> Storage:
    """The backend of these settings, built once per settings object (and dropped with it)."""
    key = id(settings)
    with _cache_lock:
        entry = _cache.get(key)
        if entry is not None and entry[0]() is settings:
            return entry[1]
        storage = build_storage(settings)
        _cache[key] = (weakref.ref(settings), storage)
        weakref.finalize(settings, _forget, key)
        return storage


def storage_readiness(runtime: Runtime) -> dict[str, Any]:
    """Readiness component: ``{"ok": True, "backend", "latency_ms"}`` or
    ``{"ok": False, "backend", "error_code": "STORAGE_UNAVAILABLE"}``."""
    started = time.perf_counter()
    backend = "unknown"
    try:
        storage = get_storage(runtime.settings)
        backend = storage.kind
        storage.check()
    except (errors.StorageUnavailable, ValueError):
        return {"ok": False, "backend": backend, "error_code": "STORAGE_UNAVAILABLE"}
    return {"ok": True, "backend": backend, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
