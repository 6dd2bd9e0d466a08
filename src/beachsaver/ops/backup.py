"""Backups: a consistent database dump plus the stored images, as one checksummed set.

Layout of a backup set ``<id>/`` on the target (a directory or ``s3://bucket/prefix``):
``manifest.json`` (listing every artifact with its SHA-256, the row count and content checksum
of every table), ``db.jsonl.gz`` (the logical dump, one JSON object per line) and
``files.tar.gz`` (the object store), each optionally encrypted with ``BEACHSAVER_BACKUP_KEY``.
The dump is written from one consistent snapshot (SQLite: the online backup API; MySQL: a
REPEATABLE READ transaction WITH CONSISTENT SNAPSHOT), so the checksums in the manifest match
the data exactly and a restore can be verified table by table. Bookkeeping lives in the
target's manifests, never in the database being backed up.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import secrets
import shutil
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import Connection, make_url

from beachsaver.config import Settings
from beachsaver.core.db import is_sqlite, normalise_database_url
from beachsaver.core.time import utcnow
from beachsaver.models import Base
from beachsaver.storage import LocalStorage, S3Storage, Storage, build_storage

RETENTION_DAYS = {"auto": 14, "drill": 14, "milestone": 365, "regulated": 5 * 365}
MANIFEST = "manifest.json"
CHUNK = 1 << 20
_MAGIC = b"BSENC1"
#: gzip level of the dump: 1 writes it about three times faster than 6 for a slightly larger file.
DUMP_COMPRESSION = 1


class BackupError(RuntimeError):
    pass


# ---- targets ----------------------------------------------------------------------------------


def default_target(settings: Settings) -> str:
    configured = getattr(settings, "backup_dir", None)
    return str(configured or (settings.data_dir / "backups"))


def open_target(target: str, settings: Settings) -> Storage:
    parts = urlsplit(target)
    if parts.scheme == "s3":
        return S3Storage(
            parts.netloc,
            unquote(parts.path),
            endpoint_url=settings.s3_endpoint_url,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
            region=settings.s3_region,
        )
    path = Path(unquote(parts.path)) if parts.scheme == "file" else Path(target)
    path.mkdir(parents=True, exist_ok=True)
    return LocalStorage(path)


# ---- encryption (chunked AES-256-GCM) -----------------------------------------------------------


def _key(settings: Settings) -> bytes | None:
    raw = getattr(settings, "backup_key", None)
    if not raw:
        return None
    key = base64.b64decode(raw)
    if len(key) != 32:
        raise BackupError("BEACHSAVER_BACKUP_KEY must be base64 of 32 bytes")
    return key


def encrypt(data: bytes, key: bytes) -> bytes:
    out = io.BytesIO()
    out.write(_MAGIC)
    aead = AESGCM(key)
    for index in range(0, max(len(data), 1), CHUNK):
        nonce = secrets.token_bytes(12)
        sealed = aead.encrypt(nonce, data[index : index + CHUNK], index.to_bytes(8, "big"))
        out.write(nonce + len(sealed).to_bytes(4, "big") + sealed)
    return out.getvalue()


def decrypt(blob: bytes, key: bytes | None) -> bytes:
    if not blob.startswith(_MAGIC):
        return blob
    if key is None:
        raise BackupError("this backup is encrypted: set BEACHSAVER_BACKUP_KEY")
    aead, pos, out, index = AESGCM(key), len(_MAGIC), io.BytesIO(), 0
    while pos < len(blob):
        nonce = blob[pos : pos + 12]
        size = int.from_bytes(blob[pos + 12 : pos + 16], "big")
        sealed = blob[pos + 16 : pos + 16 + size]
        out.write(aead.decrypt(nonce, sealed, index.to_bytes(8, "big")))
        pos += 16 + size
        index += CHUNK
    return out.getvalue()


# ---- logical dump -----------------------------------------------------------------------------------


#: Values written to the dump as they are; anything else goes through ``_jsonable``.
_PLAIN = frozenset({int, str, float, bool, type(None)})


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$b": base64.b64encode(bytes(value)).decode()}
    return value


_TAGS: dict[str, Any] = {
    "$dt": datetime.fromisoformat,
    "$d": date.fromisoformat,
    "$dec": Decimal,
    "$b": base64.b64decode,
}


def _revive(row: dict[str, Any]) -> dict[str, Any]:
    """A dumped row's tagged values back to their types (in place)."""
    for key, value in row.items():
        if value.__class__ is dict and len(value) == 1:
            ((tag, raw),) = value.items()
            revive = _TAGS.get(tag)
            if revive is not None:
                row[key] = revive(raw)
    return row


def _tables(conn: Connection) -> list[str]:
    names = set(inspect(conn).get_table_names())
    ordered = [t.name for t in Base.metadata.sorted_tables if t.name in names]
    return ordered + sorted(names - set(ordered))


def _rows(conn: Connection, table: str) -> Iterator[dict[str, Any]]:
    """Every row of ``table`` in primary-key order, its values made JSON-ready (most are already)."""
    meta_table = Base.metadata.tables.get(table)
    if meta_table is not None:
        stmt = select(meta_table).order_by(*meta_table.primary_key.columns)
        result = conn.execution_options(stream_results=True).execute(stmt)
    else:
        result = conn.execution_options(stream_results=True).execute(text(f"SELECT * FROM {table}"))
    keys, plain = list(result.keys()), _PLAIN
    for row in result.tuples():
        yield {k: v if v.__class__ in plain else _jsonable(v) for k, v in zip(keys, row, strict=True)}


def _row_digest(row: dict[str, Any]) -> bytes:
    """The row as one compact JSON object with sorted keys: its line in the dump and its part of
    the table's checksum."""
    return orjson.dumps(row, default=str, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def dump_connection(conn: Connection) -> tuple[bytes, dict[str, dict[str, Any]]]:
    """The tables as gzip'd JSON lines plus ``{table: {rows, sha256}}`` from the same snapshot."""
    buffer = io.BytesIO()
    stats: dict[str, dict[str, Any]] = {}
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=DUMP_COMPRESSION, mtime=0) as gz:
        for table in _tables(conn):
            digest, count = hashlib.sha256(), 0
            gz.write(json.dumps({"table": table}).encode() + b"\n")
            for row in _rows(conn, table):
                line = _row_digest(row)
                digest.update(line)
                gz.write(b'{"row":' + line + b"}\n")
                count += 1
            stats[table] = {"rows": count, "sha256": digest.hexdigest()}
    return buffer.getvalue(), stats


def table_stats(conn: Connection) -> dict[str, dict[str, Any]]:
    """``{table: {rows, sha256}}`` as ``dump_connection`` computes them."""
    stats = {}
    for table in _tables(conn):
        digest, count = hashlib.sha256(), 0
        for row in _rows(conn, table):
            digest.update(_row_digest(row))
            count += 1
        stats[table] = {"rows": count, "sha256": digest.hexdigest()}
    return stats


def dump_database(database_url: str) -> tuple[bytes, dict[str, dict[str, Any]], dict[str, Any]]:
    url = normalise_database_url(database_url)
    extra: dict[str, Any] = {"engine": "sqlite" if is_sqlite(url) else "mysql"}
    if is_sqlite(url):
        source = make_url(url).database or ""
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "snapshot.db"
            src = sqlite3.connect(source)
            dst = sqlite3.connect(copy)
            with dst:
                src.backup(dst)  # the online backup API: a consistent copy while writers continue
            src.close()
            dst.close()
            engine = create_engine(f"sqlite:///{copy}")
            with engine.connect() as conn:
                data, stats = dump_connection(conn)
            engine.dispose()
        return data, stats, extra
    engine = create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            position = snapshot_binlog_position(conn)
            if position:
                extra["binlog"] = position
            data, stats = dump_connection(conn)
            conn.rollback()
    finally:
        engine.dispose()
    return data, stats, extra


# ---- point-in-time recovery support (used by beachsaver.ops.pitr) -----------------------------------


def snapshot_binlog_position(conn: Connection) -> dict[str, Any] | None:
    """The binary-log coordinates that match the snapshot just opened on ``conn`` (inside
    ``START TRANSACTION WITH CONSISTENT SNAPSHOT``), plus the database and server they belong to.

    MariaDB reports them exactly as ``binlog_snapshot_file``/``_position`` (a commit that lands
    between the snapshot and this query does not move them); MySQL has no such status, so
    ``SHOW MASTER STATUS`` is the best effort there. ``None`` when binary logging is off.
    """
    status = {
        str(row[0]).lower(): str(row[1]) for row in conn.exec_driver_sql("SHOW STATUS LIKE 'binlog_snapshot_%%'").all()
    }
    log_file, position = status.get("binlog_snapshot_file"), status.get("binlog_snapshot_position")
    if not log_file:
        try:
            master = conn.exec_driver_sql("SHOW MASTER STATUS").mappings().first()
        except Exception:
            master = None
        if not master:
            return None
        log_file, position = str(master["File"]), str(master["Position"])
    database, server_id = conn.exec_driver_sql("SELECT DATABASE(), @@server_id").one()
    return {
        "file": log_file,
        "position": int(position or 0),
        "database": database,
        "server_id": int(server_id),
        "snapshot_at": utcnow().isoformat(),
    }


def load_database(data: bytes, database_url: str, *, force: bool) -> None:
    """Create the schema by the migrations, then insert every row (into an empty database)."""
    from beachsaver.core.migrate import upgrade

    url = normalise_database_url(database_url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            existing = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
            if existing and not force:
                raise BackupError(
                    f"the target database is not empty ({len(existing)} tables); use --force to overwrite"
                )
        if existing:
            Base.metadata.drop_all(engine)
            with engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade(url)
        with engine.begin() as conn:
            if engine.dialect.name == "mysql":
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
            else:
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.execute(text("DELETE FROM alembic_version"))
            table: str | None = None
            batch: list[dict[str, Any]] = []
            for line in gzip.decompress(data).splitlines():
                item = orjson.loads(line)
                if "table" in item:
                    _flush(conn, table, batch)
                    table, batch = item["table"], []
                    continue
                batch.append(_revive(item["row"]))
                if len(batch) >= 2000:
                    _flush(conn, table, batch)
                    batch = []
            _flush(conn, table, batch)
            if engine.dialect.name == "mysql":
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")
    finally:
        engine.dispose()


def _flush(conn: Connection, table: str | None, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the keys of the first) with one driver ``executemany``.

    A known table's values go through its columns' own bind processors (UTC date-times, JSON,
    decimals as the dialect stores them), a column at a time; building the parameters this way
    rather than through ``Connection.execute(insert, rows)`` halves the cost of a restore's inserts."""
    if not table or not rows:
        return
    keys = list(rows[0])
    columns = [[row.get(key) for row in rows] for key in keys]
    meta_table = Base.metadata.tables.get(table)
    if meta_table is not None:
        dialect = conn.dialect
        for index, key in enumerate(keys):
            if key in meta_table.c:
                column_type = meta_table.c[key].type
                process = column_type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    columns[index] = list(map(process, columns[index]))
    quote = conn.dialect.identifier_preparer.quote
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    statement = (
        f"INSERT INTO {quote(table)} ({', '.join(quote(key) for key in keys)}) "
        f"VALUES ({', '.join(marker for _ in keys)})"
    )
    conn.exec_driver_sql(statement, list(zip(*columns, strict=True)))


# ---- files -------------------------------------------------------------------------------------------


def archive_objects(storage: Storage) -> tuple[bytes, list[dict[str, Any]]]:
    buffer = io.BytesIO()
    listing = []
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for key in sorted(storage.list_keys("")):
            body = storage.get(key)
            info = tarfile.TarInfo(name=key)
            info.size = len(body)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(body))
            listing.append({"key": key, "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()})
    return buffer.getvalue(), listing


def restore_objects(blob: bytes, storage: Storage, *, force: bool) -> int:
    if storage.list_keys("") and not force:
        raise BackupError("the target storage is not empty; use --force to write into it")
    count = 0
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            handle = tar.extractfile(member)
            if handle is None:
                continue
            storage.put(member.name, handle.read(), "application/octet-stream")
            count += 1
    return count


# ---- the commands ----------------------------------------------------------------------------------


@dataclass
class BackupInfo:
    id: str
    label: str
    status: str
    created_at: datetime
    size: int
    manifest: dict[str, Any] = field(default_factory=dict)


def _new_id(target: Storage) -> str:
    base = utcnow().strftime("%Y%m%dT%H%M%SZ")
    existing = {key.split("/")[0] for key in target.list_keys(base)}
    candidate, n = base, 1
    while candidate in existing:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def create(settings: Settings, *, label: str = "auto", target: str | None = None) -> BackupInfo:
    if label not in RETENTION_DAYS:
        raise BackupError(f"label must be one of {', '.join(RETENTION_DAYS)}")
    store = open_target(target or default_target(settings), settings)
    backup_id = _new_id(store)
    key = _key(settings)
    started = time.perf_counter()
    manifest: dict[str, Any] = {
        "id": backup_id,
        "label": label,
        "created_at": utcnow().isoformat(),
        "status": "RUNNING",
        "encrypted": key is not None,
        "files": [],
    }
    store.put(f"{backup_id}/{MANIFEST}", json.dumps(manifest).encode(), "application/json")
    try:
        db_blob, stats, extra = dump_database(settings.resolved_database_url)
        files_blob, objects = archive_objects(build_storage(settings))
        for name, blob in (("db.jsonl.gz", db_blob), ("files.tar.gz", files_blob)):
            stored = encrypt(blob, key) if key else blob
            store.put(f"{backup_id}/{name}", stored, "application/octet-stream")
            manifest["files"].append({"name": name, "bytes": len(stored), "sha256": hashlib.sha256(stored).hexdigest()})
        manifest.update(
            status="OK",
            tables=stats,
            objects=len(objects),
            object_list_sha256=hashlib.sha256(json.dumps(objects, sort_keys=True).encode()).hexdigest(),
            **extra,
        )
    except Exception as exc:
        manifest.update(status="FAILED", error=f"{type(exc).__name__}: {exc}"[:500])
        raise
    finally:
        manifest["finished_at"] = utcnow().isoformat()
        manifest["seconds"] = round(time.perf_counter() - started, 3)
        store.put(f"{backup_id}/{MANIFEST}", json.dumps(manifest, indent=2).encode(), "application/json")
    return _info(manifest)


def _info(manifest: dict[str, Any]) -> BackupInfo:
    return BackupInfo(
        id=manifest["id"],
        label=manifest.get("label", "auto"),
        status=manifest.get("status", "UNKNOWN"),
        created_at=datetime.fromisoformat(manifest["created_at"]),
        size=sum(f.get("bytes", 0) for f in manifest.get("files", [])),
        manifest=manifest,
    )


def list_backups(settings: Settings, target: str | None = None) -> list[BackupInfo]:
    store = open_target(target or default_target(settings), settings)
    infos = []
    for key in store.list_keys(""):
        if key.endswith("/" + MANIFEST):
            try:
                infos.append(_info(json.loads(store.get(key))))
            except (ValueError, KeyError):
                continue
    return sorted(infos, key=lambda i: i.id)


def newest(settings: Settings, target: str | None = None) -> BackupInfo | None:
    backups = list_backups(settings, target)
    return backups[-1] if backups else None


def verify(settings: Settings, backup_id: str, target: str | None = None) -> list[str]:
    """Recompute every checksum; returns the problems (empty when the set is intact)."""
    store = open_target(target or default_target(settings), settings)
    manifest = json.loads(store.get(f"{backup_id}/{MANIFEST}"))
    problems = []
    if manifest.get("status") != "OK":
        problems.append(f"backup status is {manifest.get('status')}")
    for entry in manifest.get("files", []):
        try:
            blob = store.get(f"{backup_id}/{entry['name']}")
        except Exception:
            problems.append(f"{entry['name']}: missing")
            continue
        if hashlib.sha256(blob).hexdigest() != entry["sha256"] or len(blob) != entry["bytes"]:
            problems.append(f"{entry['name']}: checksum mismatch (changed or corrupted)")
    return problems


def restore(
    settings: Settings,
    backup_id: str,
    to_url: str,
    *,
    target: str | None = None,
    to_storage: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    problems = verify(settings, backup_id, target)
    if problems:
        raise BackupError("; ".join(problems))
    store = open_target(target or default_target(settings), settings)
    key = _key(settings)
    started = time.perf_counter()
    db_blob = decrypt(store.get(f"{backup_id}/db.jsonl.gz"), key)
    load_database(db_blob, to_url, force=force)
    files_blob = decrypt(store.get(f"{backup_id}/files.tar.gz"), key)
    storage_settings = settings.model_copy(update={"storage_url": to_storage}) if to_storage else settings
    objects = restore_objects(files_blob, build_storage(storage_settings), force=force)
    return {"backup": backup_id, "objects": objects, "seconds": round(time.perf_counter() - started, 3)}


def prune(settings: Settings, target: str | None = None, now: datetime | None = None) -> list[str]:
    store = open_target(target or default_target(settings), settings)
    now = now or utcnow()
    removed = []
    backups = list_backups(settings, target)
    newest_ok = max((b.id for b in backups if b.status == "OK"), default=None)
    for info in backups:
        keep_days = RETENTION_DAYS.get(info.label, RETENTION_DAYS["auto"])
        if info.id != newest_ok and info.created_at < now - timedelta(days=keep_days):
            for key in store.list_keys(info.id + "/"):
                store.delete(key)
            removed.append(info.id)
    return removed


def drill(settings: Settings, target: str | None = None) -> dict[str, Any]:
    """Quarterly recovery test: back up, restore into scratch, compare every table and object."""
    started = time.perf_counter()
    info = create(settings, label="drill", target=target)
    backup_s = time.perf_counter() - started
    scratch = Path(tempfile.mkdtemp(prefix="beachsaver-drill-"))
    try:
        scratch_db, cleanup = _scratch_database(settings, scratch)
        scratch_files = (scratch / "files").resolve().as_uri()
        restore_started = time.perf_counter()
        restore(settings, info.id, scratch_db, target=target, to_storage=scratch_files)
        engine = create_engine(normalise_database_url(scratch_db))
        with engine.connect() as conn:
            restored = table_stats(conn)
        engine.dispose()
        restore_s = time.perf_counter() - restore_started
        expected = info.manifest["tables"]
        mismatched = sorted(t for t in expected if restored.get(t) != expected[t])
        _, objects = archive_objects(LocalStorage(scratch / "files"))
        objects_ok = (
            hashlib.sha256(json.dumps(objects, sort_keys=True).encode()).hexdigest()
            == info.manifest["object_list_sha256"]
        )
        cleanup()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    record = {
        "drill_at": utcnow().isoformat(),
        "backup": info.id,
        "tables": len(expected),
        "rows": sum(t["rows"] for t in expected.values()),
        "objects": info.manifest["objects"],
        "mismatched_tables": mismatched,
        "objects_match": objects_ok,
        "backup_s": round(backup_s, 3),
        "restore_s": round(restore_s, 3),
        "rto_s": round(time.perf_counter() - started, 3),
        "verified": not mismatched and objects_ok,
    }
    folder = settings.data_dir / "drills"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{info.id}.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    return record


def _scratch_database(settings: Settings, scratch: Path) -> tuple[str, Any]:
    url = normalise_database_url(settings.resolved_database_url)
    if is_sqlite(url):
        return f"sqlite:///{scratch / 'restored.db'}", lambda: None
    name = f"bs_drill_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    admin.dispose()

    def cleanup() -> None:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        engine.dispose()

    return make_url(url).set(database=name).render_as_string(hide_password=False), cleanup
