"""The OTA memristor emulator: loop analysis against an ideal memristor, and every OTA on ngspice."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from gmopt import paper
from gmopt.cli import app
from neuromorphic.emulator import EmulatorOptions, analyse_period, run_emulator, sweep_frequency
from neuromorphic.reference_designs import reference_designs, reference_var
from ota.testbench import OtaTestbench

AMPLITUDE_V = 0.5


def ideal_memristor(freq_hz: float, g0_s: float = 1e-3, k: float = 2e2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """i = (g0 + k * flux) v with v = A sin(wt): flux = A/w (1 - cos wt)."""
    w = 2 * np.pi * freq_hz
    t = np.linspace(0, 1 / freq_hz, 20001)
    v = AMPLITUDE_V * np.sin(w * t)
    flux = AMPLITUDE_V / w * (1 - np.cos(w * t))
    return t, v, (g0_s + k * flux) * v


@pytest.mark.parametrize("freq_hz", [1e5, 1e6])
def test_lobe_area_of_an_ideal_memristor_matches_the_closed_form(freq_hz: float) -> None:
    # |integral of i dv| over the v > 0 half period = 2 k A^3 / (3 w), the same for v < 0
    k = 2e2
    t, v, i = ideal_memristor(freq_hz, k=k)
    loop = analyse_period(t, v, i, 0.0, 1 / freq_hz)
    expected = 2 * k * AMPLITUDE_V**3 / (3 * 2 * np.pi * freq_hz)
    assert loop.lobe_area_pos == pytest.approx(expected, rel=1e-4)
    assert loop.lobe_area_neg == pytest.approx(expected, rel=1e-4)
    assert loop.pinch_ratio == pytest.approx(0.0, abs=1e-9)


PINCH_OPTIONS = EmulatorOptions(freq_hz=1e5, periods=4)


@pytest.mark.parametrize("topology", ["baseline", "fig7", "fig8", "fig9"])
def test_reference_designs_are_low_offset_saturated_otas(topology: str) -> None:
    # the data file's metrics against a fresh OTA testbench run, and the properties it claims
    design = reference_designs()[topology]
    with OtaTestbench(topology, design.technology, design.corner, design.temp_c) as bench:
        result = bench.evaluate(design.var)
    assert abs(result.offset_v) <= 0.05
    assert result.all_saturated
    assert result.gm_s >= 1e-3
    assert result.offset_v == pytest.approx(design.metrics["offset_v"], abs=0.1e-3)
    assert result.gm_s == pytest.approx(design.metrics["gm_s"], rel=0.01)


@pytest.mark.parametrize("topology", ["baseline", "fig7", "fig8", "fig9"])
def test_every_topology_loop_is_pinched_at_the_origin(topology: str) -> None:
    result = run_emulator(topology, reference_var(topology), options=PINCH_OPTIONS)
    # the analysed (last) period is settled: its lobe areas within 2 % of the period before
    assert result.settle_change < 0.02
    # the drive is an ideal sine: |i| at its zeros must be under 5 % of the peak
    assert result.pinch_ratio < 0.05
    assert result.pinched


@pytest.mark.parametrize("topology", ["fig7", "fig8"])
def test_paper_table7_widths_are_not_pinched_in_generic180(topology: str) -> None:
    # Table 7's widths give these OTAs large input offsets here (-208 mV, -125 mV): at v = 0 they
    # still deliver a large fraction of the peak current, so the loop misses the origin.
    widths_um = paper.TABLE7_WIDTHS_UM[topology]
    with OtaTestbench(topology) as bench:
        assert abs(bench.evaluate_um(widths_um).offset_v) > 0.1
    result = run_emulator(topology, widths_um=widths_um, options=PINCH_OPTIONS)
    assert result.pinch_ratio > 0.2
    assert not result.pinched


@pytest.mark.parametrize("topology", ["baseline", "fig7", "fig8", "fig9"])
def test_lobes_shrink_as_the_frequency_rises(topology: str) -> None:
    sweep = sweep_frequency(topology, [1e5, 1e6], options=EmulatorOptions(periods=4))
    low, high = sweep.results
    # VB integrates v: its swing (and the memristive part of i) falls about as 1/f
    assert (high.vb_max_v - high.vb_min_v) < 0.3 * (low.vb_max_v - low.vb_min_v)
    assert sweep.shrinks


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="frequency"):
        EmulatorOptions(freq_hz=0.0)
    with pytest.raises(ValueError, match="not both"):
        run_emulator("fig7", var=[839, 441, 121, 1963, 5906], widths_um=[75.51, 39.69, 10.89, 176.67, 531.54])


def test_cli_widths_ours_runs_the_reference_design() -> None:
    outcome = CliRunner().invoke(app, ["emulator", "--topology", "fig9", "--widths", "ours", "--periods", "3", "--json"])
    assert outcome.exit_code == 0, outcome.output
    assert json.loads(outcome.output)["setup"]["var"] == reference_var("fig9")
    refused = CliRunner().invoke(app, ["emulator", "--topology", "fig5", "--widths", "ours"])
    assert refused.exit_code == 2 and "no gmopt reference design" in refused.output
