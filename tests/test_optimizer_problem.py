"""Objectives, constraints, worst case, seeding, operators and hypervolume, against hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pymoo.core.duplicate import DefaultDuplicateElimination
from pymoo.core.population import Population

from optimizer.algorithm import EqualRowElimination, build_nsga2, seeded_population
from optimizer.problem import (
    FAILED_VIOLATION, SizingProblem, constraint_names, constraints_of, objective_bounds,
    objectives_of, worst_case,
)
from optimizer.results import front_of, hypervolume
from lut.technology import GENERIC180
from optimizer.runner import prepare_run
from optimizer.space import design_space
from ota.topology import get_topology
from optimizer.spec import RunSpec
from optimizer.store import EvaluationRecord

SPEC = prepare_run(RunSpec.parse({"topology": "fig7", "constraints": {"gm_min_s": 2.8e-3, "gm_max_s": 4.2e-3}}))
SPACE = design_space(SPEC, get_topology("fig7"), GENERIC180)
GOOD = {
    "converged": True, "gain_db": 44.0, "bandwidth_hz": 2e6, "phase_margin_deg": 60.0, "offset_v": -0.01,
    "rmse_a": 10e-6, "gm_s": 3.5e-3, "power_w": 2e-3, "saturation_margin_v": 0.05,
}


def test_objectives_are_rmse_negated_gain_and_power() -> None:
    assert objectives_of(GOOD, SPEC) == [10e-6, -44.0, 2e-3]


def test_constraints_by_hand() -> None:
    """GOOD against SPEC's limits (gain 40 dB, BW 1 MHz, PM 55 deg, |offset| 50 mV, RMSE 50 uA,
    Gm 2.8-4.2 mS, saturation margin in units of 0.1 V), each worked out on paper."""
    expected = {
        "gain": -0.1,             # (40 - 44) / 40
        "bandwidth": -0.30103,    # log10(1 MHz / 2 MHz): decades short
        "phase_margin": -0.0909,  # (55 - 60) / 55
        "offset": -0.8,           # 10 mV / 50 mV - 1
        "rmse": -0.8,             # 10 uA / 50 uA - 1
        "gm_min": -0.25,          # 1 - 3.5 / 2.8
        "gm_max": -0.1667,        # 3.5 / 4.2 - 1
        "saturation": -0.5,       # -50 mV / 100 mV
    }
    values = dict(zip(constraint_names(SPEC), constraints_of(GOOD, SPEC)))
    assert values == pytest.approx(expected, abs=1e-4)


def test_each_constraint_is_zero_at_its_limit_and_positive_past_it() -> None:
    at_limit = {**GOOD, "gain_db": 40.0, "bandwidth_hz": 1e6, "phase_margin_deg": 55.0, "offset_v": -0.05,
                "rmse_a": 50e-6, "gm_s": 2.8e-3, "saturation_margin_v": 0.0}
    values = dict(zip(constraint_names(SPEC), constraints_of(at_limit, SPEC)))
    assert {name: value for name, value in values.items() if name != "gm_max"} == pytest.approx(
        dict.fromkeys(["gain", "bandwidth", "phase_margin", "offset", "rmse", "gm_min", "saturation"], 0.0), abs=1e-12)
    assert values["gm_max"] == pytest.approx(2.8 / 4.2 - 1, abs=1e-12)
    past = {**GOOD, "gain_db": 20.0, "bandwidth_hz": 1e5, "phase_margin_deg": 11.0, "offset_v": 0.1, "rmse_a": 100e-6,
            "saturation_margin_v": -0.1}
    values = dict(zip(constraint_names(SPEC), constraints_of(past, SPEC)))
    # half the gain, a decade of bandwidth, 44 deg (0.8 x 55) of phase margin, twice the offset and RMSE, 0.1 V
    expected = {"gain": 0.5, "bandwidth": 1.0, "phase_margin": 0.8, "offset": 1.0, "rmse": 1.0, "saturation": 1.0}
    assert {name: values[name] for name in expected} == pytest.approx(expected, abs=1e-12)


def test_optional_constraints_can_be_switched_off() -> None:
    spec = RunSpec.parse({"topology": "fig7", "constraints": {"gm_min_s": None, "gm_max_s": None, "require_saturation": False}})
    assert constraint_names(spec) == ["gain", "bandwidth", "phase_margin", "offset", "rmse"]


def test_a_failed_simulation_is_finite_and_worse_than_any_converged_candidate() -> None:
    failed = {"converged": False, "error": "no convergence", "gain_db": math.nan, "rmse_a": math.nan}
    objectives = objectives_of(failed, SPEC)
    constraints = constraints_of(failed, SPEC)
    assert all(math.isfinite(value) for value in objectives + constraints)
    assert constraints == [FAILED_VIOLATION] * len(constraint_names(SPEC))
    awful = {**GOOD, "gain_db": -60.0, "bandwidth_hz": 1.0, "phase_margin_deg": -180.0, "offset_v": 0.9,
             "rmse_a": 1e-3, "saturation_margin_v": -1.8}
    assert sum(max(0, g) for g in constraints_of(awful, SPEC)) < sum(constraints)
    nan_metric = constraints_of({**GOOD, "phase_margin_deg": math.nan}, SPEC)
    assert dict(zip(constraint_names(SPEC), nan_metric))["phase_margin"] == FAILED_VIOLATION


def test_pymoo_sees_finite_values_and_a_large_violation_for_failures() -> None:
    records = [  # as the runner's session records them: objectives and constraints computed once, here
        EvaluationRecord(index=i, generation=0, var=[], widths_um=[], metrics=metrics,
                         objectives=objectives_of(metrics, SPEC), constraints=constraints_of(metrics, SPEC))
        for i, metrics in enumerate([GOOD, {"converged": False}])
    ]
    problem = SizingProblem(SPEC, SPACE, evaluate_batch=lambda X: records[: len(X)])
    F, G = problem.evaluate(np.array([[100] * 5, [200] * 5]), return_values_of=["F", "G"])
    assert np.all(np.isfinite(F)) and np.all(np.isfinite(G))
    assert F.tolist() == [records[0].objectives, records[1].objectives]
    assert np.all(G[0] <= 0) and np.all(G[1] == FAILED_VIOLATION)


def test_worst_case_over_conditions() -> None:
    hot = {**GOOD, "gain_db": 41.0, "rmse_a": 12e-6, "power_w": 1.5e-3, "offset_v": 0.03, "margins_v": {"MN2": 0.1}}
    cold = {**GOOD, "bandwidth_hz": 1.5e6, "offset_v": -0.02, "margins_v": {"MN2": 0.3}}
    merged = worst_case([cold, hot])
    assert (merged["gain_db"], merged["rmse_a"], merged["power_w"]) == (41.0, 12e-6, 2e-3)
    assert (merged["bandwidth_hz"], merged["offset_v"], merged["margins_v"]) == (1.5e6, 0.03, {"MN2": 0.1})
    assert worst_case([cold, {"converged": False, "error": "singular matrix"}])["converged"] is False


def test_the_seeded_population_keeps_the_sizings_first_then_tops_up_with_perturbations() -> None:
    spec = prepare_run(RunSpec(topology="fig7", pop_size=20, seed=5))
    first = [741, 560, 8000, 2483, 2483]
    other = [440, 658, 8000, 2003, 2899]
    sizings = [first, other, first, [40, 30, 9000, 2003, 2899]]  # a repeat and an out-of-bounds row
    X = seeded_population(sizings, spec, SPACE, 1e-6)
    assert X.shape == (20, 5) and X.dtype.kind == "i"
    assert X[0].tolist() == first and X[1].tolist() == other and X[2].tolist() == [40, 40, 8000, 2003, 2899]
    assert len({tuple(row) for row in X}) == 20
    assert X.min() >= 40 and X.max() <= 8000
    assert np.array_equal(X, seeded_population(sizings, spec, SPACE, 1e-6))
    ratio = np.log(X[3:, :4] / np.array(first[:4]))
    assert 0.15 < ratio.std() < 0.45  # log-normal spread 0.3 around the first sizing (8000 column clipped)


def test_nsga2_uses_the_papers_operators_on_integers() -> None:
    algorithm = build_nsga2(SPEC)
    crossover, mutation = algorithm.mating.crossover, algorithm.mating.mutation
    assert (crossover.prob.value, crossover.eta.value) == (0.9, 15.0)
    assert (mutation.prob.value, mutation.prob_var.value, mutation.eta.value) == (1.0, 0.5, 20.0)
    assert type(crossover.repair).__name__ == type(mutation.repair).__name__ == "RoundingRepair"


def test_equal_row_elimination_drops_the_rows_pymoos_distance_test_drops() -> None:
    """Integer rows with many repeats (within the batch and against two other populations, int
    and float arrays alike): the same survivors, in the same order, as pymoo's default."""
    rng = np.random.default_rng(4)
    for _ in range(50):
        batch, *others = (Population.new("X", rng.integers(0, 3, size=(n, 3))) for n in (30, 8, 5))
        others[1] = Population.new("X", others[1].get("X").astype(float))
        ours, pymoos = EqualRowElimination().do(batch, *others), DefaultDuplicateElimination().do(batch, *others)
        assert [id(ind) for ind in ours] == [id(ind) for ind in pymoos]
        assert 0 < len(ours) < len(batch) or len(pymoos) == 0


def test_hypervolume_uses_fixed_bounds_and_the_1_1_reference() -> None:
    ideal, nadir = objective_bounds(SPEC)
    assert ideal.tolist() == [0.0, -80.0, 0.0]
    assert nadir.tolist() == [SPEC.constraints.rmse_max_a, -40.0, 10e-3]
    a = ideal + np.array([0.5, 0.5, 0.5]) * (nadir - ideal)
    b = ideal + np.array([0.2, 0.8, 0.6]) * (nadir - ideal)
    box = lambda p: np.prod(1.1 - p)  # noqa: E731
    overlap = np.prod(1.1 - np.maximum([0.5, 0.5, 0.5], [0.2, 0.8, 0.6]))
    assert hypervolume(a[None], SPEC) == pytest.approx(box(np.array([0.5, 0.5, 0.5])))
    assert hypervolume(np.array([a, b]), SPEC) == pytest.approx(box(np.array([0.5] * 3)) + box(np.array([0.2, 0.8, 0.6])) - overlap)
    assert hypervolume(np.empty((0, 3)), SPEC) == 0.0
    assert hypervolume((nadir * 1.2)[None], SPEC) == 0.0


def test_front_of_keeps_feasible_nondominated_records() -> None:
    def rec(index: int, objectives: list[float], feasible: bool = True) -> EvaluationRecord:
        return EvaluationRecord(index=index, generation=0, var=[index], widths_um=[], metrics={}, objectives=objectives, feasible=feasible)

    records = [rec(0, [1, 1, 1]), rec(1, [2, 2, 2]), rec(2, [0, 3, 1]), rec(3, [0, 0, 0], feasible=False)]
    assert [r.index for r in front_of(records)] == [0, 2]
