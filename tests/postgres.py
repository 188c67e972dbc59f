"""Test databases: a throwaway PostgreSQL cluster for the session, and a fresh database per test.

Import the fixtures into a test module (``from tests.postgres import database_url, postgres_server``).
``database_url`` is parametrised over SQLite and PostgreSQL, so one storage test suite runs on
both back-ends (optuna's ``pytest_storages`` pattern). The cluster is Debian's PostgreSQL
(``make test`` installs it), run as the ``postgres`` user when the tests run as root, listening
only on a unix socket inside its temporary folder.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gmopt.settings import get_settings

_databases = itertools.count(1)


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run 'make test-system-deps' (apt-get install postgresql)")
    return found[-1].parent


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server for this test session; yields the libpq connection string of its admin database."""
    folder = Path(tempfile.mkdtemp(prefix="gmopt-pg-"))
    data, port = folder / "data", "5432"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    binaries = _postgres_bin()
    run = lambda *args: subprocess.run(_as_postgres(list(args)), check=True, capture_output=True, text=True)  # noqa: E731
    run(str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
    options = f"-k {folder} -c listen_addresses='' -p {port} -c fsync=off -c max_connections=200"
    run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")
    try:
        yield f"host={folder} port={port} user=postgres dbname=postgres"
    finally:
        run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def new_postgres_database(server: str) -> str:
    """A fresh empty database on ``server``; returns its SQLAlchemy URL (psycopg 3)."""
    name = f"gmopt_test_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    params = dict(item.split("=", 1) for item in server.split())
    return f"postgresql+psycopg://postgres@/{name}?host={params['host']}&port={params['port']}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The URL of an empty database of each back-end, also set as GMOPT_DATABASE_URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'gmopt.sqlite'}"
    else:
        url = new_postgres_database(request.getfixturevalue("postgres_server"))
    monkeypatch.setenv("GMOPT_DATABASE_URL", url)
    get_settings.cache_clear()
    return url
