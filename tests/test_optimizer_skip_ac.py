"""A candidate whose DC sweep misses the offset or saturation limit gets no AC analysis: its DC
metrics are those of the full simulation, its AC metrics NaN with the reason, its violation the
measured one, and a run counts the skipped analyses."""

from __future__ import annotations

import math

import pytest

from optimizer.file_store import FileRunStore
from optimizer.problem import AC_CONSTRAINTS, constraint_names, constraints_of, objectives_of
from optimizer.runner import run_optimization
from optimizer.spec import RunSpec
from ota.testbench import DcScreen, OtaTestbench

DC_METRICS = ("gm_s", "rmse_a", "offset_v", "power_w", "saturation_margin_v")
AC_METRICS = ("gain_db", "bandwidth_hz", "ugf_hz", "phase_margin_deg")


# a feasible design of the fig7 20 x 50 seed-1 run (docs/benchmarks.md): within every limit
FEASIBLE_VAR = [337, 1214, 1478, 1065, 618]


def test_a_candidate_out_of_the_offset_limit_skips_ac_and_keeps_its_dc_figures(fig7_var: list[int]) -> None:
    unbalanced = fig7_var  # Table 5's widths at this deck's biases: |offset| about 0.15 V
    spec = RunSpec(topology="fig7")
    screen = DcScreen(spec.constraints.offset_max_v, spec.constraints.require_saturation)
    with OtaTestbench("fig7") as bench:
        full = bench.evaluate(unbalanced)
        screened = bench.evaluate(unbalanced, screen=screen)
        passed = bench.evaluate(FEASIBLE_VAR, screen=screen)
        reference = bench.evaluate(FEASIBLE_VAR)
    assert abs(full.offset_v) > spec.constraints.offset_max_v  # the premise: the full simulation fails it
    assert screened.ac_skipped and "offset" in screened.ac_skipped
    for key in DC_METRICS:
        assert getattr(screened, key) == pytest.approx(getattr(full, key), rel=1e-9), key
    assert all(math.isnan(getattr(screened, key)) for key in AC_METRICS) and screened.freq_hz == []
    # a candidate within the limits is simulated whole, as without the screen
    assert passed.ac_skipped is None
    for key in (*DC_METRICS, *AC_METRICS):
        assert getattr(passed, key) == pytest.approx(getattr(reference, key), rel=1e-9), key

    metrics = screened.to_dict(curves=False)
    constraints = dict(zip(constraint_names(spec), constraints_of(metrics, spec)))
    full_constraints = dict(zip(constraint_names(spec), constraints_of(full.to_dict(curves=False), spec)))
    assert constraints["offset"] == pytest.approx(abs(full.offset_v) / spec.constraints.offset_max_v - 1)
    assert constraints["offset"] > 0
    for name in constraints:
        expected = 0.0 if name in AC_CONSTRAINTS else full_constraints[name]
        assert constraints[name] == pytest.approx(expected, rel=1e-9, abs=1e-12), name
    assert all(math.isfinite(value) for value in objectives_of(metrics, spec))


def test_a_run_counts_the_skipped_ac_analyses(tmp_path) -> None:
    spec = RunSpec(topology="fig7", pop_size=8, generations=2, seeding="random", seed=3, screen_dc=True)
    store = FileRunStore(tmp_path / "run")
    summary = run_optimization(spec, store, workers=1)
    records = store.evaluations()
    skipped = [record for record in records if record.metrics.get("ac_skipped")]
    assert summary.ac_skipped == len(skipped) > 0  # a random start is mostly out of the offset limit
    for record in skipped:
        assert not record.feasible and math.isnan(record.metrics["gain_db"])
        assert record.constraints[constraint_names(spec).index("offset")] > 0 or record.constraints[constraint_names(spec).index("saturation")] > 0
    assert f"{summary.ac_skipped} AC analyses skipped" in store.status_message()
    without = run_optimization(spec.model_copy(update={"screen_dc": False}), FileRunStore(tmp_path / "without"), workers=1)
    assert without.ac_skipped == 0


def test_the_command_line_screens_with_screen_dc_and_says_how_many_it_skipped(tmp_path) -> None:
    from typer.testing import CliRunner

    from gmopt.cli import app

    out = tmp_path / "run"
    done = CliRunner().invoke(app, ["optimize", "--topology", "fig7", "--pop", "8", "--gens", "2", "--seed", "3", "--random-start",
                                    "--workers", "1", "--screen-dc", "--out", str(out)])
    assert done.exit_code == 0, done.output
    store = FileRunStore(out)
    assert RunSpec.parse(store.read_header()[0]).screen_dc
    skipped = sum(bool(record.metrics.get("ac_skipped")) for record in store.evaluations())
    assert skipped > 0 and f"{skipped} AC analyses skipped by the DC screen" in " ".join(done.output.split())


def test_the_services_run_reports_the_skipped_ac_analyses(client) -> None:
    """A DC-screened run queued through the API and run by the service's worker (in this process,
    on the API's SQLite file): its progress fields count the skipped analyses, as its stored
    evaluations do."""
    from app.worker import serve
    from gmopt.settings import get_settings

    body = {"topology": "fig7", "pop_size": 8, "generations": 2, "seeding": "random", "seed": 3, "screen_dc": True}
    run_id = client.post("/runs", json=body).json()["id"]
    assert client.get(f"/runs/{run_id}").json()["ac_skipped"] == 0  # queued
    assert serve(get_settings(), once=True) == 1
    run = client.get(f"/runs/{run_id}").json()
    evaluations = client.get(f"/runs/{run_id}/evaluations", params={"limit": 100}).json()["data"]
    assert run["status"] == "finished" and len(evaluations) == 16
    assert run["ac_skipped"] == sum(bool(e["metrics"].get("ac_skipped")) for e in evaluations) > 0
