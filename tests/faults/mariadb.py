"""A throwaway MariaDB server for fault and point-in-time tests (06-real-components.md).

The shared server on 3306 is never stopped: each test module gets its own ``mariadbd`` on a
free loopback port, with its own data directory (copied from one ``mariadb-install-db`` made per
test session) and binary logging on (ROW format). ``stop()`` sends SIGTERM (or SIGKILL) to the
server's own process group, ``start()`` brings it back on the same port and data directory.
Without the binaries the tests skip, unless ``CI=true``: then they fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from beachsaver.core.migrate import upgrade

BINARIES = ("mariadb-install-db", "mariadbd", "mysqlbinlog", "mysql", "mysqldump")
SERVER_OPTIONS = ("--innodb-buffer-pool-size=64M", "--innodb-log-file-size=8M")


def _which(name: str) -> str | None:
    return shutil.which(name) or next(
        (str(Path(d) / name) for d in ("/usr/sbin", "/usr/local/sbin") if (Path(d) / name).is_file()), None
    )


def require_binaries() -> dict[str, str]:
    found = {name: _which(name) for name in BINARIES}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        message = f"MariaDB binaries missing: {', '.join(missing)} (apt-get install -y mariadb-server)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return {name: str(path) for name, path in found.items()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def install_template(folder: Path) -> Path:
    binaries = require_binaries()
    datadir = folder / "data"
    done = subprocess.run(
        [
            binaries["mariadb-install-db"],
            "--no-defaults",
            "--user=root",
            f"--datadir={datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *SERVER_OPTIONS,
        ],
        capture_output=True,
        timeout=180,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"mariadb-install-db failed: {done.stderr.decode(errors='replace')[-2000:]}")
    return datadir


class PrivateMariaDB:
    """One private server; ``url(db)`` gives a ``mysql://root@127.0.0.1:PORT/db`` URL."""

    def __init__(self, base: Path, template: Path) -> None:
        self.binaries = require_binaries()
        self.base = base
        self.datadir = base / "data"
        shutil.copytree(template, self.datadir)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._schema: bytes | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 60.0) -> float:
        """Start the server and wait until it accepts a query; returns the seconds it took."""
        assert not self.running
        started = time.monotonic()
        log = (self.base / "mariadbd.out").open("ab")
        self.process = subprocess.Popen(
            [
                self.binaries["mariadbd"],
                "--no-defaults",
                "--user=root",
                f"--datadir={self.datadir}",
                f"--socket={self.base / 'mysqld.sock'}",
                f"--pid-file={self.base / 'mysqld.pid'}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                f"--log-bin={self.datadir / 'binlog'}",
                "--server-id=1",
                "--binlog-format=ROW",
                f"--log-error={self.base / 'error.log'}",
                *SERVER_OPTIONS,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited ({self.process.returncode}): {self.error_log()[-2000:]}")
            try:
                pymysql.connect(host="127.0.0.1", port=self.port, user="root", connect_timeout=1).close()
                return time.monotonic() - started
            except pymysql.err.OperationalError:
                if time.monotonic() - started > timeout:
                    self.stop(signal.SIGKILL)
                    raise RuntimeError(f"mariadbd did not answer within {timeout} s") from None
                time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> None:
        """Stop the server (its own process group only) and wait until it has exited."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGCONT)  # in case it was frozen
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    def freeze(self) -> None:
        """SIGSTOP: the server hangs (connections are accepted by the kernel, never answered),
        as a database behind a network black hole would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGCONT)

    def error_log(self) -> str:
        path = self.base / "error.log"
        return path.read_text(errors="replace") if path.is_file() else ""

    def query(self, sql: str, database: str | None = None) -> list[tuple[object, ...]]:
        conn = pymysql.connect(host="127.0.0.1", port=self.port, user="root", database=database, autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return list(cur.fetchall())
        finally:
            conn.close()

    def url(self, database: str) -> str:
        return f"mysql://root@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "bs", *, migrate: bool = True) -> str:
        """A new database (with the schema the migrations build unless ``migrate`` is off);
        returns its URL. The migrations run once per server; later databases get the same
        schema (and ``alembic_version``) from ``mysqldump`` of that first one, much faster."""
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.query(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        url = self.url(name)
        if migrate:
            if self._schema is None:
                upgrade(url)
                self._schema = self._dump_schema(name)
            else:
                done = subprocess.run(
                    [self.binaries["mysql"], "--no-defaults", "-h127.0.0.1", f"-P{self.port}", "-uroot", name],
                    input=self._schema,
                    capture_output=True,
                    timeout=120,
                    check=False,
                )
                assert done.returncode == 0, done.stderr.decode(errors="replace")
        return url

    def _dump_schema(self, name: str) -> bytes:
        base = [self.binaries["mysqldump"], "--no-defaults", "-h127.0.0.1", f"-P{self.port}", "-uroot"]
        schema = subprocess.run([*base, "--no-data", name], capture_output=True, timeout=120, check=True).stdout
        version = subprocess.run(
            [*base, "--no-create-info", name, "alembic_version"], capture_output=True, timeout=120, check=True
        ).stdout
        return schema + version


@pytest.fixture(scope="session")
def mariadb_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_template(tmp_path_factory.mktemp("mariadb-template"))


@pytest.fixture(scope="module")
def private_mariadb(mariadb_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateMariaDB]:
    server = PrivateMariaDB(tmp_path_factory.mktemp("mariadb"), mariadb_template)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mariadb(private_mariadb: PrivateMariaDB) -> PrivateMariaDB:
    """The module's server, running (a test that stopped it and failed leaves it stopped)."""
    if not private_mariadb.running:
        private_mariadb.start()
    return private_mariadb
