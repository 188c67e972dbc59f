"""Full-length neuromorphic runs: emulator loops at the paper's frequencies, one T = 5 ms neuron,
and the cost of the 5 ms transient against a 10 us-pulse run of the same neuron (a ratio, measured here)."""

from __future__ import annotations

import time

from neuromorphic.emulator import sweep_frequency
from neuromorphic.neuron import NeuronOptions, run_neuron
from ota.topology import TOPOLOGIES


def main() -> dict:
    figures: dict = {"emulator": {}}
    for topology in TOPOLOGIES:
        sweep = sweep_frequency(topology, [1e5, 1e6])
        figures["emulator"][topology] = {
            f"{r.freq_hz:g}": {"pinched": r.pinched, "pinch_ratio": r.pinch_ratio,
                               "lobe_area_pos": r.lobe_area_pos, "lobe_area_neg": r.lobe_area_neg}
            for r in sweep.results
        } | {"shrinks": sweep.shrinks}
        low, high = sweep.results
        print(f"emulator {topology:8s} 100 kHz lobes {low.lobe_area_pos:.3g}/{low.lobe_area_neg:.3g} V*A, "
              f"1 MHz {high.lobe_area_pos:.3g}/{high.lobe_area_neg:.3g} V*A, pinched {low.pinched}/{high.pinched}")
    started = time.perf_counter()
    short = run_neuron("fig7", options=NeuronOptions(period_s=10e-6, duty=0.4, periods=30, max_step_s=20e-9))
    short_s = time.perf_counter() - started
    started = time.perf_counter()
    full = run_neuron("fig7")
    full_s = time.perf_counter() - started
    figures["neuron_fig7_5ms"] = {"spike_count": full.spike_count, "rate_hz": full.rate_hz,
                                  "energy_per_spike_j": full.energy_per_spike_j, "area_um2": full.area_um2}
    figures["neuron_fig7_10us"] = {"spike_count": short.spike_count, "energy_per_spike_j": short.energy_per_spike_j}
    figures["time_ratio_5ms_over_300us"] = full_s / short_s
    print(f"neuron fig7 T=5 ms: {full.spike_count} spikes, {full.energy_per_spike_j * 1e9:.3g} nJ/spike "
          f"({full_s / short_s:.1f}x the time of 30 periods of 10 us)")
    return figures
