"""Database connections of the service: one engine per URL, one transaction helper, migrations.

SQLite (the default, a file in the data dir) runs in WAL mode so readers never wait for the
writing workers, and every writing transaction starts with ``BEGIN IMMEDIATE``: one that reads
and then writes would otherwise fail with "database is locked" instead of waiting its turn.
Transactions that only read go through ``reader(engine)`` and take no lock at all.
PostgreSQL is reached through psycopg 3 (``postgresql://`` URLs are accepted as they are).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from gmopt.settings import Settings, get_settings

ALEMBIC_DIR = Path(__file__).resolve().parent / "alembic"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# More connections than the API's thread pool (40): a request holding a connection while it waits
# for a thread must never be starved by threads all waiting for a connection.
POOL = {"pool_size": 10, "max_overflow": 40}


def database_url(settings: Settings | None = None) -> str:
    """The configured URL, or the SQLite file ``<data_dir>/gmopt.sqlite``; psycopg 3 for PostgreSQL."""
    settings = settings or get_settings()
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{settings.data_dir / 'gmopt.sqlite'}"
    url = make_url(settings.database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


@functools.cache
def get_engine(url: str) -> Engine:
    """One pooled engine per URL and process (a forked worker must call ``dispose``)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **POOL)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **POOL)


def _sqlite_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" event below opens transactions
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection) -> None:
    connection.exec_driver_sql(f"BEGIN {connection.get_execution_options().get('sqlite_begin', 'IMMEDIATE')}")


@functools.cache
def reader(engine: Engine) -> Engine:
    """The same database for transactions that only read: on SQLite they take no write lock."""
    return engine.execution_options(sqlite_begin="DEFERRED")


@functools.cache
def _session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit when the block ends, roll back and re-raise when it fails."""
    session = _session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str | None = None) -> str:
    """Bring the schema to the newest revision; safe when several processes start at once."""
    url = url or database_url()
    if url.startswith("sqlite"):
        database = Path(make_url(url).database or "")
        database.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{database}.migrate-lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # PostgreSQL uses an advisory lock instead (alembic/env.py)
            command.upgrade(alembic_config(url), "head")
    else:
        command.upgrade(alembic_config(url), "head")
    return url


def open_database(settings: Settings | None = None) -> Engine:
    """The migrated engine of the configured database: what the API and the workers start with."""
    return get_engine(upgrade(database_url(settings)))
