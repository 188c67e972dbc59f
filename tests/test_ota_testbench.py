"""The OTA testbench: every topology at the paper's widths and every corner, failures as results,
and the shared session agreeing with a fresh ``ngspice -b`` per candidate."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from gmopt import paper
from lut.technology import GENERIC180, Device, Technology, get_technology, register
from ota.testbench import OtaTestbench
from ota.topology import TOPOLOGIES, get_topology

CORNERS = tuple(get_technology("generic180").corners)
METRICS = ("gain_db", "bandwidth_hz", "ugf_hz", "phase_margin_deg", "gm_s", "rmse_a", "offset_v", "power_w", "saturation_margin_v")


def _width_sets(name: str) -> list[tuple[float, ...]]:
    topology = get_topology(name)
    return [topology.reference_widths_um, *([paper.TABLE7_WIDTHS_UM[name]] if name in paper.TABLE7_WIDTHS_UM else [])]


@pytest.mark.slow
@pytest.mark.parametrize("name", TOPOLOGIES)
def test_paper_widths_simulate_at_every_corner(name: str) -> None:
    """Tables 5 and 7 (baseline: its reference widths) at tt/ff/ss/fs/sf: converged, physically sane."""
    for corner in CORNERS:
        with OtaTestbench(name, corner=corner) as bench:
            for widths in _width_sets(name):
                result = bench.evaluate_um(widths)
                assert result.converged, (corner, widths, result.error)
                # The tail current flows from vdd to vss: power within what MN1 alone could draw at 1.8 V.
                assert 1e-4 < result.power_w < 20e-3
                assert 0.3e-3 < result.gm_s < 20e-3 and result.gain_db > 20
                assert set(result.margins_v) == set(bench.topology.devices)
                assert len(result.vin_v) >= 41 and result.to_dict()["converged"]


def test_fast_corner_draws_more_power_than_slow() -> None:
    powers = {}
    for corner in ("ff", "ss"):
        with OtaTestbench("fig7", corner=corner) as bench:
            powers[corner] = bench.evaluate_um(paper.TABLE5_WIDTHS_UM["fig7"]).power_w
    assert powers["ff"] > 1.1 * powers["ss"]


def test_power_equals_supply_currents_times_voltages(fig7_var: list[int]) -> None:
    """Power from the op point: both supplies at 0.9 V magnitude, so P = 0.9 * (|I_vdd| + |I_vss|).

    The testbench takes its operating point from the sweep's Vin = 0 point; a separate ``op`` run
    converges to the same solution within ngspice's tolerances (reltol 1e-3 per Newton step; the
    converged points agree to about 1e-7), hence rel = 1e-6 rather than exact equality.
    """
    from engine import open_engine
    from ota.netlist import testbench_netlist

    var = fig7_var
    with open_engine("shared") as engine:
        engine.load(testbench_netlist("fig7", var, GENERIC180.at()))
        op = engine.run({"op": "op"})["op"]
    with OtaTestbench("fig7") as bench:
        result = bench.evaluate(var)
    expected = 0.9 * (abs(op["vdd#branch"][0]) + abs(op["vss#branch"][0]))
    assert result.power_w == pytest.approx(expected, rel=1e-6)
    # Saturation margins come straight from ngspice's device parameters.
    assert result.margins_v["MN2"] == pytest.approx(abs(op["@m.xota.mn2[vds]"][0]) - abs(op["@m.xota.mn2[vdsat]"][0]))


def test_shared_and_batch_backends_agree() -> None:
    var = get_topology("fig8").var_from_um(paper.TABLE7_WIDTHS_UM["fig8"])
    results = {}
    for backend in ("shared", "batch"):
        with OtaTestbench("fig8", backend=backend) as bench:
            results[backend] = bench.evaluate(var)
    for key in METRICS:
        assert results["batch"].__dict__[key] == pytest.approx(results["shared"].__dict__[key], rel=1e-6, abs=1e-12), key
    assert results["batch"].all_saturated == results["shared"].all_saturated


def test_bad_input_raises_value_error() -> None:
    with OtaTestbench("baseline") as bench:
        with pytest.raises(ValueError, match=r"2 integers \(W1, W2\) in \[40, 8000\]"):
            bench.evaluate([100, 200, 300])
        with pytest.raises(ValueError, match="out of range"):
            bench.evaluate([100, 8001])


def _broken_technology(folder: Path) -> str:
    """A model card ngspice refuses at analysis time (negative mobility)."""
    model = folder / "broken.lib"
    model.write_text(
        ".lib tt\n.model nch nmos (level=8 version=3.3.0 u0=-0.03)\n.model pch pmos (level=8 version=3.3.0)\n.endl tt\n"
    )
    register(Technology(
        name="broken", description="test", source="test", model_file=model, corners={"tt": "tt"}, supply_v=1.8,
        nmos=Device("nch", "n"), pmos=Device("pch", "p"), lmin_m=0.18e-6, wmin_m=0.27e-6,
    ))
    return "broken"


@pytest.mark.parametrize("backend", ["shared", "batch"])
def test_failed_simulation_is_a_result_not_an_exception(tmp_path: Path, backend: str, fig7_var: list[int]) -> None:
    with OtaTestbench("fig7", technology=_broken_technology(tmp_path), backend=backend, bias_v=paper.BIAS_V) as bench:
        result = bench.evaluate(fig7_var)
    assert not result.converged
    assert "parameter checking for nch" in result.error  # ngspice's own words
    assert math.isnan(result.gain_db) and math.isnan(result.gm_s) and not result.all_saturated
    assert math.isnan(result.to_dict()["gain_db"])  # NaN, as at any number of corners (gmopt.floats)


def test_dc_and_ac_end_by_themselves_and_need_no_time_limit(fig7_var: list[int]) -> None:
    """A candidate's dc sweep and ac analysis run in the calling thread (engine/shared.py, ``_BOUNDED``:
    ngspice stops each point after its iteration limit), so even a 1e-9 s limit, which halts a transient
    at once (tests/test_engine.py), leaves them to finish: the same figures as with the default limit."""
    with OtaTestbench("fig7", timeout_s=1e-9) as bench:
        limited = bench.evaluate(fig7_var)
    with OtaTestbench("fig7") as bench:
        default = bench.evaluate(fig7_var)
    assert limited.converged and limited.gain_db > 30
    assert (limited.gain_db, limited.gm_s, limited.offset_v) == (default.gain_db, default.gm_s, default.offset_v)


def test_to_dict_is_a_copy_with_every_field(fig7_var: list[int]) -> None:
    """The dict holds every field's value (as ``dataclasses.asdict``, which deep-copies) and shares
    no list or dict with the result: a caller editing it leaves the result as measured."""
    import dataclasses

    with OtaTestbench("fig7") as bench:
        result = bench.evaluate(fig7_var)
    expected = dataclasses.asdict(result)
    data = result.to_dict()
    assert data == expected
    data["var"][0] += 1
    data["vin_v"].clear()
    data["margins_v"].clear()
    assert dataclasses.asdict(result) == expected
    assert set(result.to_dict(curves=("iout_a",))) == set(expected) - {"vin_v", "freq_hz", "ac_magnitude_db", "ac_phase_deg"}
