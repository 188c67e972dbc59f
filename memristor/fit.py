"""Fit a model's parameters to a measured i-v loop (CSV t, v, i) by least squares on the current.

As in the paper (Section 2.3, eq. 7) the cost is the sum of squared differences between measured
and simulated currents under the measured voltage; the reported figure is the RMS error relative
to the RMS of the measured current, in percent (Table 1). The fitted simulation is the Python ODE
(the ngspice subcircuits agree with it to well under 1 %), because the fit runs it hundreds of times.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from memristor.models import MODELS, MemristorModel, get_model
from memristor.ode import simulate_ode
from memristor.trace import Trace
from memristor.waveforms import Sampled, Sine

DATA_DIR = Path(__file__).resolve().parent / "data"
SYNTHETIC_CSV = DATA_DIR / "a14mod_synthetic.csv"
SYNTHETIC_TRUTH_JSON = DATA_DIR / "a14mod_synthetic.json"
FIT_RTOL = 1e-7


@dataclass(frozen=True)
class FitResult:
    model: MemristorModel
    fitted: dict[str, float]
    rms_error_a: float
    rms_error_pct: float
    evaluations: int

    def to_json(self) -> dict:
        return {
            "model": self.model.name, "fitted": self.fitted, "parameters": dataclasses.asdict(self.model),
            "rms_error_a": self.rms_error_a, "rms_error_pct": self.rms_error_pct, "evaluations": self.evaluations,
        }


def simulated_current(model: MemristorModel, measured: Trace) -> np.ndarray:
    waveform = Sampled(measured.time_s, measured.voltage_v)
    return simulate_ode(model, waveform, measured.time_s, rtol=FIT_RTOL, method="RK45").current_a


def rms_error(model: MemristorModel, measured: Trace) -> tuple[float, float]:
    """(RMS error in A, RMS error in % of the measured current's RMS)."""
    error = float(np.sqrt(np.mean((simulated_current(model, measured) - measured.current_a) ** 2)))
    return error, 100.0 * error / float(np.sqrt(np.mean(measured.current_a ** 2)))


def fit_model(measured: Trace, start: MemristorModel, fields: tuple[str, ...] | None = None,
              max_evaluations: int = 100) -> FitResult:
    """Least squares from ``start`` over ``fields`` (default: the model's default_fit), within their ranges."""
    ranges = start.fit_ranges
    fields = tuple(fields or start.default_fit or ranges)
    unknown = [name for name in fields if name not in ranges]
    if unknown:
        raise ValueError(f"{start.name} cannot fit {', '.join(unknown)}; fittable: {', '.join(ranges)}")
    scale = float(np.sqrt(np.mean(measured.current_a ** 2)))
    if scale == 0:
        raise ValueError("the measured current is zero everywhere: nothing to fit")

    def encode(name: str, value: float) -> float:
        return float(np.log10(value)) if ranges[name].log else float(value)

    def decode(theta: np.ndarray) -> MemristorModel:
        values = {name: (10.0 ** value if ranges[name].log else float(value)) for name, value in zip(fields, theta)}
        return start.replace(**values)

    lower = np.array([encode(name, ranges[name].lower) for name in fields])
    upper = np.array([encode(name, ranges[name].upper) for name in fields])
    theta0 = np.clip([encode(name, getattr(start, name)) for name in fields], lower, upper)

    def residuals(theta: np.ndarray) -> np.ndarray:
        return (simulated_current(decode(theta), measured) - measured.current_a) / scale

    # diff_step 1e-3: smaller steps drown in the ODE tolerance and freeze thresholds in place.
    solution = least_squares(residuals, theta0, bounds=(lower, upper), x_scale="jac", diff_step=1e-3,
                             max_nfev=max_evaluations, xtol=1e-10, ftol=1e-12)
    model = decode(solution.x)
    error_a, error_pct = rms_error(model, measured)
    return FitResult(model, {name: float(getattr(model, name)) for name in fields}, error_a, error_pct, solution.nfev)


def initial_memristance(measured: Trace, fraction: float = 0.03) -> float:
    """v/i slope over the first samples: the device's starting memristance, a data-driven x0."""
    count = max(5, int(fraction * measured.time_s.size))
    slope = np.polyfit(measured.voltage_v[:count], measured.current_a[:count], 1)[0]
    if not np.isfinite(slope) or slope <= 0:
        raise ValueError("the first samples do not show a positive resistance: cannot estimate the starting memristance")
    return float(1.0 / slope)


def default_start(name: str, measured: Trace) -> MemristorModel:
    """The model's defaults with x0 at the loop's starting memristance; a linear model whose Roff is
    below that memristance gets Roff = twice it (else the fit starts stuck at the window's edge)."""
    model = get_model(name)
    try:
        memristance = initial_memristance(measured)
        if hasattr(model, "roff_ohm") and not 0.0 <= model.state_for(memristance) <= 1.0:
            model = model.replace(roff_ohm=2.0 * memristance)
        return model.with_memristance(memristance)
    except ValueError:
        return model


def fit_all(measured: Trace, models: tuple[str, ...] = tuple(MODELS),
            progress: Callable[[str], None] | None = None) -> list[FitResult]:
    """Every model fitted from its defaults: the paper's Table 1 for your own loop."""
    results = []
    for name in models:
        results.append(fit_model(measured, default_start(name, measured)))
        if progress is not None:
            progress(name)
    return results


# --- the shipped synthetic data set ----------------------------------------------------------
SYNTHETIC_TRUTH = {"k": 2.0e6, "roff_ohm": 40e3, "x0": 0.5, "vthr_v": 0.3}
SYNTHETIC_WAVE = Sine(amplitude_v=0.4, frequency_hz=5e3, periods=2.0)
SYNTHETIC_SAMPLES = 1000
SYNTHETIC_NOISE_FRACTION = 0.005    # Gaussian noise, 0.5 % of the current's RMS
SYNTHETIC_SEED = 20240116


def make_synthetic() -> tuple[Trace, dict]:
    """An A14mod loop from known parameters (not the paper's, so a fit has to find them) plus noise."""
    model = get_model("a14mod", **SYNTHETIC_TRUTH)
    times = np.linspace(0.0, SYNTHETIC_WAVE.duration_s, SYNTHETIC_SAMPLES)
    clean = simulate_ode(model, SYNTHETIC_WAVE, times)
    rng = np.random.default_rng(SYNTHETIC_SEED)
    noise = rng.normal(0.0, SYNTHETIC_NOISE_FRACTION * float(np.sqrt(np.mean(clean.current_a ** 2))), times.size)
    measured = Trace(times, clean.voltage_v, clean.current_a + noise)
    truth = {"model": "a14mod", "parameters": dataclasses.asdict(model), "fitted_fields": sorted(SYNTHETIC_TRUTH),
             "wave": dataclasses.asdict(SYNTHETIC_WAVE), "samples": SYNTHETIC_SAMPLES,
             "noise_fraction_of_rms": SYNTHETIC_NOISE_FRACTION, "seed": SYNTHETIC_SEED}
    return measured, truth


def write_synthetic(folder: Path = DATA_DIR) -> Path:
    measured, truth = make_synthetic()
    folder.mkdir(parents=True, exist_ok=True)
    measured.to_csv(folder / SYNTHETIC_CSV.name)
    (folder / SYNTHETIC_TRUTH_JSON.name).write_text(json.dumps(truth, indent=2) + "\n")
    return folder / SYNTHETIC_CSV.name


# --- beyond the paper: which model describes the OTA emulator? -----------------------------
EMULATOR_LOOP_SAMPLES = 500


def emulator_loop(topology: str, frequency_hz: float, amplitude_v: float) -> Trace:
    """The last, settled period of the OTA memristor emulator (neuromorphic package) as a loop."""
    from neuromorphic.emulator import EmulatorOptions, run_emulator

    result = run_emulator(topology, options=EmulatorOptions(freq_hz=frequency_hz, amplitude_v=amplitude_v))
    voltage, current = np.asarray(result.loop_v), np.asarray(result.loop_i_a)
    times = np.linspace(0.0, 1.0 / frequency_hz, voltage.size)
    keep = np.linspace(0, voltage.size - 1, EMULATOR_LOOP_SAMPLES).round().astype(int)
    return Trace(times[keep], voltage[keep], current[keep])
