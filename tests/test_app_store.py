"""What only the SQL run store does (leases, completing a generation twice) and the job queue, on SQLite and on a
real PostgreSQL (same tests for both). The contract every run store keeps is ``test_optimizer_store.py``."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.db import session_scope
from app.models import Run, utc_now
from app.queue import QueueFull, claim_next, heartbeat, request_cancel, requeue_stale
from app.sql_store import SqlRunStore
from gmopt.settings import get_settings


def test_the_run_row_follows_its_store(engine, new_run, make_record) -> None:
    """Provenance columns, the evaluation count and the last generation are kept on the run's row."""
    store = SqlRunStore(engine, new_run())
    store.write_header({"topology": "fig7"}, {"model_hash": "ab" * 32, "gmopt_version": "0.1.0", "ngspice_version": "39"})
    store.add_evaluations([make_record(i) for i in range(4)])
    store.add_evaluations([make_record(3), make_record(4, generation=1), make_record(5, generation=1)])
    store.complete_generation(0, b"gen0", 0.25, [1, 3])
    store.complete_generation(1, b"gen1", 0.5, [3, 5])
    with session_scope(engine) as session:
        run = session.get(Run, store.run_id)
        assert (run.model_hash, run.ngspice_version, run.gmopt_version) == ("ab" * 32, "39", "0.1.0")
        assert (run.evaluations_done, run.generation) == (6, 1)


def test_a_generation_completed_twice_keeps_the_first(engine, new_run, make_record) -> None:
    """A second worker completing the same generation (after a lease was lost) changes nothing."""
    store = SqlRunStore(engine, new_run())
    store.add_evaluations([make_record(i) for i in range(4)])
    store.complete_generation(0, b"gen0", 0.25, [1, 3])
    store.complete_generation(0, b"other", 0.9, [0])
    assert store.last_checkpoint() == (0, b"gen0") and store.hypervolumes() == [(0, 0.25)]
    assert [r.index for r in store.front_of(0)] == [1, 3]

def test_status_writes_follow_the_lease(engine, new_run) -> None:
    run_id = new_run()
    assert claim_next(engine, "worker-a") == run_id
    SqlRunStore(engine, run_id, lease="worker-b").set_status("failed", "not mine")
    owner = SqlRunStore(engine, run_id, lease="worker-a")
    assert owner.status() == "running"
    owner.set_status("cancelled")  # nobody asked: the worker is going away, so the run waits again
    assert owner.status() == "queued"
    assert claim_next(engine, "worker-c") == run_id
    with session_scope(engine) as session:
        request_cancel(session, session.get(Run, run_id))
    resumed = SqlRunStore(engine, run_id, lease="worker-c")
    resumed.set_status("cancelled", "stopped by the user")
    assert resumed.status() == "cancelled"
    with session_scope(engine) as session:
        run = session.get(Run, run_id)
        assert run.attempts == 2 and run.finished_at is not None


def test_concurrent_claims_never_hand_a_run_out_twice(engine, new_run) -> None:
    run_ids = {new_run(owner=f"owner-{i % 4}") for i in range(24)}
    claims: dict[str, list[int]] = {}

    def worker(name: str) -> None:
        mine = claims.setdefault(name, [])
        while (run_id := claim_next(engine, name)) is not None:
            mine.append(run_id)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claimed = [run_id for runs in claims.values() for run_id in runs]
    assert sorted(claimed) == sorted(run_ids)  # each run exactly once
    with session_scope(engine) as session:
        for run_id in run_ids:
            run = session.get(Run, run_id)
            assert run.status == "running" and run.attempts == 1 and run_id in claims[run.worker_id]


def test_stale_runs_are_requeued_and_the_old_worker_loses_its_lease(engine, new_run) -> None:
    run_id, fresh_id = new_run(), new_run()
    assert claim_next(engine, "dead") == run_id and claim_next(engine, "alive") == fresh_id
    assert heartbeat(engine, run_id, "dead").held
    with session_scope(engine) as session:
        session.execute(update(Run).where(Run.id == run_id).values(heartbeat_at=utc_now() - timedelta(seconds=120)))
    assert requeue_stale(engine, stale_after_s=60) == [run_id]
    assert claim_next(engine, "rescuer") == run_id
    assert not heartbeat(engine, run_id, "dead").held
    assert heartbeat(engine, run_id, "rescuer").held and heartbeat(engine, fresh_id, "alive").held


def test_cancel_of_queued_and_running_runs(engine, new_run) -> None:
    queued_id, running_id = new_run(), new_run()
    claim_next(engine, "w")  # takes the oldest: queued_id
    with session_scope(engine) as session:
        request_cancel(session, session.get(Run, running_id))
        request_cancel(session, session.get(Run, queued_id))
    with session_scope(engine) as session:
        assert session.get(Run, running_id).status == "cancelled"
    lease = heartbeat(engine, queued_id, "w")
    assert lease.held and lease.cancel_requested


def test_queue_limits(engine, new_run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GMOPT_MAX_ACTIVE_RUNS_PER_TOKEN", "2")
    monkeypatch.setenv("GMOPT_MAX_QUEUED_RUNS", "3")
    get_settings.cache_clear()
    new_run(owner="alice")
    new_run(owner="alice")
    with pytest.raises(QueueFull, match="limit 2"):
        new_run(owner="alice")
    new_run(owner="bob")
    with pytest.raises(QueueFull, match="queue is full"):
        new_run(owner="carol")


def test_the_migrations_build_the_models_schema(database_url: str) -> None:
    """Alembic's head is what app.models declares, on SQLite and PostgreSQL: autogenerate finds nothing to add."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.db import get_engine, upgrade
    from app.models import Base

    with get_engine(upgrade(database_url)).connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
