"""The process's runtime objects: settings, engine, session factory, PII cipher.

Sessions carry the runtime in ``session.info`` so that services and jobs reach settings and
the cipher through the session they were given, without globals.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from beachsaver.config import Settings
from beachsaver.core.crypto import PiiCipher
from beachsaver.core.db import make_engine


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    cipher: PiiCipher


def build_runtime(settings: Settings) -> Runtime:
    engine = make_engine(
        settings.resolved_database_url, pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow
    )
    cipher = PiiCipher(settings.pii_key_bytes, settings.phone_hash_key_bytes)
    runtime = Runtime(settings=settings, engine=engine, session_factory=None, cipher=cipher)  # type: ignore[arg-type]
    from beachsaver.ops import slowlog

    slowlog.install(engine, settings.data_dir)
    runtime.session_factory = sessionmaker(
        bind=engine, expire_on_commit=False, autoflush=True, info={"runtime": runtime}
    )
    return runtime


def runtime_of(db: Session) -> Runtime:
    runtime: Runtime = db.info["runtime"]
    return runtime


def settings_of(db: Session) -> Settings:
    return runtime_of(db).settings


def cipher_of(db: Session) -> PiiCipher:
    return runtime_of(db).cipher
