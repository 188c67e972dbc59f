"""The OTA memristor emulator (paper Fig. 6, eq. 5-8, Figure 17): i-v loop, pinch, lobe areas.

A memristor's fingerprint is an i-v loop pinched at the origin whose lobes shrink as the drive
frequency rises. We drive the emulator with a sine, let VB settle for some periods, and read
the last period: the current at the v = 0 crossings against the peak current (pinch), and the
area of each lobe, |integral of i dv| over the half period where v > 0 (resp. v < 0), in V*A.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from neuromorphic.circuit import EMULATOR_CAPACITANCE_F, Setup, engine, resolve_var
from spice_templates import render

LOOP_SAMPLES = 2000                 # samples of the analysed period (interpolated from ngspice's steps)


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


def run_emulator(
    topology: str,
    var: Sequence[int] | None = None,
    technology: str = "generic180",
    corner: str = "tt",
    temp_c: float = 27.0,
    options: EmulatorOptions | None = None,
    *,
    widths_um: Sequence[float] | None = None,
    inverter_scale: float = 1.0,
    supply_scale: float = 1.0,
) -> EmulatorResult:
    """The emulator with one OTA (default widths: the paper's Table 7, or the baseline's reference)."""
    setup = Setup(topology, tuple(resolve_var(topology, var, widths_um)), technology, corner, temp_c,
                  supply_scale=supply_scale, inverter_scale=inverter_scale)
    return simulate_emulator(setup, options or EmulatorOptions())


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
        run_emulator(topology, var, technology, corner, temp_c, replace(base, freq_hz=float(f)), **setup_options)
        for f in frequencies_hz
    ]
    return FrequencySweep(results)

