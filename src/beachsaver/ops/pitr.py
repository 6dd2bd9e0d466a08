"""Point-in-time recovery on MariaDB/MySQL: binary-log archiving, replay and the drill.

A backup set (``beachsaver.ops.backup``) records in its manifest the binary-log coordinates of
its snapshot (``binlog`` = ``{file, position, database, server_id, snapshot_at}``). The server's
binary logs are copied next to the backup sets, under ``<target>/binlogs/``, with an index
(``binlogs/index.json``) holding every file's size and SHA-256. A point-in-time restore loads
the backup set into a new database, then replays the archived logs from the recorded position
up to the requested instant::

    mysqlbinlog --start-position=P --stop-datetime=UNTIL --database=SRC --rewrite-db='SRC->DST' \\
        binlog.000007 binlog.000008 ... | mysql DST

Two ways to archive, both using ``mysqlbinlog --read-from-remote-server --raw`` with the
credentials of the database URL (written to a private option file, never on the command line):

* ``archive_binlogs`` (``beachsaver backup binlog-archive --once``, for cron or the worker):
  ``FLUSH BINARY LOGS`` closes the log in use, then every closed log not yet archived is copied
  and checked against the size the server reports. The data-loss window is the interval between
  two runs.
* ``stream_binlogs`` (``beachsaver backup binlog-archive``, a long-running service): one
  ``mysqlbinlog --stop-never`` connection receives every event as it is committed; closed logs
  are published with their checksums, the log in use as a growing, ``closed: false`` entry.
  The data-loss window is what was in flight when the server was lost (well under a second).

Point-in-time recovery targets the single-server deployment (RDS has its own). Replay needs a
user allowed to replay binary logs (root, or ``SUPER``/``BINLOG REPLAY`` on MariaDB) and runs
with ``--disable-log-bin``, so the restored server's own binary log does not receive the
replayed events: take a fresh backup of a restored database before relying on it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import create_engine
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from beachsaver.config import Settings
from beachsaver.core.db import is_sqlite, normalise_database_url
from beachsaver.core.time import utcnow
from beachsaver.ops import backup
from beachsaver.ops.backup import BackupError, decrypt, default_target, encrypt, open_target
from beachsaver.storage import LocalStorage, Storage
from beachsaver.storage.base import ObjectNotFound

log = logging.getLogger("beachsaver.pitr")

BINLOG_DIR = "binlogs"
INDEX_KEY = f"{BINLOG_DIR}/index.json"
RPO_TARGET_S = 60.0
DRILL_TABLE = "pitr_drill_writes"
_LOG_NAME = re.compile(r"^(?P<base>[A-Za-z0-9][A-Za-z0-9_\-]*)\.(?P<seq>\d{6,})$")
_EVENT_HEADER = re.compile(rb"^#(\d{6}) +(\d{1,2}:\d{2}:\d{2}) server id \d+ +end_log_pos \d+")
_BINLOG_MAGIC = b"\xfebin"


class PitrError(BackupError):
    """Point-in-time recovery cannot proceed (the CLI answers exit 1 with the message)."""


# ---- the database server and its client tools -------------------------------------------------------


def mysql_url(database_url: str) -> URL:
    url = make_url(normalise_database_url(database_url))
    if is_sqlite(url.render_as_string(hide_password=False)):
        raise PitrError(
            "point-in-time restore needs MariaDB/MySQL with binary logging (the single-server "
            "deployment); SQLite has no binary log: restore a backup set without --until"
        )
    return url


def tool(*names: str) -> str:
    """The path of the first client program found (``mysqlbinlog``/``mariadb-binlog``, …)."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise PitrError(f"{names[0]} is not installed (apt-get install mariadb-client)")


def _option_value(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextlib.contextmanager
def client_options(url: URL) -> Iterator[Path]:
    """A private option file (mode 0600) with the URL's credentials for the MariaDB/MySQL clients,
    passed as ``--defaults-file`` so that no other option file is read and no password appears
    on a command line."""
    lines = ["[client]", f"user={_option_value(url.username or 'root')}"]
    if url.password:
        lines.append(f"password={_option_value(str(url.password))}")
    socket_path = url.query.get("unix_socket")
    if socket_path:
        lines.append(f"socket={_option_value(str(socket_path))}")
    else:
        lines += [f"host={_option_value(url.host or '127.0.0.1')}", f"port={url.port or 3306}", "protocol=TCP"]
    fd, name = tempfile.mkstemp(prefix="beachsaver-client-", suffix=".cnf")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        yield Path(name)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def _engine_for(url: URL) -> Any:
    return create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})


def _connect(engine: Any) -> Connection:
    try:
        connection: Connection = engine.connect()
    except DBAPIError as exc:
        raise PitrError(f"cannot reach the database: {exc.orig}") from None
    return connection


def _server_logs(conn: Connection) -> list[tuple[str, int]]:
    try:
        rows = conn.exec_driver_sql("SHOW BINARY LOGS").all()
    except DBAPIError as exc:
        raise PitrError(f"cannot list the binary logs (is log_bin on? BINLOG MONITOR granted?): {exc.orig}") from None
    return [(str(row[0]), int(row[1])) for row in rows]


def _sequence(name: str) -> tuple[str, int]:
    match = _LOG_NAME.match(name)
    if not match:
        raise PitrError(f"unexpected binary log name {name!r}")
    return match["base"], int(match["seq"])


def _ordered(names: Any) -> list[str]:
    return sorted(names, key=_sequence)


# ---- the archive index -------------------------------------------------------------------------------


def load_index(store: Storage) -> dict[str, Any]:
    try:
        index: dict[str, Any] = json.loads(store.get(INDEX_KEY))
    except Exception:
        index = {}
    index.setdefault("files", {})
    index.setdefault("gaps", [])
    return index


def _save_index(store: Storage, index: dict[str, Any]) -> None:
    index["updated_at"] = utcnow().isoformat()
    store.put(INDEX_KEY, json.dumps(index, indent=2, sort_keys=True).encode(), "application/json")


def _record(
    store: Storage,
    index: dict[str, Any],
    name: str,
    data: bytes,
    *,
    closed: bool,
    key: bytes | None,
    upload: bool = True,
) -> None:
    stored = encrypt(data, key) if key else data
    if upload:
        store.put(f"{BINLOG_DIR}/{name}", stored, "application/octet-stream")
    index["files"][name] = {
        "bytes": len(stored),
        "source_bytes": len(data),
        "sha256": hashlib.sha256(stored).hexdigest(),
        "closed": closed,
        "encrypted": key is not None,
        "archived_at": utcnow().isoformat(),
    }


def _fetch(client: Path, name: str, folder: Path) -> bytes:
    """One binary log as the server has it now (``mysqlbinlog --raw``)."""
    command = [
        tool("mysqlbinlog", "mariadb-binlog"),
        f"--defaults-file={client}",
        "--read-from-remote-server",
        "--raw",
        f"--result-file={folder}{os.sep}",
        name,
    ]
    done = subprocess.run(command, capture_output=True, timeout=600, check=False)
    path = folder / name
    if done.returncode != 0 or not path.is_file():
        raise PitrError(f"mysqlbinlog could not copy {name}: {done.stderr.decode(errors='replace').strip()[:300]}")
    data = path.read_bytes()
    path.unlink()
    return data


@contextlib.contextmanager
def _archive_lock(settings: Settings, *, wait: bool = True) -> Iterator[bool]:
    """One archiver at a time on this host (cron runs that overlap, the streaming service):
    an ``flock`` on ``$DATA_DIR/binlog-archive.lock``. Yields False when ``wait`` is off and
    another holds it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with (settings.data_dir / "binlog-archive.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def archive_binlogs(settings: Settings, target: str | None = None, *, flush: bool = True) -> int:
    """Copy every closed binary log not yet archived into ``<target>/binlogs/``; returns how many
    files were written. With ``flush`` (the default) ``FLUSH BINARY LOGS`` first closes the log
    in use, so everything committed before this call is archived; when the flush is not allowed
    the log in use is copied as it is now (``closed: false``) and copied again next time."""
    with _archive_lock(settings):
        return _archive_binlogs(settings, target, flush=flush)


def _archive_binlogs(settings: Settings, target: str | None, *, flush: bool) -> int:
    url = mysql_url(settings.resolved_database_url)
    store = open_target(target or default_target(settings), settings)
    key = backup._key(settings)
    engine = _engine_for(url)
    flushed = False
    try:
        conn = _connect(engine)
        with conn:
            if flush:
                try:
                    conn.exec_driver_sql("FLUSH BINARY LOGS")
                    flushed = True
                except DBAPIError as exc:
                    log.warning("FLUSH BINARY LOGS refused (%s): copying the open log instead", exc.orig)
            logs = _server_logs(conn)
            server_id = int(conn.exec_driver_sql("SELECT @@server_id").scalar_one())
    finally:
        engine.dispose()
    if not logs:
        raise PitrError("binary logging is off on the server (start it with --log-bin)")
    index = load_index(store)
    index["server_id"] = server_id
    files: dict[str, Any] = index["files"]
    current, current_size = logs[-1]
    wanted = [(name, size) for name, size in logs[:-1] if not files.get(name, {}).get("closed")]
    current_entry = files.get(current, {})
    # The log in use is copied only when it could not be closed, and never over the file the
    # streaming archiver is writing in place.
    if not flushed and not current_entry.get("stream") and current_entry.get("source_bytes") != current_size:
        wanted.append((current, current_size))
    new_gap = _find_gap(index, [name for name, _ in logs])
    written = 0
    with client_options(url) as client, tempfile.TemporaryDirectory(prefix="beachsaver-binlog-") as tmp:
        for name, size in wanted:
            data = _fetch(client, name, Path(tmp))
            closed = name != current
            if closed and len(data) != size:
                raise PitrError(f"{name}: copied {len(data)} bytes, the server reports {size}")
            _record(store, index, name, data, closed=closed, key=key)
            _save_index(store, index)
            written += 1
    if not wanted:
        _save_index(store, index)
    if new_gap:
        raise PitrError(
            f"binary logs {new_gap['missing']} were purged from the server before they were archived: "
            f"point-in-time restore cannot cross that gap; take a new backup now"
        )
    return written


def _find_gap(index: dict[str, Any], server_names: list[str]) -> dict[str, Any] | None:
    """Server logs purged before they were archived: recorded once in the index and reported."""
    archived = [n for n, entry in index["files"].items() if entry.get("closed")]
    if not archived or not server_names:
        return None
    last_base, last_seq = _sequence(_ordered(archived)[-1])
    first_base, first_seq = _sequence(server_names[0])
    if first_base != last_base or first_seq <= last_seq + 1:
        return None
    missing = [f"{last_base}.{seq:06d}" for seq in range(last_seq + 1, first_seq)]
    if any(gap.get("missing") == missing for gap in index["gaps"]):
        return None
    gap = {"missing": missing, "found_at": utcnow().isoformat()}
    index["gaps"].append(gap)
    return gap


# ---- continuous archiving -------------------------------------------------------------------------------


def _complete_events(data: bytes) -> bytes:
    """The longest prefix of a binary log made of whole events (a log still being written may
    end inside one); mysqlbinlog rolls back a transaction that lacks its commit."""
    if not data.startswith(_BINLOG_MAGIC):
        return b""
    pos = len(_BINLOG_MAGIC)
    while pos + 19 <= len(data):
        size = int.from_bytes(data[pos + 9 : pos + 13], "little")
        if size < 19 or pos + size > len(data):
            break
        pos += size
    return data[:pos]


def _spooled(folder: Path) -> list[Path]:
    names = [p.name for p in folder.iterdir() if p.is_file() and _LOG_NAME.match(p.name)] if folder.is_dir() else []
    return [folder / name for name in _ordered(names)]


def _publish(settings: Settings, store: Storage, spool: Path, *, direct: bool, key: bytes | None) -> int:
    """Record what the streaming client wrote: every log but the newest is closed."""
    with _archive_lock(settings, wait=False) as locked:
        if not locked:
            return 0  # a job run is writing the index: next round
        return _publish_locked(store, load_index(store), spool, direct=direct, key=key)


def _publish_locked(store: Storage, index: dict[str, Any], spool: Path, *, direct: bool, key: bytes | None) -> int:
    paths = _spooled(spool)
    changed = 0
    for number, path in enumerate(paths):
        closed = number < len(paths) - 1
        entry = index["files"].get(path.name, {})
        if entry.get("closed"):
            if not direct:
                path.unlink(missing_ok=True)
            continue
        size = path.stat().st_size
        if not closed and entry.get("source_bytes") == size:
            continue
        if direct and not closed:
            # The client keeps writing this file in place: note its size; the replay cuts it
            # at the last whole event and its checksum is taken once it is closed.
            index["files"][path.name] = {
                "bytes": size,
                "source_bytes": size,
                "sha256": None,
                "closed": False,
                "encrypted": False,
                "stream": True,
                "archived_at": utcnow().isoformat(),
            }
        else:
            data = path.read_bytes() if closed else _complete_events(path.read_bytes())
            _record(store, index, path.name, data, closed=closed, key=key, upload=not direct)
        changed += 1
        if closed and not direct:
            path.unlink(missing_ok=True)
    if changed:
        _save_index(store, index)
    return changed


def stream_binlogs(
    settings: Settings,
    target: str | None = None,
    *,
    stop: threading.Event,
    poll_s: float = 2.0,
    on_publish: Callable[[int], None] | None = None,
) -> int:
    """Archive continuously until ``stop`` is set: a ``mysqlbinlog --raw --stop-never`` client
    writes each event as the server commits it; every ``poll_s`` the files are published. A
    local, unencrypted target receives the files directly in ``<target>/binlogs/``; otherwise
    they are spooled in ``$DATA_DIR/binlog-spool/`` and copied (encrypted) to the target. The
    client is restarted (from the newest file) when the server goes away. Returns the number of
    files published."""
    url = mysql_url(settings.resolved_database_url)
    target = target or default_target(settings)
    store = open_target(target, settings)
    key = backup._key(settings)
    direct = isinstance(store, LocalStorage) and key is None
    spool = (
        store.root / BINLOG_DIR if isinstance(store, LocalStorage) and direct else settings.data_dir / "binlog-spool"
    )
    spool.mkdir(parents=True, exist_ok=True)
    published = 0
    process: subprocess.Popen[bytes] | None = None
    stderr: IO[bytes] | None = None
    backoff = 1.0
    with client_options(url) as client:
        try:
            while not stop.is_set():
                if process is None or process.poll() is not None:
                    if process is not None:
                        log.warning(
                            "binlog stream ended (exit %s: %s); restarting in %.0fs",
                            process.returncode,
                            _tail(stderr),
                            backoff,
                        )
                        if stderr is not None:
                            stderr.close()
                            stderr = None
                        if stop.wait(backoff):
                            break
                        backoff = min(backoff * 2, 30.0)
                    process, stderr = _start_stream(client, spool, load_index(store), url)
                    if process is None:
                        if stop.wait(backoff):
                            break
                        backoff = min(backoff * 2, 30.0)
                        continue
                elif backoff > 1.0 and process.poll() is None:
                    backoff = 1.0
                count = _publish(settings, store, spool, direct=direct, key=key)
                published += count
                if count and on_publish:
                    on_publish(count)
                stop.wait(poll_s)
        finally:
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if stderr is not None:
                stderr.close()
            with _archive_lock(settings):
                published += _publish_locked(store, load_index(store), spool, direct=direct, key=key)
    return published


def _tail(handle: IO[bytes] | None) -> str:
    if handle is None:
        return ""
    handle.seek(0)
    return handle.read()[-300:].decode(errors="replace").strip()


def _start_stream(
    client: Path, spool: Path, index: dict[str, Any], url: URL
) -> tuple[subprocess.Popen[bytes] | None, IO[bytes] | None]:
    """Start ``mysqlbinlog --stop-never`` from the first log not archived as closed."""
    engine = _engine_for(url)
    try:
        with engine.connect() as conn:
            logs = [name for name, _ in _server_logs(conn)]
    except (DBAPIError, PitrError) as exc:
        log.warning("binlog stream: server not reachable (%s)", type(exc).__name__)
        return None, None
    finally:
        engine.dispose()
    pending = [name for name in logs if not index["files"].get(name, {}).get("closed")]
    spooled = [p.name for p in _spooled(spool) if p.name in logs and not index["files"].get(p.name, {}).get("closed")]
    candidates = spooled or pending or logs[-1:]
    if not candidates:
        return None, None
    start = candidates[0]
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process; the caller closes it
    command = [
        tool("mysqlbinlog", "mariadb-binlog"),
        f"--defaults-file={client}",
        "--read-from-remote-server",
        "--raw",
        "--stop-never",
        f"--result-file={spool}{os.sep}",
        start,
    ]
    log.info("binlog stream: archiving from %s into %s", start, spool)
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr), stderr


def prune_binlogs(settings: Settings, target: str | None = None, *, keep_days: int | None = None) -> list[str]:
    """Delete archived logs older than the one the oldest recent backup starts from (a backup
    within ``keep_days``, default the automatic backups' 14 days); nothing while no such backup
    exists. Returns the removed names."""
    store = open_target(target or default_target(settings), settings)
    days = keep_days if keep_days is not None else backup.RETENTION_DAYS["auto"]
    cutoff = utcnow() - timedelta(days=days)
    starts = [
        info.manifest["binlog"]["file"]
        for info in backup.list_backups(settings, target)
        if info.status == "OK" and info.manifest.get("binlog") and info.created_at >= cutoff
    ]
    if not starts:
        return []
    oldest = _sequence(_ordered(starts)[0])
    index = load_index(store)
    removed = []
    for name in _ordered(index["files"]):
        base, seq = _sequence(name)
        if base == oldest[0] and seq < oldest[1]:
            store.delete(f"{BINLOG_DIR}/{name}")
            del index["files"][name]
            removed.append(name)
    if removed:
        _save_index(store, index)
    return removed


# ---- restore to a point in time --------------------------------------------------------------------------


def parse_until(value: str) -> datetime | None:
    """``--until``: ISO 8601 with an offset, or ``latest`` (everything archived; ``None``)."""
    if value.strip().lower() == "latest":
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"--until {value!r} is not ISO 8601 (e.g. 2026-11-26T12:03:00+09:00)") from None
    if parsed.tzinfo is None:
        raise ValueError(f"--until {value!r} needs an offset (e.g. 2026-11-26T12:03:00+09:00 or …Z)")
    return parsed


def _chain(index: dict[str, Any], first: str) -> list[str]:
    """The archived logs from ``first`` on, without a hole."""
    files = index["files"]
    if first not in files:
        raise PitrError(f"binary log {first} (where the backup starts) is not in the archive")
    base, seq = _sequence(first)
    chain = [first]
    later = [n for n in _ordered(files) if _sequence(n)[0] == base and _sequence(n)[1] > seq]
    for name in later:
        expected = f"{base}.{_sequence(chain[-1])[1] + 1:06d}"
        if name != expected:
            raise PitrError(f"binary log {expected} is missing from the archive: cannot replay past {chain[-1]}")
        chain.append(name)
    return chain


def restore_until(
    settings: Settings,
    backup_id: str,
    to_url: str,
    until: datetime | None,
    *,
    target: str | None = None,
    to_storage: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Restore backup ``backup_id`` into ``to_url``, then replay the archived binary logs from
    the backup's position up to ``until`` (exclusive, to the second: a transaction is replayed
    when its commit happened in a second before ``until``'s); ``None`` replays everything."""
    if until is not None and until.tzinfo is None:
        raise ValueError("until needs an offset")
    dst = mysql_url(to_url)
    if not dst.database:
        raise PitrError("the --to URL must name a database")
    target = target or default_target(settings)
    store = open_target(target, settings)
    try:
        manifest = json.loads(store.get(f"{backup_id}/{backup.MANIFEST}"))
    except ObjectNotFound:
        raise PitrError(f"no backup {backup_id} in {target}") from None
    if manifest.get("engine") != "mysql":
        raise PitrError(f"backup {backup_id} is a SQLite backup: point-in-time restore needs MariaDB/MySQL")
    position = manifest.get("binlog")
    if not position:
        raise PitrError(f"backup {backup_id} has no binary-log position (binary logging was off when it was taken)")
    snapshot_at = datetime.fromisoformat(position.get("snapshot_at") or manifest["created_at"])
    if until is not None and until < snapshot_at:
        raise PitrError(
            f"--until {until.isoformat()} is before backup {backup_id} was taken ({snapshot_at.isoformat()}): "
            "choose an older backup"
        )
    source_db = position.get("database") or make_url(normalise_database_url(settings.resolved_database_url)).database
    if not source_db:
        raise PitrError("cannot tell which database the binary logs should be replayed from")
    index = load_index(store)
    chain = _chain(index, position["file"])
    key = backup._key(settings)
    blobs = []
    for name in chain:
        entry = index["files"][name]
        blob = store.get(f"{BINLOG_DIR}/{name}")
        if entry.get("sha256") and hashlib.sha256(blob).hexdigest() != entry["sha256"]:
            if entry.get("closed", True) or len(blob) == entry.get("bytes"):
                raise PitrError(f"binlogs/{name}: checksum mismatch (changed or corrupted)")
        elif entry.get("closed", True) and not entry.get("sha256"):
            raise PitrError(f"binlogs/{name}: no checksum in the archive index")
        blobs.append((name, blob, entry))
    binlog_tool, mysql_tool = tool("mysqlbinlog", "mariadb-binlog"), tool("mysql", "mariadb")
    started = time.perf_counter()
    result = backup.restore(settings, backup_id, to_url, target=target, to_storage=to_storage, force=force)
    replay_started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="beachsaver-replay-") as tmp:
        paths = []
        for number, (name, blob, entry) in enumerate(blobs):
            data = decrypt(blob, key)
            if not entry.get("closed", True):
                data = _complete_events(data)
            started_at = _log_started_at(data)
            if number and until is not None and started_at is not None and started_at >= until:
                break  # this log and every later one begin after the instant asked for
            path = Path(tmp) / name
            path.write_bytes(data)
            paths.append(path)
        replay = _replay(binlog_tool, mysql_tool, paths, position, source_db, dst, until)
    result.update(
        until=until.astimezone(UTC).isoformat() if until else "latest",
        binlogs=chain,
        transactions=replay["transactions"],
        last_commit_at=replay["last_commit_at"],
        replay_s=round(time.perf_counter() - replay_started, 3),
        seconds=round(time.perf_counter() - started, 3),
    )
    return result


def _log_started_at(data: bytes) -> datetime | None:
    """The time of a binary log's first event (its format description: when the log began)."""
    if len(data) < len(_BINLOG_MAGIC) + 4 or not data.startswith(_BINLOG_MAGIC):
        return None
    return datetime.fromtimestamp(int.from_bytes(data[4:8], "little"), UTC)


REPLAY_BATCH = 200  # logs per mysqlbinlog run (keeps the command line short for long chains)


def _replay(
    binlog_tool: str,
    mysql_tool: str,
    paths: list[Path],
    position: dict[str, Any],
    source_db: str,
    dst: URL,
    until: datetime | None,
) -> dict[str, Any]:
    """Pipe ``mysqlbinlog`` (one run per batch of logs; a transaction never spans two logs)
    into one ``mysql`` session on the new database; counts the replayed commits."""
    options = [binlog_tool, "--no-defaults", "--disable-log-bin"]
    if _supports(binlog_tool, "gtid-strict-mode"):
        options.append("--skip-gtid-strict-mode")
    if until is not None:
        options.append(f"--stop-datetime={until.astimezone(UTC):%Y-%m-%d %H:%M:%S}")
    options.append(f"--database={source_db}")
    if dst.database != source_db:
        options.append(f"--rewrite-db={source_db}->{dst.database}")
    env = {**os.environ, "TZ": "UTC"}  # --stop-datetime and the event comments are in this zone
    stats: dict[str, Any] = {"transactions": 0, "last_commit_at": None}
    with (
        client_options(dst) as client,
        tempfile.TemporaryFile() as binlog_err,
        tempfile.TemporaryFile() as mysql_err,
    ):
        writer = subprocess.Popen(
            [mysql_tool, f"--defaults-file={client}", "--binary-mode", f"--database={dst.database}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=mysql_err,
        )
        assert writer.stdin is not None
        failed: str | None = None
        try:
            for first in range(0, len(paths), REPLAY_BATCH):
                command = list(options)
                if first == 0:
                    command.append(f"--start-position={int(position['position'])}")
                command += [str(p) for p in paths[first : first + REPLAY_BATCH]]
                if not _pump(command, env, binlog_err, writer.stdin, stats):
                    failed = "mysqlbinlog"
                    break
        except BrokenPipeError:
            failed = "mysql"
        finally:
            with contextlib.suppress(BrokenPipeError):
                writer.stdin.close()
            writer.wait()
        if writer.returncode != 0:
            mysql_err.seek(0)
            raise PitrError(
                f"replaying into the new database failed: {mysql_err.read().decode(errors='replace')[:500]}"
            )
        if failed:
            binlog_err.seek(0)
            raise PitrError(f"mysqlbinlog failed: {binlog_err.read().decode(errors='replace').strip()[:500]}")
    return stats


def _pump(command: list[str], env: dict[str, str], errors: IO[bytes], sink: IO[bytes], stats: dict[str, Any]) -> bool:
    reader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=env)
    assert reader.stdout is not None
    try:
        for line in reader.stdout:
            if line.startswith(b"#") and b"\tXid = " in line:
                match = _EVENT_HEADER.match(line)
                if match:
                    stats["transactions"] += 1
                    stats["last_commit_at"] = (
                        datetime.strptime(f"{match[1].decode()} {match[2].decode()}", "%y%m%d %H:%M:%S")
                        .replace(tzinfo=UTC)
                        .isoformat()
                    )
            sink.write(line)
    except BaseException:
        reader.kill()
        raise
    finally:
        reader.stdout.close()
        reader.wait()
    return reader.returncode == 0


_SUPPORT_CACHE: dict[tuple[str, str], bool] = {}


def _supports(program: str, option: str) -> bool:
    cached = _SUPPORT_CACHE.get((program, option))
    if cached is None:
        done = subprocess.run([program, "--no-defaults", "--help"], capture_output=True, timeout=30, check=False)
        cached = option.encode() in done.stdout
        _SUPPORT_CACHE[(program, option)] = cached
    return cached


# ---- the drill ----------------------------------------------------------------------------------------------


class _Writer(threading.Thread):
    """Inserts one row per committed transaction; records each acknowledged commit's time."""

    def __init__(self, url: URL, pause_s: float) -> None:
        super().__init__(name="beachsaver-pitr-drill-writer", daemon=True)
        self.url, self.pause_s = url, pause_s
        self.stop = threading.Event()
        self.acks: list[tuple[int, float]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        engine = _engine_for(self.url)
        try:
            with engine.connect() as conn:
                seq = 0
                while not self.stop.is_set():
                    seq += 1
                    conn.exec_driver_sql(
                        f"INSERT INTO {DRILL_TABLE} (seq, written_at) VALUES (%s, UTC_TIMESTAMP(6))", (seq,)
                    )
                    conn.commit()
                    self.acks.append((seq, time.time()))
                    self.stop.wait(self.pause_s)
        except BaseException as exc:
            self.error = exc
        finally:
            engine.dispose()


def pitr_drill(
    settings: Settings,
    target: str | None = None,
    *,
    mode: str = "job",
    interval_s: float = 60.0,
    cycles: int = 1,
    seconds: float = 10.0,
    pause_s: float = 0.02,
) -> dict[str, Any]:
    """The RPO drill: back up, write continuously (one committed row at a time, each
    acknowledgement timed), archive as production does, lose the server at the worst moment,
    restore the latest point into a scratch database and measure what was lost.

    ``mode="job"``: ``archive_binlogs`` every ``interval_s`` (as cron or the worker runs it);
    the writer stops just before the next run would have happened, after ``cycles`` runs — the
    largest loss that schedule allows. ``mode="stream"``: the streaming archiver runs while the
    writer writes for ``seconds``; the archiver is cut off the moment the writer stops.
    The record goes to ``$DATA_DIR/drills/pitr-<backup id>.json``.
    """
    if mode not in ("job", "stream"):
        raise PitrError("mode must be 'job' or 'stream'")
    source = mysql_url(settings.resolved_database_url)
    target = target or default_target(settings)
    started = time.perf_counter()
    _drill_table(source, drop_only=True)
    info = backup.create(settings, label="drill", target=target)
    _drill_table(source)
    writer = _Writer(source, pause_s)
    stream_stop = threading.Event()
    streamer: threading.Thread | None = None
    archive_runs = 0
    archive_s: list[float] = []
    try:
        if mode == "job":
            archive_binlogs(settings, target)
            schedule = time.monotonic()
            writer.start()
            for _ in range(cycles):
                schedule += interval_s
                time.sleep(max(0.0, schedule - time.monotonic()))
                run_started = time.monotonic()
                archive_binlogs(settings, target)
                archive_s.append(round(time.monotonic() - run_started, 3))
                archive_runs += 1
            time.sleep(max(0.0, schedule + interval_s - 0.25 - time.monotonic()))
        else:
            streamer = threading.Thread(
                target=stream_binlogs,
                args=(settings, target),
                kwargs={"stop": stream_stop, "poll_s": 0.5},
                name="beachsaver-pitr-drill-stream",
                daemon=True,
            )
            streamer.start()
            time.sleep(1.0)  # the client connects and catches up with the backup's position
            writer.start()
            time.sleep(seconds)
    finally:
        writer.stop.set()
        if writer.is_alive():
            writer.join()
        stream_stop.set()  # the server is "lost" now: whatever the archive holds is all there is
        if streamer is not None:
            streamer.join()
    if writer.error is not None:
        _drill_table(source, drop_only=True)
        raise PitrError(f"the drill's writer failed: {writer.error}")
    scratch_root = Path(tempfile.mkdtemp(prefix="beachsaver-pitr-drill-"))
    try:
        scratch_db, cleanup = backup._scratch_database(settings, scratch_root)
        try:
            restore_started = time.perf_counter()
            result = restore_until(
                settings,
                info.id,
                scratch_db,
                None,
                target=target,
                to_storage=(scratch_root / "files").resolve().as_uri(),
            )
            restore_s = time.perf_counter() - restore_started
            restored = _restored_seqs(make_url(normalise_database_url(scratch_db)))
        finally:
            cleanup()
    finally:
        shutil.rmtree(scratch_root, ignore_errors=True)
        _drill_table(source, drop_only=True)
    acked = dict(writer.acks)
    last_seq, last_ack = writer.acks[-1] if writer.acks else (0, time.time())
    top = max(restored, default=0)
    first_ack = writer.acks[0][1] if writer.acks else last_ack
    loss_s = last_ack - acked[top] if top else last_ack - first_ack
    holes = sorted(set(range(1, top + 1)) - set(restored))
    record = {
        "drill_at": utcnow().isoformat(),
        "kind": "pitr",
        "backup": info.id,
        "mode": mode,
        "interval_s": interval_s if mode == "job" else None,
        "archive_runs": archive_runs if mode == "job" else None,
        "archive_s": archive_s if mode == "job" else None,
        "rows_acknowledged": len(writer.acks),
        "rows_restored": len(restored),
        "rows_lost": last_seq - top,
        "missing_before_last_restored": len(holes),
        "unacknowledged_restored": len([s for s in restored if s not in acked]),
        "last_ack_at": datetime.fromtimestamp(last_ack, UTC).isoformat(),
        "last_restored_ack_at": datetime.fromtimestamp(acked[top], UTC).isoformat() if top else None,
        "data_loss_s": round(max(loss_s, 0.0), 3),
        "rpo_target_s": RPO_TARGET_S,
        "restore_s": round(restore_s, 3),
        "replay_s": result["replay_s"],
        "binlogs_replayed": len(result["binlogs"]),
        "drill_s": round(time.perf_counter() - started, 3),
    }
    record["within_target"] = (
        record["data_loss_s"] <= RPO_TARGET_S and not holes and not record["unacknowledged_restored"]
    )
    folder = settings.data_dir / "drills"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"pitr-{info.id}.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    return record


def _drill_table(url: URL, *, drop_only: bool = False) -> None:
    engine = _engine_for(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {DRILL_TABLE}")
            if not drop_only:
                conn.exec_driver_sql(
                    f"CREATE TABLE {DRILL_TABLE} (id BIGINT AUTO_INCREMENT PRIMARY KEY, seq INT NOT NULL UNIQUE, "
                    "written_at DATETIME(6) NOT NULL) ENGINE=InnoDB"
                )
    finally:
        engine.dispose()


def _restored_seqs(url: URL) -> list[int]:
    engine = _engine_for(url)
    try:
        with engine.connect() as conn:
            try:
                return [int(v) for v in conn.exec_driver_sql(f"SELECT seq FROM {DRILL_TABLE} ORDER BY seq").scalars()]
            except DBAPIError:
                return []  # not even the table's creation was archived
    finally:
        engine.dispose()
