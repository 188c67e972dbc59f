"""The OTA memristor emulator (paper Fig. 6, eq. 5-8, Figure 17): i-v loop, pinch, lobe areas.

A memristor's fingerprint is an i-v loop pinched at the origin whose lobes shrink as the drive
frequency rises. We drive the emulator with a sine, let VB settle for some periods, and read
the last period: the current at the v = 0 crossings against the peak current (pinch), and the
area of each lobe, |integral of i dv| over the half period where v > 0 (resp. v < 0), in V*A.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from gmopt import paper
from neuromorphic.circuit import EMULATOR_CAPACITANCE_F, Setup, engine, make_setup
from spice_templates import render

LOOP_SAMPLES = 2000                 # samples of the analysed period (interpolated from ngspice's steps)
LOOP_GAIN_SWEEP = "ac dec 50 1e3 1e10"  # the follower loop's UGF lies at 10-300 MHz for these OTAs


@dataclass(frozen=True)
class EmulatorOptions:
    """The sine drive and how long to settle; defaults follow Section 3 and Figure 17."""

    freq_hz: float = 1e5
    amplitude_v: float = 0.5                      # Section 3: linear range [-0.5, 0.5] V
    state_capacitance_f: float = EMULATOR_CAPACITANCE_F
    periods: int = 6                              # simulated periods; the last one is the loop
    points_per_period: int = 400
    pinch_tolerance: float = 0.05                 # |i(v=0)| <= 5 % of the peak |i| counts as pinched

    def __post_init__(self) -> None:
        if not 1.0 <= self.freq_hz <= 1e9:
            raise ValueError(f"frequency {self.freq_hz} Hz is outside [1 Hz, 1 GHz]")
        if not 0.0 < self.amplitude_v <= 2.0:
            raise ValueError(f"amplitude {self.amplitude_v} V is outside (0, 2] V")
        if not 1e-15 <= self.state_capacitance_f <= 1e-3:
            raise ValueError(f"state capacitance {self.state_capacitance_f} F is outside [1 fF, 1 mF]")
        if not 2 <= self.periods <= 1000:
            raise ValueError(f"periods = {self.periods}: simulate 2 to 1000 periods (the last is analysed)")
        if not 50 <= self.points_per_period <= 100_000:
            raise ValueError(f"points per period = {self.points_per_period}: use 50 to 100000")
        if not 0.0 < self.pinch_tolerance < 1.0:
            raise ValueError("the pinch tolerance is a fraction of the peak current, in (0, 1)")


@dataclass(frozen=True)
class Loop:
    """One analysed period of the i-v loop and what it says."""

    pinch_ratio: float
    lobe_area_pos: float
    lobe_area_neg: float
    peak_current_a: float
    voltage_v: np.ndarray
    current_a: np.ndarray


def analyse_period(time_s: np.ndarray, voltage_v: np.ndarray, current_a: np.ndarray, start_s: float, period_s: float) -> Loop:
    """The loop over [start, start + period] of a sine that crosses zero at start and start + T/2."""
    grid = np.linspace(start_s, start_s + period_s, LOOP_SAMPLES + 1)
    v = np.interp(grid, time_s, voltage_v)
    i = np.interp(grid, time_s, current_a)
    half = LOOP_SAMPLES // 2
    peak = float(np.max(np.abs(i)))
    at_zero = np.abs(i[[0, half, LOOP_SAMPLES]])
    return Loop(
        pinch_ratio=float(np.max(at_zero) / peak) if peak > 0 else float("nan"),
        lobe_area_pos=float(abs(np.trapezoid(i[: half + 1], v[: half + 1]))),
        lobe_area_neg=float(abs(np.trapezoid(i[half:], v[half:]))),
        peak_current_a=peak,
        voltage_v=v,
        current_a=i,
    )


@dataclass
class EmulatorResult:
    """The emulator's loop at one frequency; ``to_dict`` is JSON-safe (lobe areas in V*A)."""

    setup: dict
    freq_hz: float
    amplitude_v: float
    state_capacitance_f: float
    pinched: bool
    pinch_ratio: float
    lobe_area_pos: float
    lobe_area_neg: float
    peak_current_a: float
    settle_change: float          # relative change of the lobe areas between the last two periods
    vb_min_v: float
    vb_max_v: float
    sim_time_s: float
    loop_v: list[float] = field(repr=False)
    loop_i_a: list[float] = field(repr=False)

    @property
    def loop_asymmetry(self) -> float:
        """|A+ - A-| / (A+ + A-) of the lobe areas: 0 for a symmetric loop, 1 for one lobe only."""
        total = self.lobe_area_pos + self.lobe_area_neg
        return abs(self.lobe_area_pos - self.lobe_area_neg) / total if total > 0 else float("nan")

    def to_dict(self, include_loop: bool = True) -> dict:
        data = asdict(self)
        if not include_loop:
            data.pop("loop_v")
            data.pop("loop_i_a")
        return data


def emulator_netlist(setup: Setup, options: EmulatorOptions) -> str:
    return render(
        "neuromorphic/emulator.cir.j2", topology=setup.topology, amplitude_v=options.amplitude_v,
        freq_hz=options.freq_hz, state_capacitance_f=options.state_capacitance_f,
        **setup.template_values(terminal="t", control="vbm"),
    )


def simulate_emulator(setup: Setup, options: EmulatorOptions) -> EmulatorResult:
    """Run the sine transient in this process's session and analyse the last period."""
    period = 1.0 / options.freq_hz
    step = period / options.points_per_period
    session = engine()
    started = time.perf_counter()
    session.load(emulator_netlist(setup, options))
    data = session.run({"tran": f"tran {step:.6g} {options.periods * period:.6g} 0 {step:.6g}"}, timeout_s=600)["tran"]
    elapsed = time.perf_counter() - started
    t, v, i = data["time"], data["t"], -data["vin#branch"]
    last = analyse_period(t, v, i, (options.periods - 1) * period, period)
    before = analyse_period(t, v, i, (options.periods - 2) * period, period)
    area, area_before = last.lobe_area_pos + last.lobe_area_neg, before.lobe_area_pos + before.lobe_area_neg
    control = data["vbm"][t >= (options.periods - 1) * period]
    return EmulatorResult(
        setup=setup.describe(), freq_hz=options.freq_hz, amplitude_v=options.amplitude_v,
        state_capacitance_f=options.state_capacitance_f,
        pinched=bool(last.pinch_ratio <= options.pinch_tolerance), pinch_ratio=last.pinch_ratio,
        lobe_area_pos=last.lobe_area_pos, lobe_area_neg=last.lobe_area_neg, peak_current_a=last.peak_current_a,
        settle_change=abs(area - area_before) / area if area > 0 else float("nan"),
        vb_min_v=float(control.min()), vb_max_v=float(control.max()), sim_time_s=elapsed,
        loop_v=last.voltage_v.tolist(), loop_i_a=last.current_a.tolist(),
    )


def run_emulator(*args: Any, options: EmulatorOptions | None = None, **kwargs: Any) -> EmulatorResult:
    """The emulator with one OTA, from ``neuromorphic.circuit.make_setup``'s arguments."""
    return simulate_emulator(make_setup(*args, **kwargs), options or EmulatorOptions())


@dataclass
class FrequencySweep:
    """Lobe areas against frequency: a memristor's shrink as the frequency rises."""

    results: list[EmulatorResult]

    @property
    def shrinks(self) -> bool:
        """True when the total lobe area falls at every step up in frequency."""
        ordered = sorted(self.results, key=lambda r: r.freq_hz)
        areas = [r.lobe_area_pos + r.lobe_area_neg for r in ordered]
        return all(later < earlier for earlier, later in zip(areas, areas[1:]))

    def to_dict(self) -> dict:
        return {"shrinks": self.shrinks, "results": [r.to_dict(include_loop=False) for r in self.results]}


def sweep_frequency(
    topology: str,
    frequencies_hz: Sequence[float],
    var: Sequence[int] | None = None,
    technology: str = "generic180",
    corner: str = "tt",
    temp_c: float = 27.0,
    options: EmulatorOptions | None = None,
    **setup_options: object,
) -> FrequencySweep:
    """The emulator at each frequency (other options as given)."""
    base = options or EmulatorOptions()
    if not frequencies_hz:
        raise ValueError("give at least one frequency")
    results = [
        run_emulator(topology, var, technology, corner, temp_c, options=replace(base, freq_hz=float(f)), **setup_options)
        for f in frequencies_hz
    ]
    return FrequencySweep(results)



@dataclass(frozen=True)
class LoopGain:
    """The emulator's follower loop (the OTA with inn = out, as in the neuron while TN4 is off):
    T(f) = A(f) of the OTA loaded by the terminal. The loop is unstable when the phase margin is
    negative (|T| > 1 where the phase passes -180 deg) and then oscillates near that frequency."""

    vb_v: float
    load_f: float
    dc_gain_db: float
    ugf_hz: float
    phase_margin_deg: float
    phase_crossover_hz: float      # first frequency where the phase reaches -180 deg (NaN if never)
    gain_at_crossover_db: float    # > 0 dB: the loop is unstable
    freq_hz: np.ndarray = field(repr=False)
    gain_db: np.ndarray = field(repr=False)
    phase_deg: np.ndarray = field(repr=False)

    @property
    def stable(self) -> bool:
        return bool(self.phase_margin_deg > 0 and not self.gain_at_crossover_db > 0)

    def to_dict(self) -> dict:
        return {key: value for key, value in asdict(self).items() if key not in ("freq_hz", "gain_db", "phase_deg")} | {
            "stable": self.stable}


def loop_gain(setup: Setup, vb_v: float, load_f: float = paper.LOAD_CAPACITANCE_F) -> LoopGain:
    """AC loop gain of the emulator's follower loop with VB held at ``vb_v`` (in the neuron VB sits on
    Cm = 40 nF, an AC short at MHz) and ``load_f`` on the terminal beside the inverter's gates."""
    netlist = render(
        "neuromorphic/loop_gain.cir.j2", topology=setup.topology, terminal="t", inn="t_inn", vb_v=vb_v, load_f=load_f,
        state_capacitance_f=EMULATOR_CAPACITANCE_F, **setup.template_values(terminal="t", control="vbm", inn="t_inn"),
    )
    session = engine()
    session.load(netlist)
    data = session.run({"ac": LOOP_GAIN_SWEEP}, timeout_s=60)["ac"]
    freq = np.real(data["frequency"])
    gain = -data["t"] / data["t_inn"]
    gain_db = 20 * np.log10(np.abs(gain))
    phase = np.degrees(np.unwrap(np.angle(gain)))
    phase -= 360.0 * np.round(phase[0] / 360.0)          # T(0) = A0 > 0: the phase starts at 0
    return LoopGain(
        vb_v=vb_v, load_f=load_f, dc_gain_db=float(gain_db[0]),
        ugf_hz=_first_crossing(freq, gain_db, 0.0), phase_margin_deg=180.0 + _at(freq, phase, _first_crossing(freq, gain_db, 0.0)),
        phase_crossover_hz=(crossover := _first_crossing(freq, phase, -180.0)),
        gain_at_crossover_db=_at(freq, gain_db, crossover), freq_hz=freq, gain_db=gain_db, phase_deg=phase,
    )


def _first_crossing(freq_hz: np.ndarray, values: np.ndarray, level: float) -> float:
    """The first frequency where ``values`` falls through ``level`` (log-interpolated), or NaN."""
    below = np.nonzero((values[:-1] > level) & (values[1:] <= level))[0]
    if below.size == 0:
        return float("nan")
    i = below[0]
    fraction = (values[i] - level) / (values[i] - values[i + 1])
    return float(10 ** (np.log10(freq_hz[i]) + fraction * np.log10(freq_hz[i + 1] / freq_hz[i])))


def _at(freq_hz: np.ndarray, values: np.ndarray, at_hz: float) -> float:
    return float(np.interp(np.log10(at_hz), np.log10(freq_hz), values)) if np.isfinite(at_hz) else float("nan")
