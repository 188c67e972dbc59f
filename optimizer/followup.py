"""Follow-up evaluations of candidates that meet the nominal constraints: mismatch yield, emulator loop.

Both cost many simulations (200 Monte Carlo samples; one transient per emulator frequency), so
only a candidate that already meets every nominal constraint gets them: any other is infeasible
whatever they would say. Their results are scalar metrics of the evaluation (stored with it:
``mc_yield``, ``offset_sigma_v``, ``pinch_ratio_100khz``, ``loop_asymmetry_1mhz`` ...) and, where
the spec asks, constraints and objectives (``optimizer.problem``). They run on the run's own
parallel back-end (``optimizer.evaluation``), in the workers that already hold the circuit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from optimizer.space import DesignSpace
from optimizer.spec import RunSpec

Parallel = Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]]
# A follow-up constraint that was not computed (the candidate misses a nominal constraint, or the
# follow-up failed) counts as one unit of violation: as bad as "yield 0" or "pinch ratio twice the
# limit", without drowning the nominal violations that rank infeasible candidates.
NOT_COMPUTED_VIOLATION = 1.0


def frequency_label(freq_hz: float) -> str:
    """``1e5`` -> ``100khz``, ``1e6`` -> ``1mhz``: the suffix of a per-frequency metric."""
    for scale, unit in ((1e9, "ghz"), (1e6, "mhz"), (1e3, "khz")):
        if freq_hz >= scale:
            return f"{freq_hz / scale:g}{unit}".replace(".", "p")
    return f"{freq_hz:g}hz".replace(".", "p")


def constraint_names(spec: RunSpec) -> list[str]:
    """The follow-up constraints a spec asks for, after the nominal ones."""
    names = ["yield"] if spec.monte_carlo is not None and spec.monte_carlo.min_yield is not None else []
    if spec.emulator is not None:
        labels = [frequency_label(f) for f in spec.emulator.frequencies_hz]
        names += [f"pinch_{label}" for label in labels] if spec.emulator.max_pinch_ratio is not None else []
        names += [f"asymmetry_{label}" for label in labels] if spec.emulator.max_asymmetry is not None else []
    return names


def _ratio(value: Any, limit: float) -> float:
    number = math.nan if value is None else float(value)
    return number / limit - 1.0 if math.isfinite(number) else NOT_COMPUTED_VIOLATION


def constraints(metrics: Mapping[str, Any], spec: RunSpec) -> dict[str, float]:
    """Each follow-up constraint, normalised as the nominal ones (``<= 0`` met)."""
    values: dict[str, float] = {}
    if spec.monte_carlo is not None and spec.monte_carlo.min_yield is not None:
        found = metrics.get("mc_yield")
        minimum = spec.monte_carlo.min_yield
        values["yield"] = NOT_COMPUTED_VIOLATION if found is None else (minimum - float(found)) / minimum
    if spec.emulator is not None:
        for freq_hz in spec.emulator.frequencies_hz:
            label = frequency_label(freq_hz)
            if spec.emulator.max_pinch_ratio is not None:
                values[f"pinch_{label}"] = _ratio(metrics.get(f"pinch_ratio_{label}"), spec.emulator.max_pinch_ratio)
            if spec.emulator.max_asymmetry is not None:
                values[f"asymmetry_{label}"] = _ratio(metrics.get(f"loop_asymmetry_{label}"), spec.emulator.max_asymmetry)
    return values


def check_spec(spec: RunSpec, nominal_names: Sequence[str]) -> None:
    """Refuse a Monte Carlo section that names a constraint the run does not have, or a technology
    without coefficients; and an emulator section in a run that frees lengths or biases, or runs
    outside generic180: the emulator circuit takes widths only, at the paper's biases."""
    if spec.emulator is not None and (spec.free.lengths or spec.free.bias_pins or spec.technology != "generic180"):
        raise ValueError(
            "the emulator follow-up takes widths only, at generic180's (the paper's) biases: drop 'emulator', "
            "or free no lengths or bias pins and use generic180"
        )
    if spec.monte_carlo is None:
        return
    missing = set(spec.monte_carlo.constraints) - set(nominal_names)
    if missing:
        raise ValueError(
            f"monte_carlo.constraints {sorted(missing)} are not constraints of this run (it has {', '.join(nominal_names)})"
        )
    from lut.technology import get_technology
    from mismatch.model import mismatch_model

    mismatch_model(get_technology(spec.technology))


class FollowUps:
    """Runs the follow-ups of each batch on the run's back-end and counts what they cost."""

    def __init__(self, spec: RunSpec, space: DesignSpace, parallel: Parallel) -> None:
        self.spec = spec
        self.space = space
        self.parallel = parallel
        self.corner, self.temp_c = spec.conditions[0]  # follow-ups run at the nominal condition
        self.monte_carlo_samples = self.monte_carlo_skipped = 0
        self.emulator_runs = self.emulator_skipped = 0

    @property
    def active(self) -> bool:
        return self.spec.monte_carlo is not None or self.spec.emulator is not None

    def evaluate(self, candidates: Sequence[tuple[Sequence[int], Mapping[str, Any], bool]]) -> list[dict[str, Any]]:
        """Follow-up metrics of each ``(var, nominal metrics, nominally feasible)``; {} for the infeasible."""
        extra: list[dict[str, Any]] = [{} for _ in candidates]
        if not self.active:
            return extra
        chosen = [index for index, (_, _, feasible) in enumerate(candidates) if feasible]
        skipped = len(candidates) - len(chosen)
        if self.spec.monte_carlo is not None:
            self.monte_carlo_skipped += skipped * self.spec.monte_carlo.samples
            for index, metrics in zip(chosen, self._monte_carlo([candidates[i][0] for i in chosen])):
                extra[index].update(metrics)
        if self.spec.emulator is not None:
            self.emulator_skipped += skipped * len(self.spec.emulator.frequencies_hz)
            for index, metrics in zip(chosen, self._emulator([candidates[i][0] for i in chosen])):
                extra[index].update(metrics)
        return extra

    def _monte_carlo(self, candidates: list[Sequence[int]]) -> list[dict[str, Any]]:
        from lut.technology import get_technology
        from mismatch.model import mismatch_model
        from mismatch.montecarlo import distribution, draw_shifts, device_sigmas, sample_yield, tasks
        from optimizer.evaluation import SampleJob
        from ota.topology import get_topology

        settings = self.spec.monte_carlo
        assert settings is not None
        if not candidates:
            return []
        topology = get_topology(self.spec.topology)
        model = mismatch_model(get_technology(self.spec.technology))
        passes = sample_check(self.spec, settings.constraints)
        work, owners = [], []
        technology = get_technology(self.spec.technology)
        for position, row in enumerate(candidates):
            candidate = self.space.split(row)
            sigmas = device_sigmas(topology, candidate.var, model, technology, lengths_m=dict(candidate.lengths_m))
            chunks = tasks(row, draw_shifts(sigmas, settings.samples, settings.seed))
            work += chunks
            owners += [position] * len(chunks)
        biases = tuple(sorted((self.spec.bias_v or {}).items()))
        answers = self.parallel(SampleJob(self.spec.topology, get_technology(self.spec.technology).at(self.corner, self.temp_c), biases, self.space), work)
        per_candidate: list[list[dict]] = [[] for _ in candidates]
        for position, chunk in zip(owners, answers):
            per_candidate[position] += chunk
        self.monte_carlo_samples += sum(len(results) for results in per_candidate)
        out = []
        for results in per_candidate:
            offset = distribution(results)["offset_v"]
            out.append({
                "mc_yield": sample_yield(results, passes), "mc_samples": len(results),
                "mc_converged": sum(bool(r.get("converged")) for r in results),
                "offset_sigma_v": offset["sigma"], "offset_mean_v": offset["mean"],
            })
        return out

    def _emulator(self, candidates: list[Sequence[int]]) -> list[dict[str, Any]]:
        from optimizer.evaluation import EmulatorJob

        settings = self.spec.emulator
        assert settings is not None
        if not candidates:
            return []
        work = [(list(var), freq) for var in candidates for freq in settings.frequencies_hz]
        answers = self.parallel(EmulatorJob(self.spec.topology, self.spec.technology, self.corner, self.temp_c), work)
        self.emulator_runs += len(work)
        out = []
        per = len(settings.frequencies_hz)
        for start in range(0, len(answers), per):
            metrics: dict[str, Any] = {}
            for answer in answers[start:start + per]:
                label = frequency_label(answer["freq_hz"])
                # not measured is NaN, as every metric (gmopt.floats), whether or not the loop converged
                metrics[f"pinch_ratio_{label}"] = float(answer["pinch_ratio"]) if answer["converged"] else math.nan
                metrics[f"loop_asymmetry_{label}"] = float(answer["loop_asymmetry"]) if answer["converged"] else math.nan
            ratios = [metrics[f"pinch_ratio_{frequency_label(f)}"] for f in settings.frequencies_hz]
            asymmetries = [metrics[f"loop_asymmetry_{frequency_label(f)}"] for f in settings.frequencies_hz]
            metrics["pinch_ratio_max"] = _worst(ratios)
            metrics["loop_asymmetry_max"] = _worst(asymmetries)
            out.append(metrics)
        return out


def _worst(values: Sequence[float]) -> float:
    """The largest value; NaN (not measured) if any frequency failed."""
    return math.nan if any(math.isnan(value) for value in values) else max(values)


def sample_check(spec: RunSpec, names: Sequence[str]) -> Callable[[dict], bool]:
    """Whether one Monte Carlo sample (a testbench result dict) meets the named nominal constraints."""
    from optimizer.problem import candidate_metrics, constraint_names as nominal_names, nominal_constraints_of

    all_names = nominal_names(spec, follow_ups=False)
    picked = [all_names.index(name) for name in names]

    def passes(result: dict) -> bool:
        values = nominal_constraints_of(candidate_metrics([result]), spec)
        return all(values[index] <= 0.0 for index in picked)

    return passes
