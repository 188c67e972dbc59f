"""The run-store contract: one suite run over every store back-end (``run_store`` in conftest.py:
the file store, the SQL store on SQLite and on PostgreSQL), as optuna runs one suite over every
storage. What only one back-end does (torn lines of the file store, leases and the queue of the
SQL store) is tested beside it, in this module and in ``test_app_store.py``."""

from __future__ import annotations

import json
import math
from pathlib import Path

from optimizer.file_store import FileRunStore
from optimizer.store import EvaluationRecord, RunStore

INF, NAN = math.inf, math.nan


def same_floats(got: list[float], expected: list[float]) -> bool:
    """Equal element by element, NaN equal to NaN (``==`` says NaN != NaN)."""
    return len(got) == len(expected) and all((math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(got, expected))


def test_header_is_none_until_written_then_round_trips(run_store: RunStore) -> None:
    assert run_store.read_header() is None
    spec = {"topology": "fig7", "technology": "generic180", "seed": 1, "pop_size": 4, "generations": 2}
    provenance = {"seed": 1, "model_hash": "ab" * 32, "gmopt_version": "0.1.0", "ngspice_version": "39"}
    run_store.write_header(spec, provenance)
    assert run_store.read_header() == (spec, provenance)


def test_status_is_the_last_one_set(run_store: RunStore) -> None:
    run_store.set_status("running", "generation 0 of 2")
    assert run_store.status() == "running"
    run_store.set_status("failed", "RuntimeError: boom")
    assert run_store.status() == "failed"


def test_adding_an_index_twice_keeps_the_first(run_store: RunStore, make_record) -> None:
    first = [make_record(i) for i in range(4)]
    run_store.add_evaluations(first)
    run_store.add_evaluations([make_record(2, objectives=(9.0, 9.0, 9.0), gain_db=99.0),
                               make_record(4, generation=1), make_record(5, generation=1)])
    stored = run_store.evaluations()
    assert [r.index for r in stored] == [0, 1, 2, 3, 4, 5]
    assert stored[2] == first[2] and stored[2].metrics["gain_db"] == 45.5
    assert [r.index for r in run_store.evaluations(generation=1)] == [4, 5]
    assert run_store.evaluations(generation=7) == []


def test_every_field_and_every_non_finite_value_survives_the_round_trip(run_store: RunStore, make_record) -> None:
    failed = make_record(0, objectives=(INF, -INF, NAN), constraints=(NAN, INF), gain_db=NAN, power_w=-INF,
                         phase_margin_deg=NAN, error="no convergence")
    failed.curves = {"vin_v": [0.0, 0.1], "iout_a": [NAN, INF]}
    failed.feasible, failed.converged, failed.cached, failed.error = False, False, True, "no convergence"
    run_store.add_evaluations([failed])
    (back,) = run_store.evaluations()
    assert same_floats(back.objectives, [INF, -INF, NAN]) and same_floats(back.constraints, [NAN, INF])
    assert math.isnan(back.metrics["gain_db"]) and math.isnan(back.metrics["phase_margin_deg"])
    assert back.metrics["power_w"] == -INF
    assert back.metrics["all_saturated"] is True and back.metrics["note"] == "ok" and back.metrics["offset_v"] is None
    assert back.metrics["error"] == "no convergence"
    assert same_floats(back.curves["iout_a"], [NAN, INF]) and back.curves["vin_v"] == [0.0, 0.1]
    assert (back.feasible, back.converged, back.cached, back.error) == (False, False, True, "no convergence")
    assert (back.var, back.widths_um, back.wall_time_s) == (failed.var, failed.widths_um, failed.wall_time_s)
    assert back.to_json() == failed.to_json()


def test_a_generation_counts_once_its_checkpoint_is_stored(run_store: RunStore, make_record) -> None:
    assert run_store.last_checkpoint() is None and run_store.front() == [] and run_store.hypervolumes() == []
    run_store.add_evaluations([make_record(i) for i in range(4)])
    run_store.complete_generation(0, b"gen0", 0.25, [1, 3])
    assert run_store.last_checkpoint() == (0, b"gen0") and [r.index for r in run_store.front()] == [1, 3]
    run_store.add_evaluations([make_record(i, generation=1) for i in range(4, 8)])
    run_store.complete_generation(1, b"gen1" * 1000, 0.5, [3, 5, 6])
    assert run_store.last_checkpoint() == (1, b"gen1" * 1000)
    assert run_store.hypervolumes() == [(0, 0.25), (1, 0.5)]
    assert [r.index for r in run_store.front()] == [3, 5, 6]


def test_non_finite_hypervolumes_survive(run_store: RunStore, make_record) -> None:
    run_store.add_evaluations([make_record(0)])
    run_store.complete_generation(0, b"state", NAN, [0])
    run_store.complete_generation(1, b"state", INF, [0])
    (g0, hv0), (g1, hv1) = run_store.hypervolumes()
    assert (g0, g1) == (0, 1) and math.isnan(hv0) and hv1 == INF


def test_a_torn_last_line_of_a_killed_run_is_dropped(tmp_path: Path, make_record) -> None:
    store = FileRunStore(tmp_path / "run")
    store.add_evaluations([make_record(0), make_record(1)])
    path = tmp_path / "run" / "evaluations.jsonl"
    path.write_text(path.read_text() + '{"index": 2, "gener')
    reopened = FileRunStore(tmp_path / "run")
    assert [r.index for r in reopened.evaluations()] == [0, 1]
    reopened.add_evaluations([make_record(2)])
    assert [r.index for r in FileRunStore(tmp_path / "run").evaluations()] == [0, 1, 2]


def test_a_kill_between_a_checkpoint_and_its_line_loses_no_generation(tmp_path: Path, make_record) -> None:
    """The checkpoint goes to disk first, with its generation's entry in a header line: killed before
    the line of ``generations.jsonl`` (here: the line cut off again), the generation is still listed
    with its checkpoint, and the next write appends its line before its own."""
    store = FileRunStore(tmp_path / "run")
    store.add_evaluations([make_record(i) for i in range(3)])
    store.complete_generation(0, b"gen0", 0.25, [1])
    store.complete_generation(1, b"gen1\nwith a newline", NAN, [1, 2])
    log = tmp_path / "run" / "generations.jsonl"
    lines = log.read_bytes().splitlines(keepends=True)
    log.write_bytes(lines[0] + lines[1][:9])  # the kill: generation 1's line torn
    reopened = FileRunStore(tmp_path / "run")
    assert reopened.last_checkpoint() == (1, b"gen1\nwith a newline")
    (g0, hv0), (g1, hv1) = reopened.hypervolumes()
    assert (g0, hv0, g1) == (0, 0.25, 1) and math.isnan(hv1)
    assert [r.index for r in reopened.front()] == [1, 2]
    reopened.complete_generation(2, b"gen2", 0.5, [2])
    assert [json.loads(line)["generation"] for line in log.read_text().splitlines()] == [0, 1, 2]  # 1 from the header
    assert [g for g, _ in FileRunStore(tmp_path / "run").hypervolumes()] == [0, 1, 2]


def test_an_older_runs_folder_reads_and_resumes_into_the_log(tmp_path: Path, make_record) -> None:
    """Runs stored before the log kept every generation in ``generations.json`` and a header-less
    checkpoint: they read as before, and the first generation written converts the list."""
    folder = tmp_path / "old"
    store = FileRunStore(folder)
    store.add_evaluations([make_record(i) for i in range(3)])
    (folder / "generations.json").write_text('[{"generation": 0, "hypervolume": 0.1, "front": [0]}, {"generation": 1, "hypervolume": NaN, "front": [0, 2]}]')
    (folder / "checkpoint.pkl").write_bytes(b"\x80old state")
    old = FileRunStore(folder)
    assert old.last_checkpoint() == (1, b"\x80old state")
    assert [g for g, _ in old.hypervolumes()] == [0, 1] and [r.index for r in old.front()] == [0, 2]
    old.complete_generation(2, b"new state", 0.3, [1])
    assert not (folder / "generations.json").exists()
    again = FileRunStore(folder)
    assert again.last_checkpoint() == (2, b"new state")
    hypervolumes = again.hypervolumes()
    assert [g for g, _ in hypervolumes] == [0, 1, 2] and math.isnan(hypervolumes[1][1]) and hypervolumes[2][1] == 0.3


def test_records_of_older_runs_read_null_widths_as_nan() -> None:
    """Runs stored before ``gmopt.floats`` wrote an unmeasured value as null; it reads back as NaN where a float is due."""
    data = EvaluationRecord(index=0, generation=0, var=[1], widths_um=[0.09], metrics={}).to_json()
    data["objectives"], data["widths_um"] = [None], [None]
    back = EvaluationRecord.from_json(data)
    assert math.isnan(back.objectives[0]) and math.isnan(back.widths_um[0])


def test_a_circuit_runs_mixed_row_and_design_values_survive(run_store: RunStore, make_record) -> None:
    """A circuit package's row mixes integers (W in lambda steps, m) with floats (a bias current, in
    log10 A), and its design values are SI numbers by name: both come back with their types."""
    record = make_record(0)
    record.var, record.widths_um = [222, 4, -4.69897], []
    record.design = {"w_in": 19.98e-6, "m_sink": 4.0, "ibias": 20e-6, "cc": NAN}
    run_store.add_evaluations([record])
    (back,) = run_store.evaluations()
    assert back.var == [222, 4, -4.69897] and [type(v) for v in back.var] == [int, int, float]
    assert back.design["w_in"] == 19.98e-6 and back.design["ibias"] == 20e-6 and math.isnan(back.design["cc"])
    assert back.to_json() == record.to_json()
