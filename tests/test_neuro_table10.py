"""Table 10 in bounded time: a row over its time limit is marked, not raised; 'ours' rows use our designs."""

from __future__ import annotations

import pytest
import yaml
from typer.testing import CliRunner

from gmopt import paper
from gmopt.cli import app
from neuromorphic.neuron import NeuronOptions
from neuromorphic.reference_designs import DATA_FILE
from neuromorphic.table10 import reproduce_table10

TINY_LIMIT_S = 0.05  # a 5 ms neuron run takes 15 s or more here


def test_rows_over_the_time_limit_are_marked_and_ours_rows_use_the_reference_designs() -> None:
    rows = reproduce_table10(options=NeuronOptions(timeout_s=TINY_LIMIT_S), workers=2, topologies=("fig7",))
    assert [(row.sizing, row.inverter_scale) for row in rows] == [
        (sizing, scale) for sizing in ("first", "optimized", "ours") for scale in (1, 100)]
    for row in rows:
        assert row.timed_out and row.timeout_s == TINY_LIMIT_S
        assert row.energy_per_spike_j is None and row.spike_count is None
    # the area needs no simulation and is still listed: Table 10's + 0.2 um^2 (one TP1/TP2 device,
    # see test_neuro_neuron.py) for the paper's widths
    for row in rows[2:4]:
        assert row.area_table9_um2 - paper.TABLE10_ENERGY[("fig7", row.inverter_scale)][1] == pytest.approx(0.2, abs=1e-6)
    ours = yaml.safe_load(DATA_FILE.read_text())["designs"]["fig7"]["var"]
    assert rows[4].var == rows[5].var == ours
    # ours differs from the paper's widths, so does its area: W*L with L = 1 um and lambda = 0.09 um;
    # each of Fig. 7's five widths sizes two devices (W1: MN2, MN3; W2: MN4, MN5; W3: MN6, MN7;
    # W4: MP2, MP3; W5: MP1, MP4), so the area moves by 2 x 0.09 um x 1 um per lambda of any width
    assert rows[4].area_um2 - rows[2].area_um2 == pytest.approx(2 * 0.09 * (sum(ours) - sum(rows[2].var)), abs=1e-6)


def test_cli_prints_every_row_and_marks_the_unfinished_ones() -> None:
    """COLUMNS: rich would wrap the cells in a narrow terminal."""
    result = CliRunner(env={"COLUMNS": "300"}).invoke(app, ["table10", "--row-timeout", str(TINY_LIMIT_S), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.count(f"did not finish in {TINY_LIMIT_S:g} s") == 22
    assert "optimized (ours)" in result.output
