"""A parasitic oscillation in a sampled waveform: is there one, at what frequency, how large.

The neuron's emulator node ``mr`` moves slowly with the spikes (TN4 switching every few us, under
1 MHz) and, when the emulator's follower loop is unstable, rings at tens of MHz on top of that. The
slow part is removed by subtracting a running mean over ``SMOOTHING_S`` (a box filter whose first
null is at 1 / SMOOTHING_S = 1 MHz); what is left is the oscillation. Its frequency is read twice,
from the FFT peak and from the rate of rising zero crossings, so the two can check each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

SAMPLE_STEP_S = 0.25e-9      # uniform resampling: Nyquist 2 GHz, far above the 30-90 MHz seen here
SMOOTHING_S = 1e-6           # running mean that carries the spikes' slow part (<= 170 kHz)
MIN_FREQUENCY_HZ = 2e6       # an oscillation is faster than anything the spikes do
MIN_PEAK_TO_PEAK_V = 0.1     # spikes leave under 40 mV on mr after the filter; oscillations 0.25-1 V


@dataclass(frozen=True)
class Oscillation:
    """What the fast part of one waveform window does; frequencies in Hz, amplitude in V."""

    oscillating: bool
    frequency_fft_hz: float
    frequency_crossings_hz: float
    peak_to_peak_v: float
    window_s: tuple[float, float]

    def to_dict(self) -> dict:
        return asdict(self)


def measure_oscillation(time_s: np.ndarray, values: np.ndarray, start_s: float, stop_s: float) -> Oscillation:
    """The fast part of ``values`` over [start_s, stop_s] (simulator time points, any spacing)."""
    if not stop_s - start_s >= 4 * SMOOTHING_S:
        raise ValueError(f"an oscillation window needs at least {4 * SMOOTHING_S:g} s, got {stop_s - start_s:g} s")
    grid = np.arange(start_s, stop_s, SAMPLE_STEP_S)
    signal = np.interp(grid, time_s, values)
    box = int(round(SMOOTHING_S / SAMPLE_STEP_S))
    fast = (signal - np.convolve(signal, np.ones(box) / box, mode="same"))[box:-box]   # drop the filter's edges
    spectrum = np.abs(np.fft.rfft(fast * np.hanning(fast.size)))
    freq = np.fft.rfftfreq(fast.size, SAMPLE_STEP_S)
    band = freq >= MIN_FREQUENCY_HZ
    peak_hz = float(freq[band][np.argmax(spectrum[band])])
    rising = np.count_nonzero((fast[:-1] < 0) & (fast[1:] >= 0))
    crossings_hz = rising / (fast.size * SAMPLE_STEP_S)
    swing = float(np.percentile(fast, 99.5) - np.percentile(fast, 0.5))
    return Oscillation(
        oscillating=bool(swing >= MIN_PEAK_TO_PEAK_V and peak_hz >= MIN_FREQUENCY_HZ),
        frequency_fft_hz=peak_hz, frequency_crossings_hz=float(crossings_hz), peak_to_peak_v=swing,
        window_s=(float(start_s), float(stop_s)),
    )
