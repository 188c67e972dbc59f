"""The SQL run store and the job queue, on SQLite and on a real PostgreSQL (same tests for both)."""

from __future__ import annotations

import math
import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.db import get_engine, session_scope, upgrade
from app.models import Run, utc_now
from app.queue import QueueFull, claim_next, enqueue, heartbeat, request_cancel, requeue_stale
from app.sql_store import SqlRunStore
from gmopt.settings import get_settings
from optimizer.spec import RunSpec
from optimizer.store import EvaluationRecord
from tests.postgres import database_url, postgres_server  # noqa: F401  (fixtures)

INF, NAN = math.inf, math.nan


@pytest.fixture
def engine(database_url: str):  # noqa: F811
    return get_engine(upgrade(database_url))


def new_run(engine, owner: str = "anonymous", **spec_fields) -> int:
    spec = RunSpec(topology="fig7", pop_size=4, generations=2, **spec_fields).model_dump(mode="json")
    with session_scope(engine) as session:
        return enqueue(session, spec, owner, get_settings()).id


def record(index: int, generation: int = 0, objectives=(1e-6, -45.0, 2e-4), constraints=(-1.0, 0.5), **metrics) -> EvaluationRecord:
    return EvaluationRecord(
        index=index, generation=generation, var=[100 + index, 200, 300, 400, 500],
        widths_um=[9.0 + index, 18.0, 27.0, 36.0, 45.0],
        metrics={"gain_db": 45.5, "all_saturated": True, "note": "ok", "offset_v": None, **metrics},
        curves={"vin_v": [-0.2, 0.0, 0.2], "iout_a": [-7e-4, 1e-6, 7e-4]},
        objectives=list(objectives), constraints=list(constraints), feasible=True, converged=True,
        error=None, wall_time_s=0.004, cached=False,
    )


def same_floats(got: list[float], expected: list[float]) -> bool:
    return len(got) == len(expected) and all(
        (math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(got, expected)
    )


def test_header_is_none_until_written_then_round_trips(engine) -> None:
    store = SqlRunStore(engine, new_run(engine))
    assert store.read_header() is None
    spec = RunSpec(topology="fig7", pop_size=4, generations=2).model_dump(mode="json")
    provenance = {"seed": 1, "model_hash": "ab" * 32, "gmopt_version": "0.1.0", "ngspice_version": "39"}
    store.write_header(spec, provenance)
    assert store.read_header() == (spec, provenance)
    with session_scope(engine) as session:
        run = session.get(Run, store.run_id)
        assert (run.model_hash, run.ngspice_version, run.gmopt_version) == ("ab" * 32, "39", "0.1.0")


def test_non_finite_values_survive_a_round_trip(engine) -> None:
    store = SqlRunStore(engine, new_run(engine))
    failed = record(0, objectives=(INF, -INF, NAN), constraints=(NAN, INF), gain_db=NAN, power_w=-INF)
    failed.curves = {"vin_v": [0.0, 0.1], "iout_a": [NAN, INF]}
    store.add_evaluations([failed])
    (back,) = store.evaluations()
    assert same_floats(back.objectives, [INF, -INF, NAN])
    assert same_floats(back.constraints, [NAN, INF])
    assert math.isnan(back.metrics["gain_db"]) and back.metrics["power_w"] == -INF
    assert back.metrics["all_saturated"] is True and back.metrics["note"] == "ok" and back.metrics["offset_v"] is None
    assert same_floats(back.curves["iout_a"], [NAN, INF])
    store.complete_generation(0, b"state", NAN, [0])
    store.complete_generation(1, b"state", INF, [0])
    assert [g for g, _ in store.hypervolumes()] == [0, 1]
    assert math.isnan(store.hypervolumes()[0][1]) and store.hypervolumes()[1][1] == INF


def test_evaluations_are_idempotent_by_index_and_exact(engine) -> None:
    store = SqlRunStore(engine, new_run(engine))
    first = [record(i) for i in range(4)]
    store.add_evaluations(first)
    changed = record(2, objectives=(9.0, 9.0, 9.0))
    store.add_evaluations([changed, record(4, generation=1), record(5, generation=1)])
    stored = store.evaluations()
    assert [r.index for r in stored] == [0, 1, 2, 3, 4, 5]
    assert stored[2] == first[2]  # the first write of an index wins
    assert stored[0] == first[0]
    assert [r.index for r in store.evaluations(generation=1)] == [4, 5]
    with session_scope(engine) as session:
        assert session.get(Run, store.run_id).evaluations_done == 6


def test_generations_checkpoints_and_front(engine) -> None:
    store = SqlRunStore(engine, new_run(engine))
    assert store.last_checkpoint() is None and store.front() == [] and store.hypervolumes() == []
    store.add_evaluations([record(i) for i in range(4)])
    store.complete_generation(0, b"gen0", 0.25, [1, 3])
    store.add_evaluations([record(i, generation=1) for i in range(4, 8)])
    store.complete_generation(1, b"gen1" * 1000, 0.5, [3, 5, 6])
    store.complete_generation(1, b"other", 0.9, [0])  # a second worker completing it again changes nothing
    assert store.last_checkpoint() == (1, b"gen1" * 1000)
    assert store.hypervolumes() == [(0, 0.25), (1, 0.5)]
    assert [r.index for r in store.front()] == [3, 5, 6]
    assert [r.index for r in store.front_of(0)] == [1, 3]
    with session_scope(engine) as session:
        assert session.get(Run, store.run_id).generation == 1


def test_status_writes_follow_the_lease(engine) -> None:
    run_id = new_run(engine)
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


def test_concurrent_claims_never_hand_a_run_out_twice(engine) -> None:
    run_ids = {new_run(engine, owner=f"owner-{i % 4}") for i in range(24)}
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


def test_stale_runs_are_requeued_and_the_old_worker_loses_its_lease(engine) -> None:
    run_id, fresh_id = new_run(engine), new_run(engine)
    assert claim_next(engine, "dead") == run_id and claim_next(engine, "alive") == fresh_id
    assert heartbeat(engine, run_id, "dead").held
    with session_scope(engine) as session:
        session.execute(update(Run).where(Run.id == run_id).values(heartbeat_at=utc_now() - timedelta(seconds=120)))
    assert requeue_stale(engine, stale_after_s=60) == [run_id]
    assert claim_next(engine, "rescuer") == run_id
    assert not heartbeat(engine, run_id, "dead").held
    assert heartbeat(engine, run_id, "rescuer").held and heartbeat(engine, fresh_id, "alive").held


def test_cancel_of_queued_and_running_runs(engine) -> None:
    queued_id, running_id = new_run(engine), new_run(engine)
    claim_next(engine, "w")  # takes the oldest: queued_id
    with session_scope(engine) as session:
        request_cancel(session, session.get(Run, running_id))
        request_cancel(session, session.get(Run, queued_id))
    with session_scope(engine) as session:
        assert session.get(Run, running_id).status == "cancelled"
    lease = heartbeat(engine, queued_id, "w")
    assert lease.held and lease.cancel_requested


def test_queue_limits(engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GMOPT_MAX_ACTIVE_RUNS_PER_TOKEN", "2")
    monkeypatch.setenv("GMOPT_MAX_QUEUED_RUNS", "3")
    get_settings.cache_clear()
    new_run(engine, owner="alice")
    new_run(engine, owner="alice")
    with pytest.raises(QueueFull, match="limit 2"):
        new_run(engine, owner="alice")
    new_run(engine, owner="bob")
    with pytest.raises(QueueFull, match="queue is full"):
        new_run(engine, owner="carol")
