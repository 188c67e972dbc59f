"""The measurement code (ota/measure.py) on circuits whose figures are known in closed form.

The circuits follow the OTA testbench's conventions (vid input, output held for DC by lhold/vhold,
supplies vdd/vss) and go through the same ``measure_testbench`` as the OTAs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import open_engine
from ota.measure import open_loop_metrics, measure_testbench
from ota.netlist import ANALYSES, HOLD_INDUCTANCE_H

SUPPLIES_V = {"vdd": 0.9, "vss": -0.9}
R_LOAD, C_LOAD, R_SUPPLY = 100e3, 1e-12, 9e3


def _measure(transconductor: str) -> dict:
    """``transconductor`` injects Iout into node out from the differential input vid."""
    netlist = f"""* analytic transconductor
vdd vdd 0 0.9
vss vss 0 -0.9
rsupply vdd vss {R_SUPPLY}
vid vid 0 dc 0 ac 1
{transconductor}
rl out 0 {R_LOAD}
cl out 0 {C_LOAD}
lhold out hold {HOLD_INDUCTANCE_H}
vhold hold 0 0
"""
    with open_engine("shared") as engine:
        engine.load(netlist)
        return measure_testbench(engine.run(ANALYSES), SUPPLIES_V, {})


def test_ideal_vccs_with_rc_load() -> None:
    gm = 1e-3
    metrics = _measure(f"gota 0 out vid 0 {gm}")
    pole_hz = 1 / (2 * math.pi * R_LOAD * C_LOAD)
    gain = gm * R_LOAD
    ugf_hz = pole_hz * math.sqrt(gain**2 - 1)
    assert metrics["gm_s"] == pytest.approx(gm, rel=1e-6)
    assert metrics["rmse_a"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["offset_v"] == pytest.approx(0.0, abs=1e-9)
    assert metrics["gain_db"] == pytest.approx(20 * math.log10(gain), abs=1e-3)
    assert metrics["bandwidth_hz"] == pytest.approx(pole_hz, rel=0.01)  # AC_POINTS_PER_DECADE (10), log interpolation
    assert metrics["ugf_hz"] == pytest.approx(ugf_hz, rel=0.01)
    assert metrics["phase_margin_deg"] == pytest.approx(180 - math.degrees(math.atan(ugf_hz / pole_hz)), abs=0.2)
    assert metrics["power_w"] == pytest.approx(1.8**2 / R_SUPPLY, rel=1e-9)
    assert metrics["margins_v"] == {} and metrics["all_saturated"]


def test_cubic_transconductor_rmse_and_offset_match_closed_form() -> None:
    g, k, i0 = 2e-3, -0.05, 3e-6
    metrics = _measure(f"bnl 0 out i = {g}*v(vid) + {k}*v(vid)*v(vid)*v(vid) + {i0}")
    vin = np.asarray(metrics["vin_v"])
    assert len(vin) >= 41 and vin[0] == pytest.approx(-0.2) and vin[-1] == pytest.approx(0.2)
    # The ideal line is the tangent at 0 V: I0 + g*v, so the error is exactly the cubic term.
    expected_rmse = math.sqrt(np.mean((k * vin**3) ** 2))
    # ngspice stops Newton within RELTOL = 1e-3 (it may leave out the 6 nA cubic term at +5 mV):
    # the tolerances are that relative accuracy.
    assert metrics["gm_s"] == pytest.approx(g, rel=1e-3)
    assert metrics["rmse_a"] == pytest.approx(expected_rmse, rel=1e-3)
    assert metrics["offset_v"] == pytest.approx(-i0 / g, rel=1e-3)


def test_no_unity_gain_crossing_gives_nan_not_a_crash() -> None:
    metrics = _measure("gota 0 out vid 0 1e-6")  # gm*R = 0.1: the gain never reaches 0 dB
    assert metrics["gain_db"] == pytest.approx(-20.0, abs=1e-3)
    assert math.isnan(metrics["ugf_hz"]) and math.isnan(metrics["phase_margin_deg"])


def test_two_pole_phase_margin_matches_the_transfer_function() -> None:
    """Pure numpy: H = A / ((1 + s/p1)(1 + s/p2)); PM from the exact UGF of that H."""
    freq = np.logspace(0, 10, 201)
    gain, p1, p2 = 1000.0, 1e5, 2e8
    response = gain / ((1 + 1j * freq / p1) * (1 + 1j * freq / p2))
    metrics = open_loop_metrics(freq, -response)  # an inverting output must not move the margin
    # |H(f)| = 1 solved on a fine grid.
    fine = np.logspace(7, 9, 200001)
    ugf = fine[np.argmin(np.abs(np.abs(gain / ((1 + 1j * fine / p1) * (1 + 1j * fine / p2))) - 1))]
    expected_pm = 180 - math.degrees(math.atan(ugf / p1) + math.atan(ugf / p2))
    assert metrics["ugf_hz"] == pytest.approx(ugf, rel=0.01)
    assert metrics["phase_margin_deg"] == pytest.approx(expected_pm, abs=0.5)
    assert metrics["bandwidth_hz"] == pytest.approx(p1, rel=0.01)


def test_the_slope_at_zero_is_polyfits_cubic_slope() -> None:
    """``transconductance_s`` applies one cached linear map per set of Vin points instead of
    solving ``np.polyfit`` per candidate: its slope must be np.polyfit's (the independent
    computation) to 1e-12 relative, on OTA-like curves at the testbench's own sweep points and
    on the real sweeps of fig7 candidates."""
    from ota.measure import transconductance_s
    from ota.testbench import OtaTestbench

    rng = np.random.default_rng(3)
    vin = np.round(np.arange(-0.2, 0.2001, 0.01), 12)
    for _ in range(500):
        gm_s, offset_a = 10 ** rng.uniform(-6, -2), rng.normal(0, 1e-6)
        iout = offset_a + gm_s * np.tanh(vin / rng.uniform(0.05, 0.5)) * 0.1 + rng.normal(0, 1e-9, vin.size)
        nearest = np.argsort(np.abs(vin))[:7]
        expected = np.polyfit(vin[nearest], iout[nearest], 3)[-2]
        assert transconductance_s(vin, iout) == pytest.approx(expected, rel=1e-12)
    with OtaTestbench("fig7") as bench:
        low, high = bench.technology.var_bounds
        for var in rng.integers(low, high, (20, len(bench.topology.variables))).tolist():
            result = bench.evaluate(var)
            vin_v, iout_a = np.asarray(result.vin_v), np.asarray(result.iout_a)
            nearest = np.argsort(np.abs(vin_v))[:7]
            assert result.gm_s == pytest.approx(np.polyfit(vin_v[nearest], iout_a[nearest], 3)[-2], rel=1e-12), var
