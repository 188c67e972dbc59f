"""What is optimized: one pymoo problem for any OTA topology, built from the run spec.

Variables are the topology's integer width multipliers (W = Var x lambda); objectives are
eq. 11's (linearity RMSE, DC gain, power), all minimised; constraints are eq. 11 / Table 1 plus
offset and saturation, each normalised so that ``g <= 0`` is feasible and ``g = 1`` means "off
by about the limit itself". Where a candidate is simulated is not this module's business: the
problem calls an injected ``evaluate_batch`` (see ``optimizer.runner``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pymoo.core.problem import Problem

from optimizer import followup
from optimizer.space import DesignSpace
from optimizer.spec import RunSpec

if TYPE_CHECKING:
    from optimizer.store import EvaluationRecord

Metrics = Mapping[str, Any]
EvaluateBatch = Callable[[np.ndarray], Sequence["EvaluationRecord"]]

# Minimised form of each objective: (metric, sign).
OBJECTIVE_METRICS = {
    "rmse": ("rmse_a", 1.0), "gain": ("gain_db", -1.0), "power": ("power_w", 1.0),
    # follow-ups (optimizer.followup), measured only for nominal-feasible candidates
    "offset_sigma": ("offset_sigma_v", 1.0), "pinch": ("pinch_ratio_max", 1.0), "asymmetry": ("loop_asymmetry_max", 1.0),
}
# A failed simulation must never put NaN into pymoo: finite objectives far beyond any real OTA
# (1 A of RMSE, a gain of -1000 dB, 1 W) and a violation larger than any converged candidate's.
FAILED_OBJECTIVES = {"rmse": 1.0, "gain": 1000.0, "power": 1.0, "offset_sigma": 1.0, "pinch": 1.0, "asymmetry": 1.0}
FAILED_VIOLATION = 1e3
# Saturation is a margin in volts; 0.1 V of missing VDS - VDSAT counts as a unit violation.
SATURATION_SCALE_V = 0.1

# The constraints only the AC analysis measures (skipped for a candidate its DC sweep rules out).
AC_CONSTRAINTS = ("gain", "bandwidth", "phase_margin")

# How the worst case over corners/temperatures is taken for each scalar metric.
_WORST_MAX = ("rmse_a", "power_w")
_WORST_MIN = ("gain_db", "bandwidth_hz", "ugf_hz", "phase_margin_deg", "gm_s", "saturation_margin_v")


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _worst(values: Sequence[Any], pick: Callable[[list[float]], float]) -> float:
    """The worst of several numbers; an unmeasured (NaN) value at any condition is the worst of all."""
    numbers = [_number(value) for value in values]
    return math.nan if any(math.isnan(number) for number in numbers) else pick(numbers)


def worst_case(results: Sequence[Metrics]) -> dict[str, Any]:
    """One metrics dict from the results at several (corner, temperature) conditions.

    The first result (the nominal condition) gives everything that has no "worse" direction;
    RMSE and power take the maximum, gain, bandwidth, phase margin, Gm and saturation margin the
    minimum, the offset the largest magnitude. A non-converged condition makes the whole
    candidate non-converged.
    """
    merged = dict(results[0])
    if len(results) == 1:
        return merged
    failed = [result for result in results if not result.get("converged")]
    if failed:
        merged.update(converged=False, error=failed[0].get("error") or "a condition did not converge")
        return merged
    for keys, pick in ((_WORST_MAX, max), (_WORST_MIN, min)):
        for key in keys:
            merged[key] = _worst([result.get(key) for result in results], pick)
    merged["offset_v"] = _worst([result.get("offset_v") for result in results], lambda values: max(values, key=abs))
    merged["all_saturated"] = all(bool(result.get("all_saturated")) for result in results)
    merged["margins_v"] = {
        device: min(_number((result.get("margins_v") or {}).get(device)) for result in results)
        for device in results[0].get("margins_v") or {}
    }
    merged["ac_skipped"] = next((result["ac_skipped"] for result in results if result.get("ac_skipped")), None)
    merged["sim_time_s"] = sum(_number(result.get("sim_time_s", 0.0)) for result in results)
    return merged


def candidate_metrics(results: Sequence[Metrics]) -> dict[str, Any]:
    """The stored scalar metrics of a candidate: worst case over conditions plus one
    ``margin_v.<device>`` (VDS - VDSAT) per device."""
    merged = worst_case(results)
    metrics = {key: value for key, value in merged.items() if not isinstance(value, (list, dict))}
    metrics.update({f"margin_v.{device}": value for device, value in (merged.get("margins_v") or {}).items()})
    return metrics


def constraint_names(spec: RunSpec, follow_ups: bool = True) -> list[str]:
    """The nominal constraints, then (``follow_ups``) the yield and emulator ones the spec asks for."""
    limits = spec.constraints
    names = ["gain", "bandwidth", "phase_margin", "offset", "rmse"]
    names += ["gm_min"] if limits.gm_min_s is not None else []
    names += ["gm_max"] if limits.gm_max_s is not None else []
    names += ["saturation"] if limits.require_saturation else []
    return names + followup.constraint_names(spec) if follow_ups else names


def objectives_of(metrics: Metrics, spec: RunSpec) -> list[float]:
    """The minimised objectives (RMSE in A, -gain in dB, power in W); finite even for failures."""
    values = []
    for name in spec.objectives:
        key, sign = OBJECTIVE_METRICS[name]
        value = sign * _number(metrics.get(key)) if metrics.get("converged") else math.nan
        values.append(value if math.isfinite(value) else FAILED_OBJECTIVES[name])
    return values


def _shortfall(value: Any, limit: float) -> float:
    """How far below a lower limit, relative to the limit (at least 1 unit, so a 0 limit works)."""
    return (limit - _number(value)) / max(abs(limit), 1.0)


def constraints_of(metrics: Metrics, spec: RunSpec) -> list[float]:
    """Normalised inequality constraints, ``<= 0`` when met; failures get ``FAILED_VIOLATION``."""
    if not metrics.get("converged"):
        return [FAILED_VIOLATION] * len(constraint_names(spec))
    extra = followup.constraints(metrics, spec)
    return nominal_constraints_of(metrics, spec) + [extra[name] for name in followup.constraint_names(spec)]


def nominal_constraints_of(metrics: Metrics, spec: RunSpec) -> list[float]:
    """The nominal constraints alone (what decides whether the follow-ups run)."""
    if not metrics.get("converged"):
        return [FAILED_VIOLATION] * len(constraint_names(spec, follow_ups=False))
    limits = spec.constraints
    with np.errstate(all="ignore"):
        bandwidth_hz = _number(metrics.get("bandwidth_hz"))
        values = {
            "gain": _shortfall(metrics.get("gain_db"), limits.gain_min_db),
            "bandwidth": math.log10(limits.bandwidth_min_hz / bandwidth_hz) if bandwidth_hz > 0 else FAILED_VIOLATION,
            "phase_margin": _shortfall(metrics.get("phase_margin_deg"), limits.phase_margin_min_deg),
            "offset": abs(_number(metrics.get("offset_v"))) / limits.offset_max_v - 1.0,
            "rmse": _number(metrics.get("rmse_a")) / limits.rmse_max_a - 1.0,
            "gm_min": 1.0 - _number(metrics.get("gm_s")) / (limits.gm_min_s or math.nan),
            "gm_max": _number(metrics.get("gm_s")) / (limits.gm_max_s or math.nan) - 1.0,
            "saturation": -_number(metrics.get("saturation_margin_v")) / SATURATION_SCALE_V,
        }
    if metrics.get("ac_skipped"):  # infeasible by what its DC sweep measured: the unmeasured AC limits count 0
        values.update(dict.fromkeys(AC_CONSTRAINTS, 0.0))
    return [
        min(values[name], FAILED_VIOLATION) if math.isfinite(values[name]) else FAILED_VIOLATION
        for name in constraint_names(spec, follow_ups=False)
    ]


def is_feasible(constraints: Sequence[float]) -> bool:
    return all(value <= 0.0 for value in constraints)


def objective_bounds(spec: RunSpec) -> tuple[np.ndarray, np.ndarray]:
    """Fixed (ideal, nadir) of the minimised objectives, from the spec (never from the data).

    The nadir of RMSE and gain are the constraint limits, so every feasible design is inside.
    """
    hv = spec.hypervolume
    table = {
        "rmse": (0.0, spec.constraints.rmse_max_a),
        "gain": (-hv.gain_best_db, -spec.constraints.gain_min_db),
        "power": (0.0, hv.power_worst_w),
        "offset_sigma": (0.0, spec.constraints.offset_max_v),
        "pinch": (0.0, 1.0),
        "asymmetry": (0.0, 1.0),
    }
    ideal = np.array([table[name][0] for name in spec.objectives])
    nadir = np.array([table[name][1] for name in spec.objectives])
    return ideal, nadir


class SizingProblem(Problem):
    """Integer rows of the run's design space (widths, and free lengths and biases:
    ``optimizer.space``) within its bounds; objectives and constraints above.

    ``evaluate_batch`` maps integer rows to their evaluation records, in order (the runner's
    session: each record's ``objectives_of`` and ``constraints_of``, computed once).
    """

    def __init__(self, spec: RunSpec, space: DesignSpace, evaluate_batch: EvaluateBatch | None = None) -> None:
        low, high = space.bounds()
        super().__init__(
            n_var=space.n_var, n_obj=len(spec.objectives), n_ieq_constr=len(constraint_names(spec)),
            xl=low, xu=high, vtype=int,
        )
        self.spec = spec
        self.evaluate_batch = evaluate_batch

    def _evaluate(self, X: np.ndarray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        if self.evaluate_batch is None:
            raise RuntimeError("SizingProblem needs an evaluate_batch (the runner attaches one)")
        records = self.evaluate_batch(np.asarray(np.round(X), dtype=int))
        out["F"] = np.array([record.objectives for record in records], dtype=float)
        out["G"] = np.array([record.constraints for record in records], dtype=float)

    def __getstate__(self) -> dict[str, Any]:
        """Checkpoints pickle the algorithm and its problem, never the simulators behind it."""
        state = self.__dict__.copy()
        state["evaluate_batch"] = None
        return state
