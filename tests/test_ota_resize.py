"""Widths changed by per-instance ``alter`` (ota.resize) against the same candidate re-parsed
(``alterparam`` + ``reset``, the reference method) in the same session, on generic180, sky130 and
gf180mcu; and a candidate that crosses a model bin, which must be re-parsed."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ota.measure import measure_testbench
from ota.netlist import ANALYSES
from ota.resize import _basis
from ota.testbench import OtaTestbench

METRICS = ("gain_db", "bandwidth_hz", "ugf_hz", "phase_margin_deg", "gm_s", "rmse_a", "power_w", "saturation_margin_v")
# The two routes start Newton from different points: measured differences are below 1e-10 relative
# (generic180, gf180mcu: 1e-12); the offset is a difference of near-equal currents, so absolute.
REL = 1e-9
OFFSET_ABS_V = 1e-12


def _reparsed(bench: OtaTestbench, var: list[int]) -> dict:
    """The candidate as the reference method makes it: re-parsed at its parameters, then simulated."""
    bench._resizer.reparsed(bench._params_of(var), var)
    bench._params = bench._params_of(var)
    results = bench._engine.run(ANALYSES)
    return measure_testbench(results, bench._supplies_v, bench._device_vectors, bench.topology.saturation_devices)


def _candidates(bench: OtaTestbench, reference: list[int], count: int) -> list[list[int]]:
    low, high = bench.technology.var_bounds
    rng = np.random.default_rng(5)
    return [np.clip(np.rint(np.array(reference) * rng.uniform(0.6, 1.5, len(reference))), low, high).astype(int).tolist()
            for _ in range(count)]


def _side_by_side(bench: OtaTestbench, reference: list[int], count: int) -> None:
    assert bench._resizer is not None and bench._resizer.active, bench._resizer and bench._resizer.reason
    resized = 0
    for var in _candidates(bench, reference, count):
        before = bench.resized
        result = bench.evaluate(var)
        resized += bench.resized - before
        expected = _reparsed(bench, var)
        assert result.converged
        for key in METRICS:
            assert getattr(result, key) == pytest.approx(expected[key], rel=REL), (var, key)
        assert abs(result.offset_v - expected["offset_v"]) <= OFFSET_ABS_V + REL * abs(expected["offset_v"]), var
    assert resized >= count - 2  # the fast path did the work (a candidate may cross a bin)


def test_generic180_alter_equals_reparse() -> None:
    with OtaTestbench("fig7", "generic180") as bench:
        _side_by_side(bench, bench.topology.reference_var(bench.technology), 8)
        assert set(bench._resizer.sized[1].fits) == {"pd", "ps"}  # what a plain MOSFET's width sets


def test_plan_gives_the_fits_values_to_the_last_bit() -> None:
    """``plan`` builds each device's basis [1, x, 1/x, 1/x^2] by hand (``_basis``'s np.stack cost
    0.2 ms per candidate): at every width of the variables' range each value must be the very
    float the fit ``_basis(x) @ coefficients`` gives, or results would change with the code."""
    with OtaTestbench("fig7", "generic180") as bench:
        resizer = bench._resizer
        low, high = bench.technology.var_bounds
        for value in range(low, high + 1):
            alters = resizer.plan([value] * len(bench.topology.variables))
            for sized in resizer.sized:
                x_m = value * resizer.lambda_m  # generic180: one finger
                assert alters[sized.instance]["w"] == x_m and alters[sized.instance]["m"] == 1.0
                for name, coefficients in sized.fits.items():
                    expected = float(_basis(np.array(x_m / sized.x0_m)) @ coefficients)
                    assert repr(alters[sized.instance][name]) == repr(expected), (value, sized.instance, name)


def test_a_candidate_gives_the_same_bits_whatever_the_worker_simulated_before() -> None:
    """Two candidates of a generic180 fig7 run that share a variable with the one before them
    (so their devices of that variable keep their widths): each gives, to the last bit, what
    it gives on a fresh testbench. Skipping the alters of such a device entirely changed both
    (1e-13): a result must not depend on how candidates were spread over workers."""
    pairs = [([845, 1587, 500, 3451, 1078], [1214, 1005, 500, 3844, 894]),
             ([70, 1429, 7801, 3213, 8000], [317, 1525, 737, 8000, 8000])]
    for before, var in pairs:
        with OtaTestbench("fig7") as bench:
            bench.evaluate(before)
            after = bench.evaluate(var).to_dict()
        with OtaTestbench("fig7") as bench:
            fresh = bench.evaluate(var).to_dict()
        after.pop("sim_time_s"), fresh.pop("sim_time_s")
        assert repr(after) == repr(fresh), var


# fig7's first sizing on each PDK (ota.sizing.plan_sizing, 2026-12-01), written out so that the
# tests need no look-up tables (building them in a test's data directory takes minutes)
PDK_DESIGNS = {
    "sky130": ([1120, 8000, 237, 2702, 1506], {"vb": 0.4414, "vbn": 0.7167}),
    "gf180mcu": ([883, 503, 3685, 1884, 1884], {"vb": -0.182, "vbn": 0.2466}),
}


@pytest.mark.slow
def test_gf180mcu_alter_equals_reparse(installed_pdk) -> None:
    var, bias_v = PDK_DESIGNS["gf180mcu"]
    with OtaTestbench("fig7", installed_pdk("gf180mcu"), bias_v=bias_v) as bench:
        _side_by_side(bench, var, 6)


@pytest.mark.slow
def test_sky130_alter_equals_reparse_and_a_bin_crossing_is_reparsed(installed_pdk) -> None:
    """sky130's subcircuit sets nrd = nrs = 0.14/W and its card's rsh = 443.5 + 89.1/W, all altered.
    Its cards are binned at W = 7 um (and 5 um): W1 from 20 um to 5.025 um changes card, and an
    ``alter`` of W keeps the old one (shown below: ngspice 39 re-selects a plain binned MOSFET's card
    on alter, as gf180mcu's, but not these per-instance copies), so the testbench re-parses."""
    tech = installed_pdk("sky130")
    var, bias_v = PDK_DESIGNS["sky130"]
    with OtaTestbench("fig7", tech, bias_v=bias_v) as bench:
        _side_by_side(bench, var, 6)
        resizer = bench._resizer
        assert {"nrd", "nrs", "model.rsh"} <= set(resizer.sized[1].fits)

        start = [round(20e-6 / tech.lambda_m), *var[1:]]
        crossing = [round(5.025e-6 / tech.lambda_m), *var[1:]]
        bench.evaluate(start)
        input_pair = resizer.sized[0]
        assert (input_pair.wmin_m, input_pair.wmax_m) == pytest.approx((7e-6, 1.01e-3))
        assert resizer.plan(crossing) is None  # MN2/MN3 leave their card's [wmin, wmax)
        before = bench.reparsed
        crossed = bench.evaluate(crossing)
        assert bench.reparsed == before + 1
        assert (input_pair.wmin_m, input_pair.wmax_m) == pytest.approx((5e-6, 7e-6))  # read again
        expected = _reparsed(bench, crossing)
        for key in METRICS:
            assert getattr(crossed, key) == pytest.approx(expected[key], rel=REL), key

        # the same change forced through alter keeps the old card: another circuit
        bench.evaluate(start)
        for sized in resizer.sized:
            sized.wmin_m, sized.wmax_m = 0.0, math.inf
        bench._engine.resize(bench._params_of(crossing), resizer.plan(crossing))
        assert bench._engine.model_limits(input_pair.instance)["wmin"] == pytest.approx(7e-6)
        forced = measure_testbench(bench._engine.run(ANALYSES), bench._supplies_v, bench._device_vectors, bench.topology.saturation_devices)
        assert abs(forced["gm_s"] / expected["gm_s"] - 1) > 1e-4


def test_a_kept_calibration_gives_the_same_fast_path_without_the_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first testbench of a deck calibrates and keeps the fits; the next reads them (no probe
    re-parse) and simulates every candidate to the same bits; a damaged file is calibrated again;
    another deck (a bias 1 mV away) gets its own file."""
    from gmopt.settings import get_settings
    from ota.resize import Resizer

    folder = get_settings().resize_cache_dir
    candidates = [[845, 1587, 500, 3451, 1078], [317, 1525, 737, 8000, 8000]]

    def run(bench: OtaTestbench) -> list[str]:
        answers = [bench.evaluate(var).to_dict() for var in candidates]
        return [repr({key: value for key, value in answer.items() if key != "sim_time_s"}) for answer in answers]

    with OtaTestbench("fig7") as bench:
        fits = [sized.fits for sized in bench._resizer.sized]
        made = run(bench)
    kept = list(folder.iterdir())
    assert len(kept) == 1
    with monkeypatch.context() as patched:
        patched.setattr(Resizer, "_sample", lambda *args: pytest.fail("a kept calibration must not probe again"))
        with OtaTestbench("fig7") as bench:
            assert bench._resizer.active
            assert all(read.keys() == made_fits.keys() and all((read[k] == made_fits[k]).all() for k in read)
                       for read, made_fits in zip((sized.fits for sized in bench._resizer.sized), fits))
            assert run(bench) == made
    kept[0].write_text("{")
    with OtaTestbench("fig7") as bench:
        assert bench._resizer.active and run(bench) == made
    assert json.loads(kept[0].read_text())["reason"] is None
    from lut.technology import get_technology

    with OtaTestbench("fig7", bias_v={pin: volts + 1e-3 for pin, volts in get_technology("generic180").bias_v.items()}):
        pass
    assert len(list(folder.iterdir())) == 2
