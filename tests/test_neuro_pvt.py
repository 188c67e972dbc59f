"""PVT in worker processes: a worker's point equals the same run in this process."""

from __future__ import annotations

import pytest

from neuromorphic.emulator import EmulatorOptions, run_emulator
from neuromorphic.neuron import NeuronOptions, run_neuron
from neuromorphic.pvt import run_pvt

SHORT = NeuronOptions(period_s=10e-6, duty=0.4, periods=6, max_step_s=20e-9)
EMULATOR = EmulatorOptions(freq_hz=1e6, periods=3)


def test_pvt_points_in_workers_equal_direct_runs_and_supply_moves_the_energy() -> None:
    report = run_pvt("baseline", corners=["tt"], temperatures_c=[27.0], supply_scales=[0.9, 1.1],
                     neuron_options=SHORT, emulator_options=EMULATOR, workers=2)
    low, high = report.rows
    direct = run_neuron("baseline", options=SHORT, supply_scale=1.1)
    assert high["spike_count"] == direct.spike_count
    assert high["energy_per_spike_j"] == pytest.approx(direct.energy_per_spike_j, rel=1e-6)
    loop = run_emulator("baseline", options=EMULATOR, supply_scale=1.1)
    assert high["lobe_area_total"] == pytest.approx(loop.lobe_area_pos + loop.lobe_area_neg, rel=1e-6)
    # the OTA draws more at the higher supply
    assert high["energy_per_spike_j"] * high["spike_count"] > low["energy_per_spike_j"] * low["spike_count"]
    # the spread of two points by hand: the smaller, their mean, the larger
    spread, values = report.spread["energy_per_spike_j"], sorted(row["energy_per_spike_j"] for row in report.rows)
    assert spread["points"] == 2 and (spread["min"], spread["max"]) == (values[0], values[1])
    assert spread["median"] == pytest.approx((values[0] + values[1]) / 2, rel=1e-12)


def test_unknown_corner_is_refused() -> None:
    with pytest.raises(ValueError, match="no corner"):
        run_pvt("fig7", corners=["xx"])
