"""Spikes in a sampled waveform: times, count, inter-spike intervals and firing rate.

A spike is a rising crossing of the upper level that follows a fall below the lower level
(a Schmitt-trigger reading of the waveform), so ringing or noise around one level never
counts twice. Crossing times are interpolated linearly between samples, so they do not
depend on the simulator's time step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class SpikeTrain:
    """What a waveform fired: spike times (s) and the statistics derived from them."""

    times_s: list[float]
    window_s: float

    @property
    def count(self) -> int:
        return len(self.times_s)

    @property
    def isi_s(self) -> list[float]:
        return np.diff(self.times_s).tolist()

    @property
    def rate_hz(self) -> float:
        """Spikes per second over the whole observation window (eq. 12 divides by the same count)."""
        return self.count / self.window_s if self.window_s > 0 else float("nan")

    @property
    def mean_isi_s(self) -> float:
        return float(np.mean(self.isi_s)) if self.count > 1 else float("nan")

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(count=self.count, isi_s=self.isi_s, rate_hz=self.rate_hz, mean_isi_s=self.mean_isi_s)
        return data


def detect_spikes(time_s: np.ndarray, signal: np.ndarray, low: float, high: float) -> SpikeTrain:
    """Rising crossings of ``high`` armed by a previous sample at or below ``low``."""
    time_s = np.asarray(time_s, dtype=float)
    signal = np.asarray(signal, dtype=float)
    if time_s.shape != signal.shape or time_s.ndim != 1:
        raise ValueError("time and signal must be one-dimensional arrays of the same length")
    if not low < high:
        raise ValueError(f"the lower level ({low}) must be below the upper level ({high})")
    times: list[float] = []
    armed = bool(signal.size) and signal[0] <= low
    for k in range(1, signal.size):
        if signal[k] <= low:
            armed = True
        elif armed and signal[k] >= high > signal[k - 1]:
            fraction = (high - signal[k - 1]) / (signal[k] - signal[k - 1])
            times.append(float(time_s[k - 1] + fraction * (time_s[k] - time_s[k - 1])))
            armed = False
    window = float(time_s[-1] - time_s[0]) if time_s.size else 0.0
    return SpikeTrain(times_s=times, window_s=window)
