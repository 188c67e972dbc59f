"""Sinusoidal i-v loops (Section 3, Figure 3): data, a summary and a PNG.

The pinched loop's lobe area shrinks as the frequency rises, the memristor's fingerprint the
paper points at; ``lobe_area`` puts a number on it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine import Engine
from gmopt import paper
from memristor.models import MemristorModel
from memristor.spice import simulate_spice
from memristor.trace import Trace
from memristor.waveforms import Sine

SUMMARY_POINTS = 400


def sine_loop(model: MemristorModel, frequency_hz: float, amplitude_v: float = paper.IV_AMPLITUDE_V,
              initial_ohm: float | None = paper.IV_INITIAL_MEMRISTANCE_OHM, periods: float = 2.0,
              engine: Engine | None = None) -> Trace:
    """The loop of ``model`` in ngspice, started at ``initial_ohm`` (the paper's 5 kOhm)."""
    if frequency_hz <= 0 or amplitude_v <= 0:
        raise ValueError("frequency and amplitude must be positive")
    device = model.with_memristance(initial_ohm) if initial_ohm is not None else model
    return simulate_spice(device, Sine(amplitude_v, frequency_hz, periods), engine=engine)


def lobe_area(trace: Trace, frequency_hz: float) -> float:
    """|int i dv| over the positive lobe plus over the negative lobe, last period (W/Hz = V*A)."""
    keep = trace.time_s >= trace.time_s[-1] - 1.0 / frequency_hz
    v, i = trace.voltage_v[keep], trace.current_a[keep]
    dv = np.diff(v)
    mid_i, mid_v = 0.5 * (i[1:] + i[:-1]), 0.5 * (v[1:] + v[:-1])
    return float(abs(np.sum((mid_i * dv)[mid_v > 0])) + abs(np.sum((mid_i * dv)[mid_v < 0])))


def summary(trace: Trace, frequency_hz: float) -> dict:
    """Key figures and the loop resampled to a few hundred points (JSON-sized)."""
    times = np.linspace(trace.time_s[0], trace.time_s[-1], SUMMARY_POINTS)
    return {
        "frequency_hz": frequency_hz,
        "max_current_a": float(np.max(np.abs(trace.current_a))),
        "memristance_min_ohm": float(np.min(trace.memristance_ohm)),
        "memristance_max_ohm": float(np.max(trace.memristance_ohm)),
        "lobe_area_va": lobe_area(trace, frequency_hz),
        "t": times.tolist(),
        "v": np.interp(times, trace.time_s, trace.voltage_v).tolist(),
        "i": np.interp(times, trace.time_s, trace.current_a).tolist(),
    }


def plot_loops(loops: dict[float, Trace], path: Path, title: str) -> Path:
    """One panel per frequency, as Figure 3 b)-d)."""
    from gmopt.figures import plt, save_figure

    figure, axes = plt.subplots(1, len(loops), figsize=(4.2 * len(loops), 3.6), squeeze=False)
    for axis, (frequency, trace) in zip(axes[0], sorted(loops.items())):
        axis.plot(trace.voltage_v, trace.current_a * 1e3, linewidth=1.0)
        axis.set_title(f"{frequency / 1e3:g} kHz")
        axis.set_xlabel("v (V)")
        axis.set_ylabel("i (mA)")
        axis.grid(True, alpha=0.3)
    figure.suptitle(title)
    return save_figure(figure, path)
