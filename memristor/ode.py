"""The models' state equations solved with scipy: the reference the ngspice subcircuits must match."""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from memristor.models import MemristorModel
from memristor.trace import Trace
from memristor.waveforms import Waveform

RTOL = 1e-9
ATOL = 1e-12
THRESHOLD_GRID = 4001


def threshold_crossings(waveform: Waveform, threshold_v: float) -> np.ndarray:
    """Times where |v| crosses the threshold: the state equation switches there, so the solver
    stops there too; otherwise the solution (and a fit's gradient) jumps with the step size."""
    start, stop = waveform.breakpoints()[[0, -1]]
    grid = np.union1d(np.linspace(start, stop, THRESHOLD_GRID), waveform.breakpoints())
    excess = np.abs(waveform.voltage(grid)) - threshold_v
    brackets = np.nonzero(np.sign(excess[:-1]) * np.sign(excess[1:]) < 0)[0]
    return np.array([brentq(lambda t: abs(waveform.voltage(t)) - threshold_v, grid[i], grid[i + 1], xtol=1e-15)
                     for i in brackets])


def simulate_ode(model: MemristorModel, waveform: Waveform, sample_times_s: np.ndarray | None = None,
                 rtol: float = RTOL, method: str = "DOP853") -> Trace:
    """Integrate dx/dt = rate(v(t), x) from x0 piece by piece between the waveform's breakpoints."""
    breakpoints = waveform.breakpoints()
    if model.threshold_v is not None:
        breakpoints = np.union1d(breakpoints, threshold_crossings(waveform, model.threshold_v))
    if sample_times_s is None:
        sample_times_s = np.linspace(breakpoints[0], breakpoints[-1], 2001)
    times = np.asarray(sample_times_s, dtype=float)
    states = np.empty_like(times)
    x = float(model.x0)

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        return np.asarray(model.rate(waveform.voltage(t), y))

    for start, stop in zip(breakpoints[:-1], breakpoints[1:]):
        solution = solve_ivp(rhs, (start, stop), [x], method=method, rtol=rtol, atol=ATOL,
                             max_step=waveform.ode_max_step_s, dense_output=True)
        if not solution.success:
            raise ValueError(f"{model.name}: the ODE solver failed ({solution.message})")
        inside = (times >= start) & (times <= stop)
        if inside.any():
            states[inside] = solution.sol(times[inside])[0]
        x = float(solution.y[0, -1])
    voltage = np.asarray(waveform.voltage(times), dtype=float)
    return Trace(times, voltage, np.asarray(model.current(voltage, states)), states, np.asarray(model.memristance(states)))
