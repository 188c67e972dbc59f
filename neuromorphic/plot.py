"""PNG figures: emulator i-v loops (like the paper's Figure 17), neuron waveforms (Figures 18-21),
the emulator node's oscillation (the neuron's probe) and the PVT spread. matplotlib's Agg back-end, so no display is needed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gmopt.figures import plt, save_figure


if TYPE_CHECKING:
    from neuromorphic.emulator import EmulatorResult
    from neuromorphic.neuron import NeuronResult


def plot_loops(results: Sequence[EmulatorResult], path: str | Path) -> Path:
    """One panel per frequency, one curve per OTA: current (mA) against voltage (V)."""
    frequencies = sorted({r.freq_hz for r in results}, reverse=True)
    figure, axes = plt.subplots(1, len(frequencies), figsize=(5 * len(frequencies), 4), squeeze=False)
    for axis, freq in zip(axes[0], frequencies):
        for result in (r for r in results if r.freq_hz == freq):
            label = f"{result.setup['topology']} ({'pinched' if result.pinched else 'not pinched'})"
            axis.plot(result.loop_v, [i * 1e3 for i in result.loop_i_a], label=label)
        axis.set(title=f"{freq / 1e3:g} kHz", xlabel="v (V)", ylabel="i (mA)")
        axis.axhline(0, color="grey", lw=0.5)
        axis.axvline(0, color="grey", lw=0.5)
        axis.legend(fontsize=8)
    return save_figure(figure, path)


def plot_neuron(result: NeuronResult, path: str | Path) -> Path:
    """Input pulses, membrane potential Vm, spike output and the emulator's VB, on one time axis."""
    waves = result.waveforms
    panels = (("vin", "Vin (V)"), ("vm", "Vm (V)"), ("out", "output (V)"), ("vb", "emulator VB (V)"))
    figure, axes = plt.subplots(len(panels), 1, figsize=(9, 8), sharex=True)
    time_ms = [t * 1e3 for t in waves["time_s"]]
    for axis, (key, label) in zip(axes, panels):
        axis.plot(time_ms, waves[key], lw=0.8)
        axis.set_ylabel(label)
    for spike in result.spike_times_s:
        axes[2].axvline(spike * 1e3, color="red", lw=0.3, alpha=0.4)
    axes[0].set_title(f"{result.setup['topology']}: {result.spike_count} spikes, {result.energy_per_spike_j * 1e9:.3g} nJ/spike")
    axes[-1].set_xlabel("time (ms)")
    return save_figure(figure, path)


def plot_probes(probes: Sequence[tuple[str, dict]], path: str | Path) -> Path:
    """One row per (label, probe dict with waveforms): mr's envelope over the probe (min/max per
    50 ns) beside its last 400 ns, titled with the measured frequency and the loop's phase margin."""
    figure, axes = plt.subplots(len(probes), 2, figsize=(12, 2.6 * len(probes)), squeeze=False,
                                gridspec_kw={"width_ratios": (2, 1)})
    for (label, probe), (left, right) in zip(probes, axes):
        waves, oscillation = probe["waveforms"], probe["oscillation"]
        envelope_us = [t * 1e6 for t in waves["envelope_time_s"]]
        left.fill_between(envelope_us, waves["envelope_low"], waves["envelope_high"], step="post", lw=0)
        left.set(xlabel="time (us)", ylabel="mr (V)")
        verdict = (f"oscillates at {oscillation['frequency_fft_hz'] / 1e6:.3g} MHz, {oscillation['peak_to_peak_v'] * 1e3:.0f} mV pp"
                   if oscillation["oscillating"] else "no oscillation")
        left.set_title(f"{label}: {verdict}; VB {probe['vb_v']:.2f} V, loop PM {probe['loop']['phase_margin_deg']:.0f} deg",
                       fontsize=9)
        right.plot([t * 1e9 - waves["zoom_time_s"][0] * 1e9 for t in waves["zoom_time_s"]], waves["zoom_mr"], lw=0.8)
        right.set(xlabel=f"ns after {waves['zoom_time_s'][0] * 1e6:.1f} us", ylabel="mr (V)")
    return save_figure(figure, path)


def plot_spread(rows: Sequence[dict], path: str | Path) -> Path:
    """PVT: firing rate and energy per spike of every corner/temperature/supply point."""
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    labels = [f"{r['corner']} {r['temp_c']:g}C {r['supply_scale']:g}" for r in rows]
    for axis, key, unit, scale in ((axes[0], "rate_hz", "firing rate (kHz)", 1e-3), (axes[1], "energy_per_spike_j", "energy per spike (nJ)", 1e9)):
        values = [(r.get(key) or float("nan")) * scale for r in rows]
        axis.bar(range(len(rows)), values)
        axis.set_xticks(range(len(rows)), labels, rotation=90, fontsize=6)
        axis.set_ylabel(unit)
    return save_figure(figure, path)
