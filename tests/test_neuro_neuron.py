"""The LIF neuron: a short run that fires, its area by hand, and Table 10's areas."""

from __future__ import annotations

import numpy as np
import pytest

from gmopt import paper
from lut.technology import get_technology
from neuromorphic.circuit import inverter_area_um2, ota_area_um2
from neuromorphic.neuron import NeuronOptions, neuron_area_um2, neuron_sizes, run_neuron
from ota.topology import get_topology

LAMBDA_UM = 0.09


def test_short_neuron_run_fires_and_its_area_is_the_hand_sum() -> None:
    options = NeuronOptions(period_s=10e-6, duty=0.4, periods=6, max_step_s=20e-9)
    result = run_neuron("baseline", options=options)
    assert result.spike_count > 0
    assert result.rate_hz == pytest.approx(result.spike_count / options.stop_s, rel=1e-3)
    assert result.energy_per_spike_j == pytest.approx(result.energy_total_j / result.spike_count, rel=1e-12)
    assert result.energy_total_j > 0
    # hand sum (um^2): baseline MN1 16.6x1, MN2/MN3 and MP1/MP2 at W = Var*0.09 um, L = 1 um;
    # inverter (2 + 11) x 1; Table 9 with TN1/TN5 widened from 0.24 to generic180's 0.27 um.
    w1, w2 = (value * LAMBDA_UM for value in result.setup["var"])
    neuron = 2 * 0.27 * 0.18 + 5 * 0.4 * 0.4 + 0.3 * 0.3 + 2 * 0.5 * 0.4
    assert result.area_um2 == pytest.approx(16.6 + 2 * w1 + 2 * w2 + 13.0 + neuron, abs=1e-9)
    assert len(result.size_adjustments) == 2


def test_sizes_below_the_technology_minimum_are_raised_and_reported() -> None:
    sizes, changes = neuron_sizes(get_technology("generic180"))
    assert sizes["TN1"] == sizes["TN5"] == (0.27, 0.18)
    assert sizes["TP1"] == (0.5, 0.4)
    assert [change.split(":")[0] for change in changes] == ["TN1", "TN5"]


@pytest.mark.parametrize("topology", ["fig7", "fig8", "fig9"])
@pytest.mark.parametrize("scale", [1, 100])
def test_areas_match_table10_up_to_one_pmos_of_the_mirror(topology: str, scale: int) -> None:
    """Our sum with Table 9's sizes is Table 10's area + 0.2 um^2 in every row: exactly one
    0.5 x 0.4 um device, i.e. the paper counted the TP1/TP2 row once."""
    var = get_topology(topology).var_from_um(paper.TABLE7_WIDTHS_UM[topology])
    ours = ota_area_um2(topology, var) + inverter_area_um2(scale) + neuron_area_um2(paper.TABLE9_SIZES_UM)
    assert ours - paper.TABLE10_ENERGY[(topology, scale)][1] == pytest.approx(0.5 * 0.4, abs=1e-6)


def test_inverter_x100_adds_99_times_its_area_as_in_table10() -> None:
    for name in ("original", "fig7", "fig8", "fig9"):
        added = paper.TABLE10_ENERGY[(name, 100)][1] - paper.TABLE10_ENERGY[(name, 1)][1]
        assert added == pytest.approx(inverter_area_um2(100) - inverter_area_um2(1), abs=1e-6)
    assert np.isclose(inverter_area_um2(1), 13.0)


def test_bad_neuron_options_are_refused() -> None:
    with pytest.raises(ValueError, match="duty"):
        NeuronOptions(duty=30)
    with pytest.raises(ValueError, match="inverter scale"):
        run_neuron("fig7", inverter_scale=0)
