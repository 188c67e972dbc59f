"""The run-store contract, run against every store back-end available here (the file store;
the SQL store's tests add their back-end to ``STORES``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from optimizer.file_store import FileRunStore
from optimizer.store import EvaluationRecord, RunStore

STORES: dict[str, Callable[[Path], RunStore]] = {"file": lambda folder: FileRunStore(folder / "run")}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> RunStore:
    return STORES[request.param](tmp_path)


def record(index: int, generation: int = 0, feasible: bool = True, **metrics: object) -> EvaluationRecord:
    return EvaluationRecord(
        index=index, generation=generation, var=[40 + index, 41], widths_um=[3.6, 3.69],
        metrics={"gain_db": 42.0 + index, "converged": True, "error": None, **metrics},
        curves={"vin_v": [-0.2, 0.0, 0.2], "iout_a": [-1e-4, 0.0, 1e-4]},
        objectives=[1e-5, -42.0, 1e-3], constraints=[-0.1, -0.2], feasible=feasible, converged=True,
        wall_time_s=0.01,
    )


def test_header_and_status(store: RunStore) -> None:
    assert store.read_header() is None
    assert store.status() == "new"
    store.write_header({"topology": "fig7"}, {"seed": 1})
    store.set_status("running", "generation 0")
    assert store.read_header() == ({"topology": "fig7"}, {"seed": 1})
    assert store.status() == "running"


def test_adding_an_index_twice_keeps_the_first(store: RunStore) -> None:
    store.add_evaluations([record(0), record(1)])
    store.add_evaluations([record(1, gain_db=99.0), record(2)])
    stored = store.evaluations()
    assert [r.index for r in stored] == [0, 1, 2]
    assert stored[1].metrics["gain_db"] == 43.0
    assert [r.index for r in store.evaluations(generation=0)] == [0, 1, 2]
    assert store.evaluations(generation=1) == []


def test_inf_and_nan_survive_the_round_trip(store: RunStore) -> None:
    failed = record(0, feasible=False, gain_db=math.nan, bandwidth_hz=math.inf, error="no convergence")
    failed.objectives = [1.0, math.inf, -math.inf]
    failed.curves = {"vin_v": [math.nan]}
    store.add_evaluations([failed])
    (back,) = store.evaluations()
    assert math.isnan(back.metrics["gain_db"]) and back.metrics["bandwidth_hz"] == math.inf
    assert back.objectives[1:] == [math.inf, -math.inf]
    assert math.isnan(back.curves["vin_v"][0])
    assert back.metrics["error"] == "no convergence"
    assert back.to_json() == failed.to_json()


def test_a_generation_counts_once_its_checkpoint_is_stored(store: RunStore) -> None:
    assert store.last_checkpoint() is None and store.front() == [] and store.hypervolumes() == []
    store.add_evaluations([record(0), record(1, feasible=False), record(2, generation=1)])
    store.complete_generation(0, b"state-0", 0.25, [0])
    store.complete_generation(1, b"state-1", 0.5, [0, 2])
    assert store.last_checkpoint() == (1, b"state-1")
    assert store.hypervolumes() == [(0, 0.25), (1, 0.5)]
    assert [r.index for r in store.front()] == [0, 2]


def test_a_torn_last_line_of_a_killed_run_is_dropped(tmp_path: Path) -> None:
    store = FileRunStore(tmp_path / "run")
    store.add_evaluations([record(0), record(1)])
    path = tmp_path / "run" / "evaluations.jsonl"
    path.write_text(path.read_text() + '{"index": 2, "gener')
    reopened = FileRunStore(tmp_path / "run")
    assert [r.index for r in reopened.evaluations()] == [0, 1]
    reopened.add_evaluations([record(2)])
    assert [r.index for r in FileRunStore(tmp_path / "run").evaluations()] == [0, 1, 2]
