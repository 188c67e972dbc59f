"""The testbench catalog (circuits.benches): each op-amp measure against an analytic answer on a
circuit of ideal elements (VCCS, R, C, series sources), the Miller example on generic180 and
sky130 against a hand-written ngspice deck, and broken candidates that come back as results.

The ideal amplifier: G = gm from (inp, inn) into the output node, R and C to ground there, and
the bench's load CL beside C, so A(s) = gm R / (1 + s R Ctot) with Ctot = C + CL:
A0 = gm R, GBW = gm / (2 pi Ctot), the unity-gain follower's tau = Ctot R / (1 + A0).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from circuits import EXAMPLES_DIR, Circuit, circuit_from_text, load_circuit
from circuits.benches import open_bench
from circuits.benches.opamp import SETTLING_BAND, STEP_FRACTION
from circuits.model import TESTBENCH_MEASURES
from circuits.render import device_vector, render_subckt
from engine import open_engine
from lut.technology import GENERIC180

GM_S, R_OHM, C_F, CL_F = 1e-3, 10e6, 98e-12, 2e-12  # A0 = 1e4 (80 dB), Ctot = 100 pF: GBW = 1.59 MHz, pole at 159 Hz
CONDITION = GENERIC180.at()
SUPPLY_V = GENERIC180.supply_v
PINS = {"inp": "inp", "inn": "inn", "out": "out", "vdd": "vdd", "vss": "vss"}


def ideal(netlist: str, variables: list[dict] | None = None, **testbench: object) -> Circuit:
    """An op-amp package of ideal elements (no MOS devices) on the opamp bench."""
    text = yaml.safe_dump({
        "name": "ideal", "variables": variables or [], "netlist": netlist, "devices": {}, "pins": PINS,
        "testbench": {"name": "opamp", "load_capacitance_f": CL_F} | testbench,
    })
    return circuit_from_text(text)


SINGLE_POLE = """.subckt ideal inp inn out vdd vss
G1 0 out inp inn {gm}
R1 out 0 {r}
C1 out 0 98p
.ends"""
SINGLE_POLE_VARIABLES = [{"name": "gm", "kind": "r", "min": 1e-4, "max": 1e-2, "default": GM_S},  # "r": any positive value
                         {"name": "r", "kind": "r", "min": 1e5, "max": 1e8, "default": R_OHM}]


def single_pole(gm_s: float, r_ohm: float) -> dict[str, float]:
    """The analytic measures of the single-pole amplifier (A at the bench's 1 Hz, as the bench reads it)."""
    c_tot = C_F + CL_F
    a0, pole_hz = gm_s * r_ohm, 1 / (2 * math.pi * r_ohm * c_tot)
    ugf_hz = pole_hz * math.sqrt(a0**2 - 1)
    tau_s = c_tot * r_ohm / (1 + a0)
    return {
        "gain_db": 20 * math.log10(a0 / math.hypot(1, 1 / pole_hz)), "gbw_hz": gm_s / (2 * math.pi * c_tot), "ugf_hz": ugf_hz,
        "phase_margin_deg": 180 - math.degrees(math.atan(ugf_hz / pole_hz)), "tau_s": tau_s,
        "step_v": STEP_FRACTION * SUPPLY_V * a0 / (1 + a0),
    }


@pytest.fixture(scope="module")
def single_pole_bench():
    with open_bench(ideal(SINGLE_POLE, SINGLE_POLE_VARIABLES), CONDITION) as bench:
        yield bench


@pytest.mark.parametrize(("gm_s", "r_ohm"), [(GM_S, R_OHM), (2e-3, 1e6)])
def test_a_single_pole_amplifier_measures_its_analytic_gain_gbw_ugf_and_phase_margin(single_pole_bench, gm_s: float, r_ohm: float) -> None:
    """Two candidates on one loaded deck: the variables change per candidate (alterparam + reset)."""
    result = single_pole_bench.evaluate({"gm": gm_s, "r": r_ohm})
    expected = single_pole(gm_s, r_ohm)
    assert result.converged, result.error
    assert set(result.metrics) == set(TESTBENCH_MEASURES["opamp"])
    assert result.metrics["gain_db"] == pytest.approx(expected["gain_db"], abs=0.01)
    assert result.metrics["gbw_hz"] == pytest.approx(expected["gbw_hz"], rel=0.005)  # -3 dB point interpolated on 10 points a decade
    assert result.metrics["ugf_hz"] == pytest.approx(expected["ugf_hz"], rel=0.005)
    assert result.metrics["phase_margin_deg"] == pytest.approx(expected["phase_margin_deg"], abs=0.2)
    assert math.isnan(result.metrics["saturation_margin_v"]) and result.margins_v == {}  # no MOS device to check


def test_a_linear_followers_step_is_exponential_slew_is_its_10_90_slope_and_settling_is_tau_ln_100(single_pole_bench) -> None:
    """V(t) = dV (1 - exp(-t / tau)): 10 % at tau ln(10/9), 90 % at tau ln 10, so the 10-90 % slew
    rate is 0.8 dV / (tau ln 9); 1 % of dV from the end at tau ln 100."""
    result = single_pole_bench.evaluate({"gm": GM_S, "r": R_OHM})
    expected = single_pole(GM_S, R_OHM)
    assert result.metrics["slew_rate_v_per_s"] == pytest.approx(0.8 * expected["step_v"] / (expected["tau_s"] * math.log(9)), rel=0.01)
    # the band is 1 % of the input step; the output's step is A0 / (1 + A0) of it, which shifts the crossing by 1e-4 tau
    assert result.metrics["settling_time_s"] == pytest.approx(expected["tau_s"] * math.log(1 / SETTLING_BAND), rel=0.02)
    time_s, out_v = np.array(result.curves["tran_time_s"]), np.array(result.curves["tran_out_v"])
    start_v = -STEP_FRACTION * SUPPLY_V / 2 * (1 - 1 / (1 + GM_S * R_OHM))
    analytic = start_v + expected["step_v"] * (1 - np.exp(-time_s / expected["tau_s"]))
    assert np.max(np.abs(out_v - analytic)) < 0.005 * expected["step_v"]  # the whole curve, not only two numbers


def test_a_linear_amplifier_swings_rail_to_rail_and_draws_the_power_of_its_supply_resistor() -> None:
    netlist = SINGLE_POLE.replace(".ends", "RS vdd vss 18k\n.ends")
    with open_bench(ideal(netlist, SINGLE_POLE_VARIABLES), CONDITION) as bench:
        result = bench.evaluate({})
    # the gain is the same everywhere: the whole sweep, vinn across the rails, which moves the output by A0 / (1 + A0) of it
    assert result.metrics["swing_v"] == pytest.approx(SUPPLY_V * 1e4 / (1 + 1e4), rel=1e-6)
    assert np.ptp(result.curves["dc_gain_db"]) < 0.01 and np.mean(result.curves["dc_gain_db"]) == pytest.approx(80, abs=0.01)
    assert result.metrics["power_w"] == pytest.approx(SUPPLY_V**2 / 18e3, rel=1e-9)


def test_a_two_pole_amplifier_has_the_analytic_phase_margin() -> None:
    """A(s) = g1 R1 g2 R2 / ((1 + s R1 C1)(1 + s R2 C2)); the UGF solved here from |A| = 1."""
    netlist = """.subckt ideal inp inn out vdd vss
G1 0 x inp inn 1m
R1 x 0 100k
C1 x 0 100p
G2 0 out x 0 1m
R2 out 0 10k
C2 out 0 0.5p
.ends"""
    with open_bench(ideal(netlist), CONDITION) as bench:
        result = bench.evaluate({})
    p1, p2 = 1 / (2 * math.pi * 100e3 * 100e-12), 1 / (2 * math.pi * 10e3 * (0.5e-12 + CL_F))
    a0 = 100 * 10

    def magnitude(f: float) -> float:
        return a0 / math.hypot(1, f / p1) / math.hypot(1, f / p2)

    low, high = p1, 1e10
    for _ in range(200):  # bisection on log f
        middle = math.sqrt(low * high)
        low, high = (middle, high) if magnitude(middle) > 1 else (low, middle)
    ugf = math.sqrt(low * high)
    pm = 180 - math.degrees(math.atan(ugf / p1) + math.atan(ugf / p2))
    assert result.metrics["ugf_hz"] == pytest.approx(ugf, rel=0.005)
    assert result.metrics["phase_margin_deg"] == pytest.approx(pm, abs=0.3)  # measured: within 0.05 deg
    assert 30 < pm < 60  # a second pole that matters


def test_cmrr_psrr_and_offset_are_the_known_gains_of_controlled_sources_and_a_series_source() -> None:
    """G sources weighted so Iout = gm (vp - vn) + gc (vp + vn) / 2 + gs v(vdd); VOS in series with inp.
    CMRR = gm / gc and PSRR = gm / gs (R and C cancel); in the follower the DC output solves
    out (1 + gm R - gc R / 2) = R (gm vos + gc vos / 2 + gs vdd) at a 0 V common mode."""
    gm, gc, gs, vos = 1e-3, 1e-6, 1e-7, 3e-3
    netlist = f""".subckt ideal inp inn out vdd vss
VOS ip inp {vos}
GP 0 out ip 0 {gm + gc / 2}
GN 0 out inn 0 {gc / 2 - gm}
GS 0 out vdd 0 {gs}
R1 out 0 {R_OHM}
C1 out 0 98p
.ends"""
    with open_bench(ideal(netlist), CONDITION) as bench:
        result = bench.evaluate({})
    assert result.metrics["cmrr_db"] == pytest.approx(20 * math.log10(gm / gc), abs=0.01)  # 60 dB
    assert result.metrics["psrr_db"] == pytest.approx(20 * math.log10(gm / gs), abs=0.01)  # 80 dB
    vdd = SUPPLY_V / 2
    offset = R_OHM * (gm * vos + gc * vos / 2 + gs * vdd) / (1 + gm * R_OHM - gc * R_OHM / 2)
    assert result.metrics["offset_v"] == pytest.approx(offset, rel=1e-6)  # 3.09 mV: vos and the supply's share


def test_the_input_common_mode_and_supply_come_from_the_package_when_it_gives_them() -> None:
    with open_bench(ideal(SINGLE_POLE, SINGLE_POLE_VARIABLES, input_cm_v=0.2, supply_v=3.0), CONDITION) as bench:
        result = bench.evaluate({})
        deck = bench.deck({})
    assert "vdd vdd 0 1.5" in deck and "vss vss 0 -1.5" in deck and "vcm cm 0 0.2" in deck
    # a follower at cm = 0.2 V: out = A0 / (1 + A0) cm, an offset of -cm / (1 + A0)
    assert result.metrics["offset_v"] == pytest.approx(-0.2 / (1 + GM_S * R_OHM), rel=1e-6)
    # vinn from cm - vdd = -1.3 V to cm - vss = 1.7 V (both on the sweep's step of 3 V / 60)
    assert result.metrics["swing_v"] == pytest.approx(3.0 * 1e4 / (1 + 1e4), rel=1e-6)


def test_a_result_is_flat_with_the_curves_asked_for(single_pole_bench) -> None:
    result = single_pole_bench.evaluate({})
    flat = result.to_dict(curves=["freq_hz"])
    assert flat["converged"] is True and flat["error"] is None and flat["sim_time_s"] == result.sim_time_s
    assert {name: flat[name] for name in TESTBENCH_MEASURES["opamp"]} == result.metrics
    assert flat["freq_hz"] == result.curves["freq_hz"] and "tran_out_v" not in flat and flat["margins_v"] == {}
    assert set(result.to_dict()) >= set(result.curves) and not set(result.to_dict(curves=False)) & set(result.curves)


@pytest.mark.parametrize("current_a", [10e-6, -10e-6])
def test_a_bias_current_is_drawn_from_the_rails_and_its_expression_follows_the_variables(current_a: float) -> None:
    """A current into pin ib (out of it when negative) through RB = 10 kohm to ground: V(ib) =
    I RB, and the rail that sources it (vdd, or vss for a negative current) delivers |I| x 0.9 V."""
    netlist = SINGLE_POLE.replace(".subckt ideal inp inn out vdd vss", ".subckt ideal inp inn out vdd vss ib").replace(".ends", "RB ib 0 10k\n.ends")
    text = yaml.safe_dump({
        "name": "ideal", "variables": [{"name": "gm", "kind": "r", "min": 1e-4, "max": 1e-2, "default": GM_S},
                                       {"name": "r", "kind": "r", "min": 1e5, "max": 1e8, "default": R_OHM},
                                       {"name": "ihalf", "kind": "ibias", "min": 1e-6, "max": 1e-4, "default": abs(current_a) / 2}],
        "netlist": netlist, "devices": {}, "pins": PINS | {"bias": {"ib": {"current": f"{{{'-' if current_a < 0 else ''}2*ihalf}}"}}},
        "testbench": {"name": "opamp"},
    })
    with open_bench(circuit_from_text(text), CONDITION) as bench:
        assert bench.evaluate({}).metrics["power_w"] == pytest.approx(abs(current_a) * SUPPLY_V / 2, rel=1e-9)
        assert bench.evaluate({"ihalf": abs(current_a)}).metrics["power_w"] == pytest.approx(2 * abs(current_a) * SUPPLY_V / 2, rel=1e-9)
        source = "ibias_ib vdd bias_ib dc 2e-05" if current_a > 0 else "ibias_ib bias_ib vss dc 2e-05"
        assert source in bench.deck({"ihalf": 1e-5}).splitlines()


# --- failures are results ----------------------------------------------------------------------
def test_a_candidate_ngspice_cannot_solve_is_a_result_with_the_reason_and_the_next_one_works(single_pole_bench) -> None:
    bench = open_bench(ideal(SINGLE_POLE, SINGLE_POLE_VARIABLES), CONDITION, timeout_s=1e-9)
    failed = bench.evaluate({})  # halted at once: a simulation that does not finish
    assert not failed.converged and "did not finish" in failed.error and all(math.isnan(v) for v in failed.metrics.values())
    bench.close()
    # two sources that hold one node at 1 V and at 2 V: no operating point (ngspice gives up: "timestep too small")
    broken = ideal(SINGLE_POLE.replace("C1 out 0 98p", "C1 out 0 98p\nV1 x 0 1\nV2 x 0 2"), SINGLE_POLE_VARIABLES)
    with open_bench(broken, CONDITION) as bench:
        result = bench.evaluate({})
        assert not result.converged and "ngspice failed in 'dc vinn" in result.error and all(math.isnan(v) for v in result.metrics.values())
        assert not bench.evaluate({"r": 1e6}).converged  # and again: the session survives its failures
    assert single_pole_bench.evaluate({}).converged


def test_a_bias_voltage_outside_the_rails_is_a_result_and_bad_input_a_clear_error(single_pole_bench) -> None:
    netlist = SINGLE_POLE.replace(".subckt ideal inp inn out vdd vss", ".subckt ideal inp inn out vdd vss vb").replace(".ends", "RB vb 0 1meg\n.ends")
    text = yaml.safe_dump({
        "name": "ideal", "variables": [{"name": "gm", "kind": "r", "min": 1e-4, "max": 1e-2, "default": GM_S},
                                       {"name": "r", "kind": "r", "min": 1e5, "max": 1e8, "default": R_OHM},
                                       {"name": "vb", "kind": "vbias", "min": -2, "max": 2, "default": 0.5}],
        "netlist": netlist, "devices": {}, "pins": PINS | {"bias": {"vb": {"voltage": "{vb}"}}}, "testbench": {"name": "opamp"},
    })
    with open_bench(circuit_from_text(text), CONDITION) as bench:
        assert bench.evaluate({"vb": 0.5}).converged
        outside = bench.evaluate({"vb": 1.5})
        assert not outside.converged and "bias pin vb = 1.5 V lies outside the rails" in outside.error
        assert bench.evaluate({"vb": -0.5}).converged
    assert single_pole_bench.evaluate({"GM": np.float64(GM_S), "r": np.int64(R_OHM)}).converged  # names in any case, numpy numbers
    with pytest.raises(ValueError, match="nosuch: not a variable"):
        single_pole_bench.evaluate({"nosuch": 1.0})
    with pytest.raises(ValueError, match="give a finite number"):
        single_pole_bench.evaluate({"gm": float("nan")})
    with pytest.raises(ValueError, match=r"lies outside \[0.0001, 0.01\]"):
        single_pole_bench.evaluate({"gm": 1.0})


# --- the Miller example on real devices --------------------------------------------------------
MILLER = EXAMPLES_DIR / "miller.yaml"


def _rising_step(time_s: np.ndarray, out_v: np.ndarray, band_v: float) -> tuple[float, float]:
    """(10-90 % slope, time of the last exit from the band around the final value) of a rising step."""
    start, final = out_v[0], out_v[-1]
    crossings = [float(np.interp(start + f * (final - start), out_v[k - 1:k + 1], time_s[k - 1:k + 1]))
                 for f in (0.1, 0.9) for k in [int(np.argmax(out_v >= start + f * (final - start)))]]
    last = int(np.nonzero(np.abs(out_v - final) > band_v)[0][-1])
    return 0.8 * (final - start) / (crossings[1] - crossings[0]), float(time_s[last + 1])


def _direct_miller(circuit, tech, condition, values: dict[str, float], cl_f: float, ugf_hz: float, levels_v: tuple[float, ...]) -> dict:
    """A hand-written deck, independent of the bench's fixture: the op-amp wired as a plain
    unity-gain follower, vinj (0 V) between out and inn. The operating point; the loop gain by
    Middlebrook's voltage injection (ac on vinj: A = -v(out) / v(inn), exact where inn is a gate);
    the closed-loop common-mode and supply responses, referred to the op-amp by (1 + A):
    ac on vinp and vinj together puts vc on both inputs, out = Acm vc / (1 + A); ac on vdd gives
    out = Avdd / (1 + A); the same step as the bench's, on its own time grid (tau / 20); and the
    small-signal loop gain at 1 Hz with the output moved to each of ``levels_v`` by vinj's DC value
    (out = cm - vinj, the inputs at cm), as the linearised gain beside the bench's DC differences."""
    vdd, vss, cm = tech.supply_v / 2, -tech.supply_v / 2, tech.input_cm_v
    step_v = STEP_FRACTION * tech.supply_v
    params = " ".join(f"{name}={value!r}" for name, value in values.items())
    margins = " ".join(device_vector(circuit, tech, e.name, q, within="x1") for e in circuit.parsed.mosfets for q in ("vds", "vdsat"))
    deck = f"""* miller: unity-gain follower, loop gain by voltage injection
{condition.include()}
.temp {condition.temp_c}
{render_subckt(circuit, tech)}
.param {params}
vdd vdd 0 {vdd}
vss vss 0 {vss}
iib vdd bias_ib {values["ibias"]!r}
vinp inp 0 dc {cm} ac 0 pulse({cm - step_v / 2} {cm + step_v / 2} 0 1p 1p 1 2)
vinj inn out dc 0 ac 1
x1 inp inn out vdd vss bias_ib miller {" ".join(f"{name}={{{name}}}" for name in values)}
cl out 0 {cl_f!r}
.save v(out) v(inn) i(vdd) i(vss) {margins}
.end
"""
    engine = open_engine("shared")  # one load of the models (10 s for sky130), then several runs
    try:
        engine.load(deck)
        results = engine.run({"op": "op", "ac": "ac dec 100 1 1e10"})
        engine.alter("vinp", acmag=1)
        common = complex(engine.run({"ac": "ac lin 1 1 1"})["ac"]["out"][0])
        engine.alter("vinp", acmag=0)
        engine.alter("vinj", acmag=0)
        engine.alter("vdd", acmag=1)
        supply = complex(engine.run({"ac": "ac lin 1 1 1"})["ac"]["out"][0])
        tau_s = 1 / (2 * math.pi * ugf_hz)
        tran = engine.run({"tran": f"tran {tau_s / 20:.6g} {30 * tau_s:.6g} 0 {tau_s / 20:.6g}"})["tran"]
        engine.alter("vdd", acmag=0)
        engine.alter("vinj", acmag=1)
        level_gains_db = []
        for level in levels_v:
            engine.alter("vinj", dc=cm - level)
            at = engine.run({"ac": "ac lin 1 1 1"})["ac"]
            level_gains_db.append(float(20 * np.log10(abs(complex(at["out"][0]) / complex(at["inn"][0])))))
    finally:
        engine.close()
    op = {name: float(np.real(v[0])) for name, v in results["op"].items()}
    freq, loop = np.real(results["ac"]["frequency"]), -results["ac"]["out"] / results["ac"]["inn"]
    magnitude_db = 20 * np.log10(np.abs(loop))
    k = int(np.nonzero(magnitude_db < 0)[0][0])
    ugf = 10 ** np.interp(0.0, magnitude_db[[k, k - 1]], np.log10(freq[[k, k - 1]]))
    phase = np.degrees(np.unwrap(np.angle(loop)))
    slew, settled = _rising_step(np.real(tran["time"]), np.real(tran["out"]), SETTLING_BAND * step_v)
    return {
        "gain_db": float(magnitude_db[0]), "ugf_hz": float(ugf), "phase_margin_deg": float(180 + np.interp(np.log10(ugf), np.log10(freq), phase)),
        "cmrr_db": float(magnitude_db[0] - 20 * np.log10(abs(common * (1 + loop[0])))),
        "psrr_db": float(magnitude_db[0] - 20 * np.log10(abs(supply * (1 + loop[0])))),
        "slew_rate_v_per_s": slew, "settling_time_s": settled, "level_gains_db": level_gains_db,
        "offset_v": op["out"] - cm, "power_w": -vdd * op["vdd#branch"] - vss * op["vss#branch"],
        "margins_v": {e.name: abs(op[device_vector(circuit, tech, e.name, "vds", within="x1")]) - abs(op[device_vector(circuit, tech, e.name, "vdsat", within="x1")])
                      for e in circuit.parsed.mosfets},
    }


def _check_miller(tech) -> dict[str, float]:
    circuit = load_circuit(MILLER)
    condition = tech.at()
    with open_bench(circuit, condition) as bench:
        result = bench.evaluate({})
        values = bench.values({})
    assert result.converged, result.error
    out_v, gains_db = np.array(result.curves["dc_out_v"]), np.array(result.curves["dc_gain_db"])
    peak = int(np.argmax(gains_db))
    # the swing's ends: where the DC sweep's gain, followed from its peak, first falls 3 dB below it
    ends = [next(out_v[k] for k in indices if gains_db[k] < gains_db[peak] - 3) for indices in (range(peak, -1, -1), range(peak, len(out_v)))]
    levels = (out_v[peak], *ends)
    direct = _direct_miller(circuit, tech, condition, values, circuit.testbench.load_capacitance_f, result.metrics["ugf_hz"], levels)
    metrics = result.metrics
    assert metrics["gain_db"] == pytest.approx(direct["gain_db"], abs=0.1)
    # the injection sees inn's gate on the output, which the open-loop fixture grounds: a few % on the UGF
    assert metrics["ugf_hz"] == pytest.approx(direct["ugf_hz"], rel=0.05)
    assert metrics["phase_margin_deg"] == pytest.approx(direct["phase_margin_deg"], abs=3)
    # open-loop responses against closed-loop ones referred by (1 + A): measured within 0.001 dB
    assert metrics["cmrr_db"] == pytest.approx(direct["cmrr_db"], abs=0.1)
    assert metrics["psrr_db"] == pytest.approx(direct["psrr_db"], abs=0.1)
    # the same follower's step on a time grid twice as fine: measured within 0.5 %
    assert metrics["slew_rate_v_per_s"] == pytest.approx(direct["slew_rate_v_per_s"], rel=0.03)
    assert metrics["settling_time_s"] == pytest.approx(direct["settling_time_s"], rel=0.03)
    assert metrics["offset_v"] == pytest.approx(direct["offset_v"], abs=1e-6)
    # the swing: the DC sweep's incremental gain is the small-signal gain at its peak and at the
    # first points past each end (compared at the same output levels), and the ends span swing_v
    for level, gain in zip(levels, direct["level_gains_db"]):
        assert float(np.interp(level, out_v[::-1], gains_db[::-1])) == pytest.approx(gain, abs=0.2), level  # measured: within 0.06 dB
    assert direct["level_gains_db"][0] - max(direct["level_gains_db"][1:]) > 3
    assert abs(ends[0] - ends[1]) >= metrics["swing_v"] > abs(ends[0] - ends[1]) - 2 * tech.supply_v / 60
    assert metrics["power_w"] == pytest.approx(direct["power_w"], rel=1e-6)
    for device, margin in direct["margins_v"].items():
        assert result.margins_v[device] == pytest.approx(margin, abs=1e-6), device
    assert metrics["saturation_margin_v"] == pytest.approx(min(direct["margins_v"].values()), abs=1e-6)  # every device is checked
    # plausible for a two-stage op-amp at its nominal sizes
    assert 30 < metrics["cmrr_db"] < 150 and 30 < metrics["psrr_db"] < 150
    assert 0.3 * tech.supply_v < metrics["swing_v"] < tech.supply_v
    assert 0.5 * metrics["gbw_hz"] < metrics["ugf_hz"] < 1.5 * metrics["gbw_hz"]
    step_v = STEP_FRACTION * tech.supply_v
    tau_s = 1 / (2 * math.pi * metrics["ugf_hz"])
    assert 0.1 * step_v / tau_s < metrics["slew_rate_v_per_s"] < 0.5 * step_v / tau_s  # at most about the linear 0.36 step / tau
    assert 3 * tau_s < metrics["settling_time_s"] < 30 * tau_s
    return metrics


def test_the_miller_opamp_on_generic180_agrees_with_a_hand_written_deck() -> None:
    metrics = _check_miller(GENERIC180)
    assert metrics["gain_db"] > 60 and metrics["gbw_hz"] > 10e6  # the example's constraints, met at its defaults


def test_the_miller_opamp_on_sky130_agrees_with_a_hand_written_deck(installed_pdk) -> None:
    _check_miller(installed_pdk("sky130"))


def test_the_exported_deck_runs_alone_and_measures_as_the_bench(tmp_path) -> None:
    """``deck()`` with its .control block in ngspice -b: the same DC gain as the bench's evaluate,
    and the same UGF to 0.5 % (ngspice's meas interpolates linearly in frequency, the bench in log)."""
    import subprocess

    from engine.batch import ngspice_binary

    circuit = load_circuit(MILLER)
    with open_bench(circuit, CONDITION) as bench:
        result = bench.evaluate({})
        deck = bench.deck({})
    (tmp_path / "deck.cir").write_text(deck)
    done = subprocess.run([ngspice_binary(), "-b", "deck.cir"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    measured = {line.split("=")[0].strip(): float(line.split("=")[1]) for line in done.stdout.splitlines() if line.strip().startswith(("ugf_hz", "gain_db"))}
    assert measured["gain_db"] == pytest.approx(result.metrics["gain_db"], abs=1e-4)  # meas prints 7 digits
    assert measured["ugf_hz"] == pytest.approx(result.metrics["ugf_hz"], rel=0.005)
    assert "No. of Data Rows" in done.stdout.split("Initial Transient Solution")[-1]  # the transient ran too
