"""Drive waveforms written once and used by both simulators: v(t) for the ODE, a source for ngspice.

Each waveform lists its breakpoints (corners of a pulse, samples of a recording) so the ODE
solver never steps across a kink, the way ngspice's own breakpoint handling does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Sine:
    """v = A sin(2 pi f t), for ``periods`` periods."""

    amplitude_v: float
    frequency_hz: float
    periods: float = 2.0
    kind: str = "sine"

    def __post_init__(self) -> None:
        if self.frequency_hz <= 0 or self.periods <= 0:
            raise ValueError("a sine needs a positive frequency and number of periods")

    @property
    def duration_s(self) -> float:
        return self.periods / self.frequency_hz

    @property
    def max_step_s(self) -> float:
        """ngspice's largest time step."""
        return 1.0 / (self.frequency_hz * 400.0)

    @property
    def ode_max_step_s(self) -> float:
        """The ODE solver's largest step (a sine has no breakpoints to stop at)."""
        return 1.0 / (self.frequency_hz * 100.0)

    def voltage(self, t: np.ndarray | float) -> np.ndarray | float:
        return self.amplitude_v * np.sin(2.0 * np.pi * self.frequency_hz * t)

    def breakpoints(self) -> np.ndarray:
        return np.array([0.0, self.duration_s])


@dataclass(frozen=True)
class PulseTrain:
    """``count`` pulses of ``amplitude_v``, ``width_s`` long at half amplitude, every ``period_s``."""

    amplitude_v: float
    width_s: float
    period_s: float
    count: int
    edge_s: float = 1e-12
    delay_s: float = 0.0
    kind: str = "pulse"

    def __post_init__(self) -> None:
        if not 0 < self.edge_s < self.width_s and self.width_s + self.edge_s <= self.period_s:
            raise ValueError(
                f"pulse width {self.width_s:g} s must exceed the edge {self.edge_s:g} s "
                f"and fit in the period {self.period_s:g} s with one edge to spare"
            )
        if self.count < 1:
            raise ValueError("a pulse train needs at least one pulse")

    @property
    def flat_s(self) -> float:
        """The flat top, ngspice's PW: the width is counted between the half-amplitude points."""
        return self.width_s - self.edge_s

    @property
    def duration_s(self) -> float:
        return self.delay_s + self.count * self.period_s

    @property
    def max_step_s(self) -> float:
        return self.width_s / 20.0

    @property
    def ode_max_step_s(self) -> float:
        """Between breakpoints the voltage is linear: the solver's own error control is enough."""
        return np.inf

    def corners(self) -> np.ndarray:
        """Times and levels of one pulse's four corners, relative to its start."""
        return np.array([0.0, self.edge_s, self.edge_s + self.flat_s, 2.0 * self.edge_s + self.flat_s])

    def breakpoints(self) -> np.ndarray:
        starts = self.delay_s + self.period_s * np.arange(self.count)
        points = (starts[:, None] + self.corners()[None, :]).ravel()
        return np.unique(np.concatenate(([0.0], points, [self.duration_s])))

    def voltage(self, t: np.ndarray | float) -> np.ndarray | float:
        local = np.asarray(t, dtype=float) - self.delay_s
        index = np.floor(local / self.period_s)
        phase = local - index * self.period_s
        level = np.interp(phase, self.corners(), [0.0, 1.0, 1.0, 0.0], right=0.0)
        inside = (local >= 0) & (index < self.count)
        result = np.where(inside, self.amplitude_v * level, 0.0)
        return float(result) if np.ndim(t) == 0 else result


@dataclass(frozen=True)
class Sampled:
    """A recorded voltage (a measured loop), linear between samples; ngspice gets it as a PWL source."""

    time_s: np.ndarray
    voltage_v: np.ndarray
    kind: str = "pwl"

    def __post_init__(self) -> None:
        if len(self.time_s) < 2 or len(self.time_s) != len(self.voltage_v):
            raise ValueError("a recorded waveform needs at least two (t, v) samples of equal count")
        if np.any(np.diff(self.time_s) <= 0):
            raise ValueError("the time column must increase strictly")

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1])

    @property
    def max_step_s(self) -> float:
        return float(np.min(np.diff(self.time_s)))

    @property
    def ode_max_step_s(self) -> float:
        """A few samples: a solver starting where v = 0 (no motion) must not leap past the loop."""
        return 5.0 * float(np.median(np.diff(self.time_s)))

    def voltage(self, t: np.ndarray | float) -> np.ndarray | float:
        return np.interp(t, self.time_s, self.voltage_v)

    def breakpoints(self) -> np.ndarray:
        # Solving sample by sample is slow; kinks of a sampled sine are mild, one solve suffices.
        return np.array([float(self.time_s[0]), self.duration_s])


Waveform = Sine | PulseTrain | Sampled
