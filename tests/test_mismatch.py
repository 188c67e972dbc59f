"""Mismatch Monte Carlo on real ngspice, against Pelgrom's formulas (small runs: the full ones are in make bench)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from engine import open_engine
from gmopt import paper
from lut.technology import GENERIC180
from mismatch.model import mismatch_model
from mismatch.montecarlo import DeviceSigma, draw_shifts, run_montecarlo
from ota.topology import get_topology

WIDTH_M, LENGTH_M = 10e-6, 1e-6
ONE_DEVICE = """one transistor in moderate inversion
{include}
vg g 0 dc 0.7
vd d 0 dc 0.9
{instance}
.save @m1[id] @m1[gm]
"""


def test_single_transistor_current_sigma_follows_pelgrom() -> None:
    """500 samples; Pelgrom for one device: sigma(ID)/ID = sqrt((gm/ID * AVT/sqrt(2WL))^2 + (Abeta/sqrt(2WL))^2), the
    square law's unit sensitivity of ID to beta (0.97 measured here). 10 %: the sampling error of a
    500-sample sigma is 3 % (seed 1, the project's default: its normals have a sample sigma of 0.97)."""
    coefficients = mismatch_model(GENERIC180).nmos
    sigma = DeviceSigma("m1", "n", WIDTH_M, LENGTH_M, coefficients.device_sigma_vth_v(WIDTH_M, LENGTH_M),
                        coefficients.device_sigma_beta(WIDTH_M, LENGTH_M))
    deck = ONE_DEVICE.format(
        include=GENERIC180.include("tt"), instance=GENERIC180.nmos.instance("1", "d", "g", "0", "0", w="10u", l="1u"),
    )
    currents = []
    with open_engine("shared") as engine:
        engine.load(deck)
        nominal = engine.run({"op": "op"})["op"]
        for shifts in draw_shifts([sigma], 500, seed=1):
            engine.alter("m1", delvto=shifts["m1"]["dvth_v"], mulu0=shifts["m1"]["beta_factor"])  # nominal: 0 and 1
            currents.append(engine.run({"op": "op"})["op"]["@m1[id]"][0])
        engine.alter("m1", delvto=0.01, mulu0=1.0)  # the direct check of the instance parameter itself
        shifted = engine.run({"op": "op"})["op"]["@m1[id]"][0]
    id_a, gm_s = nominal["@m1[id]"][0], nominal["@m1[gm]"][0]
    assert id_a - shifted == pytest.approx(gm_s * 0.01, rel=0.05)  # +10 mV of threshold costs gm x 10 mV
    predicted = id_a * math.hypot(gm_s / id_a * sigma.sigma_vth_v, sigma.sigma_beta)
    assert sigma.sigma_vth_v == pytest.approx(5e-3 / math.sqrt(20))  # AVT = 5 mV*um (a pair) over sqrt(2 * 10 um^2)
    assert np.std(currents, ddof=1) == pytest.approx(predicted, rel=0.10)


def test_differential_pair_offset_sigma_is_sqrt2_sigma_vth() -> None:
    """The five-transistor OTA with threshold mismatch on its input pair only (loads, tail and
    beta off): Vos = dVth(MN2) - dVth(MN3), so sigma(Vos) = sqrt(2) sigma(dVth) = AVT/sqrt(WL). 15 % over 300 samples."""
    topology = get_topology("baseline")
    var = topology.var_from_um(topology.reference_widths_um)
    result = run_montecarlo("baseline", var, 300, seed=3, beta=False, devices=["MN2", "MN3"])
    offsets = [r["offset_v"] for r in result.results]
    one_device = next(s.sigma_vth_v for s in result.sigmas if s.device == "MN2")
    assert result.converged == 300
    assert np.std(offsets, ddof=1) == pytest.approx(math.sqrt(2) * one_device, rel=0.15)
    width_m = var[0] * paper.LAMBDA_M
    assert math.sqrt(2) * one_device == pytest.approx(5e-3 / math.sqrt(width_m * 1e6 * 1.0))


def test_seeded_monte_carlo_repeats_exactly_and_another_seed_differs() -> None:
    topology = get_topology("fig7")
    var = topology.var_from_um(topology.reference_widths_um)
    first, again = (run_montecarlo("fig7", var, 30, seed=11).to_dict()["metrics"] for _ in range(2))
    other = run_montecarlo("fig7", var, 30, seed=12).to_dict()["metrics"]
    assert first == again
    assert first["offset_v"]["sigma"] != other["offset_v"]["sigma"]


def test_yield_constrained_run_stores_yield_with_every_front_point(tmp_path) -> None:
    """A 6 x 3 fig7 run with 'yield >= 50 % on |offset| <= 10 mV over 20 samples': only nominal-feasible
    candidates get samples, every front design carries its yield, and the stored yield is what a
    separate Monte Carlo run of that design (same seed, same draws) gives."""
    from mismatch.montecarlo import sample_yield
    from optimizer.file_store import FileRunStore
    from optimizer.followup import sample_check
    from optimizer.problem import is_feasible, nominal_constraints_of
    from optimizer.runner import run_optimization
    from optimizer.spec import RunSpec

    loose = {"phase_margin_min_deg": 0.0, "offset_max_v": 0.01, "rmse_max_a": 1e-3, "require_saturation": False, "gain_min_db": 20.0}
    spec = RunSpec.parse({
        "topology": "fig7", "pop_size": 6, "generations": 3, "seed": 3, "constraints": loose,
        "monte_carlo": {"samples": 20, "min_yield": 0.5, "constraints": ["offset"], "seed": 5},
    })
    store = FileRunStore(tmp_path / "run")
    summary = run_optimization(spec, store, workers=1)
    fresh = [record for record in store.evaluations() if not record.cached]
    nominal = [is_feasible(nominal_constraints_of(record.metrics, spec)) for record in fresh]
    assert summary.monte_carlo_samples == 20 * sum(nominal)
    assert summary.monte_carlo_skipped == 20 * (len(fresh) - sum(nominal))
    front = store.front()
    assert front, "the tiny run found no feasible design: loosen its limits"
    for record in front:
        assert record.metrics["mc_samples"] == 20 and record.metrics["mc_yield"] >= 0.5
    best = front[0]
    again = run_montecarlo("fig7", best.var, 20, seed=5)
    assert sample_yield(again.results, sample_check(spec, ["offset"])) == best.metrics["mc_yield"]
    from typer.testing import CliRunner

    from gmopt.cli import app
    from optimizer.results import front_design

    runner = CliRunner()
    shown = runner.invoke(app, ["front", str(tmp_path / "run")], env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "yield_pct" in shown.output
    point_var = front_design(store, 0)[1]
    loop = runner.invoke(app, ["emulator", "--run", str(tmp_path / "run"), "--point", "0", "--json"])
    assert loop.exit_code == 0, loop.output
    data = json.loads(loop.output)
    assert data["setup"]["var"] == point_var and 0 <= data["pinch_ratio"] <= 1


def test_montecarlo_command_reports_every_metric_and_the_yield() -> None:
    from typer.testing import CliRunner

    from gmopt.cli import app

    done = CliRunner().invoke(app, ["montecarlo", "--topology", "baseline", "--widths-um", "125.64,326.97",
                                    "--samples", "20", "--seed", "4", "--workers", "1", "--constraints", "offset", "--json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.output)
    direct = run_montecarlo("baseline", get_topology("baseline").var_from_um([125.64, 326.97]), 20, seed=4)
    offsets = [r["offset_v"] for r in direct.results]
    assert data["metrics"]["offset_v"]["sigma"] == pytest.approx(np.std(offsets, ddof=1), rel=1e-9)
    assert data["metrics"]["offset_v"]["p5"] == pytest.approx(np.percentile(offsets, 5), rel=1e-9)
    # default offset limit 50 mV: the yield is the share of samples with |Vos| <= 50 mV
    assert data["yield"] == {"value": np.mean(np.abs(offsets) <= 0.05), "constraints": ["offset"]}


def test_follow_up_sections_are_checked_where_the_spec_is_read() -> None:
    from optimizer.followup import check_spec, constraint_names
    from optimizer.problem import constraint_names as all_names
    from optimizer.spec import RunSpec

    with pytest.raises(ValueError, match="offset_sigma objective needs a monte_carlo section"):
        RunSpec.parse({"topology": "fig7", "objectives": ["rmse", "offset_sigma"]})
    with pytest.raises(ValueError, match="frequencies"):
        RunSpec.parse({"topology": "fig7", "emulator": {"frequencies_hz": [1e5, 1e5]}})
    spec = RunSpec.parse({"topology": "fig7", "monte_carlo": {"min_yield": 0.9, "constraints": ["gm_min"]},
                          "emulator": {"max_pinch_ratio": 0.05}})
    with pytest.raises(ValueError, match="gm_min"):  # no Gm limit in this spec: nothing to count
        check_spec(spec, all_names(spec, follow_ups=False))
    assert constraint_names(spec) == ["yield", "pinch_100khz", "pinch_1mhz"]
    assert all_names(spec)[-3:] == ["yield", "pinch_100khz", "pinch_1mhz"]
