"""What a circuit run optimizes: the package's objectives and constraints as one pymoo problem.

Objectives are the package's measures, minimised (``goal: max`` is negated). Constraints are the
package's, each normalised so that ``g <= 0`` is met and ``g = 1`` is "off by about the limit
itself" (a frequency measure, ``*_hz``, in decades: off by 10x is 1), then one ``saturation``
constraint over every checked device (VDS - VDSAT, 0.1 V short is 1) when the circuit has any;
a package with neither gets a ``converged`` constraint, so a failed simulation is never feasible.
A failed simulation gets finite values far beyond any real candidate (never NaN into pymoo).

Worst case over (corner, temperature): each measure in the direction its use makes worse (a
``>=`` limit or a ``max`` goal takes the minimum over conditions; ``<=`` and ``min`` the maximum;
an offset the largest magnitude; the saturation margins the minimum); any other measure is the
first (nominal) condition's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pymoo.core.problem import Problem
from pymoo.core.repair import Repair

from circuits.model import Circuit
from optimizer.circuit_space import CircuitSpace
from optimizer.problem import FAILED_VIOLATION, SATURATION_SCALE_V, EvaluateBatch

# A failed candidate's minimised objective: beyond any measure in SI units (a power of 1e30 W,
# a GBW of -1e30 Hz as minimised), so it is dominated by every candidate that simulated.
FAILED_OBJECTIVE = 1e30
# A measure the bench could not take for a converged candidate (no unity-gain crossing: NaN GBW)
# counts as off by 10x the limit: worse than any measured miss, better than a failed simulation.
NOT_MEASURED_VIOLATION = 10.0


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def directions(circuit: Circuit) -> dict[str, str]:
    """Per measure, how the worst case over conditions is taken: ``min``, ``max`` or ``abs``."""
    found = {"power_w": "max", "offset_v": "abs", "saturation_margin_v": "min"}
    for objective in circuit.objectives:
        found.setdefault(objective.measure, "min" if objective.goal == "max" else "max")
    for constraint in circuit.constraints:  # a limit decides over a goal on the same measure
        if constraint.measure != "offset_v":
            found[constraint.measure] = "min" if constraint.op == ">=" else "max"
    return found


def _worst(values: Sequence[float], how: str) -> float:
    if any(math.isnan(value) for value in values):
        return math.nan  # unmeasured at one condition: the worst of all
    return {"min": min, "max": max, "abs": lambda v: max(v, key=abs)}[how](values)


def candidate_metrics(circuit: Circuit, results: Sequence[Mapping[str, Any]], measures: Sequence[str]) -> dict[str, Any]:
    """The stored scalars of a candidate from its bench results (``BenchResult.to_dict``) at each
    condition: every measure worst-cased, ``converged``/``error``, and ``margin_v.<device>``."""
    first = results[0]
    failed = next((result for result in results if not result.get("converged")), None)
    metrics: dict[str, Any] = {"converged": failed is None, "error": None if failed is None else (failed.get("error") or "did not converge")}
    how = directions(circuit)
    for measure in measures:
        values = [_number(result.get(measure)) for result in results]
        metrics[measure] = _worst(values, how[measure]) if measure in how and failed is None else values[0]
    devices = first.get("margins_v") or {}
    metrics.update({f"margin_v.{device}": min(_number((r.get("margins_v") or {}).get(device)) for r in results) for device in devices})
    metrics["sim_time_s"] = sum(_number(result.get("sim_time_s", 0.0)) for result in results)
    return metrics


def objective_names(circuit: Circuit) -> list[str]:
    """``power_w (min)``, ``gbw_hz (max)``: how results and the front name the objectives."""
    return [f"{objective.measure} ({objective.goal})" for objective in circuit.objectives]


def constraint_names(circuit: Circuit) -> list[str]:
    names = [f"{c.measure} {c.op} {c.value:g}" for c in circuit.constraints]
    names += ["saturation"] if checked_devices(circuit) else []
    return names or ["converged"]


def checked_devices(circuit: Circuit) -> list[str]:
    return [name for name, binding in circuit.devices.items() if binding.saturation]


def objectives_of(circuit: Circuit, metrics: Mapping[str, Any]) -> list[float]:
    """The minimised objectives; ``FAILED_OBJECTIVE`` for a failed or unmeasured one."""
    values = []
    for objective in circuit.objectives:
        value = _number(metrics.get(objective.measure)) if metrics.get("converged") else math.nan
        value = value if objective.goal == "min" else -value
        values.append(value if math.isfinite(value) else FAILED_OBJECTIVE)
    return values


def _violation(value: float, op: str, limit: float, measure: str) -> float:
    if not math.isfinite(value):
        return NOT_MEASURED_VIOLATION
    if measure.endswith("_hz") and limit > 0:  # frequencies span decades: a decade short is 1
        ratio = limit / value if op == ">=" else value / limit
        return math.log10(ratio) if ratio > 0 else NOT_MEASURED_VIOLATION
    scale = abs(limit) if limit != 0 else 1.0  # a 0 limit: one unit of the measure
    return (limit - value) / scale if op == ">=" else (value - limit) / scale


def constraints_of(circuit: Circuit, metrics: Mapping[str, Any]) -> list[float]:
    """Normalised constraints (``<= 0`` met) in the order of ``constraint_names``."""
    count = len(constraint_names(circuit))
    if not metrics.get("converged"):
        return [FAILED_VIOLATION] * count
    values = [_violation(_number(metrics.get(c.measure)), c.op, c.value, c.measure) for c in circuit.constraints]
    devices = checked_devices(circuit)
    if devices:
        margins = [_number(metrics.get(f"margin_v.{device}")) for device in devices]
        worst = min(margins) if not any(math.isnan(m) for m in margins) else math.nan
        values.append(-worst / SATURATION_SCALE_V if math.isfinite(worst) else NOT_MEASURED_VIOLATION)
    if not values:
        values = [0.0]
    return [min(value, FAILED_VIOLATION) for value in values]


class CanonicalRepair(Repair):
    """After SBX and mutation: integer columns rounded, every column clipped (``CircuitSpace.canonical``)."""

    def __init__(self, space: CircuitSpace) -> None:
        super().__init__()
        self.space = space

    def _do(self, problem: Problem, X: np.ndarray, **kwargs: Any) -> np.ndarray:
        return np.array([self.space.canonical(row) for row in X], dtype=float)


class CircuitProblem(Problem):
    """Rows of a ``CircuitSpace``; ``evaluate_batch`` maps canonical rows to their evaluation records
    (objectives and constraints computed once, by the runner's session)."""

    def __init__(self, circuit: Circuit, space: CircuitSpace, evaluate_batch: EvaluateBatch | None = None) -> None:
        low, high = space.bounds()
        super().__init__(
            n_var=space.n_var, n_obj=len(circuit.objectives), n_ieq_constr=len(constraint_names(circuit)), xl=low, xu=high, vtype=float,
        )
        self.circuit = circuit
        self.space = space
        self.evaluate_batch = evaluate_batch
        self.hv_bounds: tuple[np.ndarray, np.ndarray] | None = None  # set at generation 0 (optimizer.results)

    def _evaluate(self, X: np.ndarray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        if self.evaluate_batch is None:
            raise RuntimeError("CircuitProblem needs an evaluate_batch (the runner attaches one)")
        records = self.evaluate_batch(X)
        out["F"] = np.array([record.objectives for record in records], dtype=float)
        out["G"] = np.array([record.constraints for record in records], dtype=float)

    def __getstate__(self) -> dict[str, Any]:
        """Checkpoints pickle the algorithm and its problem, never the simulators behind it."""
        state = self.__dict__.copy()
        state["evaluate_batch"] = None
        return state
