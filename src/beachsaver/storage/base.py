"""The object-store interface every backend implements, and its errors.

Keys are relative, ``/``-separated names (``images/2026/05/<uuid>.jpg``); each backend maps them
onto its own namespace (a directory, a bucket prefix). A backend that cannot be reached raises
``errors.StorageUnavailable`` (503 ``STORAGE_UNAVAILABLE``); a key that is not there raises
``ObjectNotFound`` (404). Invalid keys are a programming error (``ValueError``).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod

from beachsaver.core import errors

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*(/[A-Za-z0-9][A-Za-z0-9._\-]*)*$")
MAX_KEY_LENGTH = 512


class ObjectNotFound(errors.NotFound):
    """The key does not exist in the store (answers 404 when it reaches the client)."""


def check_key(key: str) -> str:
    """A safe relative key: no empty or dot-leading segments, no ``..``, no backslashes."""
    if not isinstance(key, str) or len(key) > MAX_KEY_LENGTH or not _KEY.match(key) or ".." in key:
        raise ValueError(f"invalid storage key: {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """A key prefix for ``list_keys``: empty, or key characters optionally ending in ``/``."""
    if prefix == "":
        return prefix
    check_key(prefix.rstrip("/") or "x")
    return prefix


class Storage(ABC):
    """Bytes under keys. Implementations are thread-safe and cheap to call from a request."""

    #: ``"local"`` or ``"s3"``: shown by the readiness check.
    kind: str = "abstract"

    @abstractmethod
    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key`` (replacing it); durable once this returns."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The bytes under ``key``; ``ObjectNotFound`` when there are none."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing key is not an error."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def signed_url(self, key: str, ttl_s: int) -> str | None:
        """A URL that serves ``key`` without credentials for ``ttl_s`` seconds, or ``None`` when
        the backend has no such URLs (the caller then signs its own URL to the API)."""

    @abstractmethod
    def check(self) -> None:
        """Raise ``StorageUnavailable`` unless the store is reachable and writable."""

    @abstractmethod
    def list_keys(self, prefix: str = "") -> list[str]:
        """Every key starting with ``prefix``, sorted (for backups and orphan sweeps)."""
