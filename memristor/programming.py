"""Pulse programming: from memristance M1 to M2 with a train of pulses (Section 3, Figures 4-5).

The pulse train runs in ngspice (and in the ODE) until the memristance crosses M2; the result is
the number of pulses, the elapsed time and the *effective* time (time at the pulse level only),
beside the closed form of eqs. 9-13 for A14mod, T = (cot(pi x1) - cot(pi x2)) / (pi k v^m),
or the same integral T = int dx / (dx/dt) done by quadrature for the other models.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.integrate import quad

from engine import Engine
from gmopt import paper
from memristor.models import A14mod, MemristorModel
from memristor.ode import simulate_ode
from memristor.spice import simulate_spice
from memristor.trace import Trace
from memristor.waveforms import PulseTrain

MAX_PULSES = 20000
EDGE_S = 1e-12


@dataclass(frozen=True)
class ProgrammingResult:
    model: str
    from_ohm: float
    to_ohm: float
    amplitude_v: float
    width_s: float
    period_s: float
    x_from: float
    x_to: float
    pulses: int
    effective_time_s: float
    total_time_s: float
    analytic_time_s: float
    analytic_method: str
    ode_pulses: int
    ode_effective_time_s: float

    def to_json(self) -> dict:
        return asdict(self)


def analytic_time(model: MemristorModel, x_from: float, x_to: float, amplitude_v: float) -> tuple[float, str]:
    """Time at constant ``amplitude_v`` to move the state from x_from to x_to (eq. 12/13 for A14mod)."""
    if isinstance(model, A14mod):
        if abs(amplitude_v) <= model.vthr_v:
            raise ValueError(f"|{amplitude_v}| V does not exceed vthr = {model.vthr_v} V: the state cannot move")
        cot = lambda x: 1.0 / math.tan(math.pi * x)  # noqa: E731 - the cotangent of eq. 12
        time = (cot(x_from) - cot(x_to)) / (math.pi * model.k * amplitude_v ** model.m)
        return time, "eq. 12/13: (cot(pi x1) - cot(pi x2)) / (pi k v^m)"
    path = np.linspace(x_from, x_to, 65)
    rates = np.asarray(model.rate(amplitude_v, path), dtype=float)
    if np.any(rates == 0.0) or np.any(np.sign(rates) != np.sign(x_to - x_from)):
        raise ValueError(
            f"at {amplitude_v:g} V the {model.name} state cannot move from {x_from:.4g} to {x_to:.4g}: "
            "reverse the pulse polarity or raise the amplitude"
        )
    value, _ = quad(lambda x: 1.0 / float(model.rate(amplitude_v, x)), x_from, x_to, epsabs=0, epsrel=1e-10, limit=200)
    return value, "quadrature of dx / (dx/dt) at the pulse level"


def _crossing(trace: Trace, target_ohm: float, train: PulseTrain) -> tuple[int, float, float] | None:
    """(pulses, effective time, elapsed time) when the memristance first reaches the target."""
    distance = trace.memristance_ohm - target_ohm
    hits = np.nonzero(np.sign(distance[1:]) != np.sign(distance[0]))[0]
    if hits.size == 0:
        return None
    i = hits[0]
    t0, t1, d0, d1 = trace.time_s[i], trace.time_s[i + 1], distance[i], distance[i + 1]
    elapsed = float(t0 + (t1 - t0) * d0 / (d0 - d1))
    index = math.floor((elapsed - train.delay_s) / train.period_s)
    inside = elapsed - train.delay_s - index * train.period_s
    on_time = min(max(inside - train.edge_s / 2.0, 0.0), train.width_s)
    return index + 1, index * train.width_s + on_time, elapsed


def program(model: MemristorModel, from_ohm: float, to_ohm: float, amplitude_v: float,
            width_s: float = paper.PROGRAM_PULSE_WIDTH_S, period_s: float = paper.PROGRAM_PULSE_PERIOD_S,
            engine: Engine | None = None, max_pulses: int = MAX_PULSES) -> ProgrammingResult:
    """Simulate the pulse train in ngspice and the ODE until M reaches ``to_ohm`` (at most ``max_pulses``)."""
    if from_ohm == to_ohm:
        raise ValueError("--from and --to are the same memristance: nothing to program")
    device = model.with_memristance(from_ohm)
    x_from, x_to = device.x0, device.state_for(to_ohm)
    direction = float(device.rate(amplitude_v, x_from))
    if direction == 0 or math.copysign(1.0, direction) != math.copysign(1.0, x_to - x_from):
        raise ValueError(
            f"a {amplitude_v:+g} V pulse does not move {model.name} from {from_ohm:g} ohm toward {to_ohm:g} ohm: "
            "flip the amplitude's sign (or raise it above the threshold)"
        )
    analytic_s, method = analytic_time(device, x_from, x_to, amplitude_v)
    count = max(2, math.ceil(1.2 * analytic_s / width_s) + 2)
    while True:
        train = PulseTrain(amplitude_v, width_s, period_s, count, edge_s=min(EDGE_S, width_s / 10))
        spice = _crossing(simulate_spice(device, train, engine=engine), to_ohm, train)
        if spice is not None:
            break
        if count >= max_pulses:
            raise ValueError(f"{max_pulses} pulses did not reach {to_ohm:g} ohm: use longer or larger pulses")
        count = min(2 * count, max_pulses)
    ode = _crossing(simulate_ode(device, train, np.linspace(0.0, train.duration_s, 40 * count + 1)), to_ohm, train)
    ode_pulses, ode_effective = (ode[0], ode[1]) if ode is not None else (0, math.nan)
    return ProgrammingResult(
        model.name, from_ohm, to_ohm, amplitude_v, width_s, period_s, x_from, x_to,
        pulses=spice[0], effective_time_s=spice[1], total_time_s=spice[2],
        analytic_time_s=analytic_s, analytic_method=method, ode_pulses=ode_pulses, ode_effective_time_s=ode_effective,
    )


def paper_example(from_ohm: float, to_ohm: float, amplitude_v: float) -> dict | None:
    """The paper's own figures for this programming case (Figures 4-5), if it is one of them."""
    for m1, m2, volts, x1, x2, total_s, effective_s in paper.PROGRAM_EXAMPLES:
        if (m1, m2, volts) == (from_ohm, to_ohm, amplitude_v):
            return {"x1": x1, "x2": x2, "total_time_s": total_s, "effective_time_s": effective_s}
    return None
