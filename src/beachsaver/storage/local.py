"""Local-file backend (``file:///path``): one file per key under a root directory.

Writes go to a temporary file in the target directory, are fsynced and then renamed into
place, so a reader never sees half a file and a crash leaves at most a stray ``.tmp`` file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

from beachsaver.core import errors
from beachsaver.storage.base import ObjectNotFound, Storage, check_key, check_prefix

log = logging.getLogger("beachsaver.storage")

TMP_SUFFIX = ".tmp"


class LocalStorage(Storage):
    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        tmp_name: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=TMP_SUFFIX)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp_name, 0o640)
            os.replace(tmp_name, path)
            tmp_name = None
        except OSError as exc:
            log.error("local storage write failed: %s", type(exc).__name__)
            raise errors.StorageUnavailable() from exc
        finally:
            if tmp_name is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound() from None
        except OSError as exc:
            log.error("local storage read failed: %s", type(exc).__name__)
            raise errors.StorageUnavailable() from exc

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.error("local storage delete failed: %s", type(exc).__name__)
            raise errors.StorageUnavailable() from exc

    def exists(self, key: str) -> bool:
        path = self._path(key)
        try:
            return path.is_file()
        except OSError as exc:
            raise errors.StorageUnavailable() from exc

    def signed_url(self, key: str, ttl_s: int) -> str | None:
        check_key(key)
        return None

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise errors.StorageUnavailable() from exc
        if not (self.root.is_dir() and os.access(self.root, os.W_OK | os.X_OK)):
            raise errors.StorageUnavailable()

    def list_keys(self, prefix: str = "") -> list[str]:
        check_prefix(prefix)
        if not self.root.is_dir():
            return []
        keys: list[str] = []
        try:
            for dirpath, _dirnames, filenames in os.walk(self.root):
                for name in filenames:
                    if name.startswith(".") and name.endswith(TMP_SUFFIX):
                        continue
                    rel = Path(dirpath, name).relative_to(self.root).as_posix()
                    if rel.startswith(prefix):
                        keys.append(rel)
        except OSError as exc:
            raise errors.StorageUnavailable() from exc
        return sorted(keys)
