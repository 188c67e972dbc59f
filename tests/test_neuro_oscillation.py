"""The emulator node's oscillation: the detector on a known waveform, and the neuron's probe against
the follower loop's AC stability (an independent, linear computation) for fig9 at Table 7 widths."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gmopt import paper
from neuromorphic.neuron import NeuronOptions, run_probe
from neuromorphic.oscillation import measure_oscillation
from neuromorphic.table10 import sizings, table10_case, table10_cases, table10_row


def _spiky(t: np.ndarray) -> np.ndarray:
    """What mr does without an oscillation: 30 mV steps as TN4 switches at about 170 kHz."""
    return 0.03 * (np.sin(2 * np.pi * 170e3 * t) > 0.6)


def test_detector_finds_a_known_ringing_and_ignores_the_spikes() -> None:
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0.0, 20e-6, 60_000))             # uneven steps, as the simulator's
    ringing = 0.2 * np.sin(2 * np.pi * 31e6 * t)               # 0.4 V pp at 31 MHz
    found = measure_oscillation(t, _spiky(t) + ringing, 5e-6, 20e-6)
    assert found.oscillating
    assert found.frequency_fft_hz == pytest.approx(31e6, rel=0.01)
    assert found.frequency_crossings_hz == pytest.approx(31e6, rel=0.01)
    assert found.peak_to_peak_v == pytest.approx(0.4, rel=0.05)
    assert not measure_oscillation(t, _spiky(t), 5e-6, 20e-6).oscillating


def test_fig9_table7_rings_with_the_x1_inverter_where_its_loop_is_unstable() -> None:
    var = sizings("fig9")["optimized"]
    ringing = run_probe("fig9", var, inverter_scale=1)
    found = ringing.oscillation
    assert found.oscillating and found.peak_to_peak_v > 0.2
    assert found.frequency_crossings_hz == pytest.approx(found.frequency_fft_hz, rel=0.02)
    # AC: the OTA with inn = out at the VB the neuron holds has a negative phase margin and rings
    # near the frequency where the loop's phase passes -180 deg (large signal: a few % lower)
    assert ringing.loop["phase_margin_deg"] < 0 and ringing.loop["gain_at_crossover_db"] > 0
    assert found.frequency_fft_hz == pytest.approx(ringing.loop["phase_crossover_hz"], rel=0.2)
    # the x100 inverter's gates load the node (UGF down about 2.6x): stable, quiet
    quiet = run_probe("fig9", var, inverter_scale=paper.INVERTER_SCALE_PAPER)
    assert quiet.loop["phase_margin_deg"] > 0 and not quiet.oscillation.oscillating


def test_an_oscillating_table10_row_reports_its_frequency_instead_of_a_time_out() -> None:
    case = next(c for c in table10_cases(topologies=("fig9",), options=NeuronOptions(timeout_s=120))
                if c["sizing"] == "optimized" and c["inverter_scale"] == 1)
    row = table10_row(table10_case(case))
    assert row.oscillating and not row.timed_out and row.error is None
    assert 20e6 < row.oscillation_hz < 45e6 and row.phase_margin_deg < 0
    assert row.spike_count is None and row.area_table9_um2 == pytest.approx(
        paper.TABLE10_ENERGY[("fig9", 1)][1] + 0.2, abs=1e-6)              # area without simulation
    assert "probe" not in row.to_dict()


def test_cli_probe_says_whether_the_node_rings() -> None:
    from typer.testing import CliRunner

    from gmopt.cli import app

    widths = ",".join(f"{w:g}" for w in paper.TABLE7_WIDTHS_UM["fig9"])
    result = CliRunner().invoke(app, ["neuron", "--topology", "fig9", "--widths-um", widths, "--probe", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["oscillation"]["oscillating"] and data["loop"]["phase_margin_deg"] < 0
