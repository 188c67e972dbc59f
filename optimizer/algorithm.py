"""How the search goes: pymoo's NSGA-II with the paper's SBX and polynomial mutation on integers.

Integers come from pymoo itself: integer random sampling and ``RoundingRepair`` after SBX and
mutation (pymoo's documented mixed-integer recipe). The seeded start is the gm/ID first sizing
plus gm/ID sizings at other gm/ID choices (the paper's "seeded with baseline values", Section 4.2),
topped up with log-normal perturbations where clamped widths made sizings coincide.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.duplicate import DuplicateElimination
from pymoo.core.population import Population
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.repair.rounding import RoundingRepair
from pymoo.operators.sampling.rnd import IntegerRandomSampling

from optimizer.circuit_problem import CanonicalRepair
from optimizer.circuit_space import CircuitSpace
from optimizer.space import DesignSpace
from optimizer.spec import RunSpec


class EqualRowElimination(DuplicateElimination):
    """pymoo's default duplicate elimination (a row within 1e-16 of an earlier one, or of one in the
    other populations) for rows of integers, which are exactly equal or at least 1 apart: the same
    rows go, found with a set of row tuples instead of a full distance matrix (0.18 of 1.0 ms per
    ask of a 20-candidate generation, most of it ``cdist``). The first of equal rows stays, as in pymoo."""

    def _do(self, pop: Population, other: Population | None, is_duplicate: np.ndarray) -> np.ndarray:
        seen = set() if other is None else set(map(tuple, other.get("X").tolist()))
        for position, row in enumerate(map(tuple, pop.get("X").tolist())):
            if row in seen:
                is_duplicate[position] = True
            elif other is None:
                seen.add(row)
        return is_duplicate


def seeded_population(sizings: Sequence[Sequence[int]], spec: RunSpec, space: DesignSpace, length_m: float) -> np.ndarray:
    """``pop_size`` distinct integer rows: the gm/ID sizings (the first sizing first), then
    perturbed copies of the first sizing until the population is full.

    Each copy multiplies every width by ``exp(N(0, seed_spread))``: relative changes, so small
    and large devices move alike. Free lengths start at ``length_m`` (the L the sizings used)
    and free biases at the run's. Rows are clipped to the bounds and de-duplicated.
    """
    rng = np.random.default_rng(spec.seed)
    low, high = space.bounds()
    widths = len(space.width_labels)
    extras = np.asarray(space.row([0] * widths, length_m, spec.bias_v or {})[widths:], dtype=int)
    rows: list[np.ndarray] = []
    seen: set[tuple[int, ...]] = set()

    def add(width_row: np.ndarray) -> None:
        row = np.clip(np.concatenate([np.round(width_row), extras]), low, high).astype(int)
        if tuple(row) not in seen and len(rows) < spec.pop_size:
            seen.add(tuple(row))
            rows.append(row)

    for sizing in sizings:
        add(np.asarray(sizing, dtype=float))
    base = rows[0][:widths].astype(float)
    while len(rows) < spec.pop_size:
        add(base * np.exp(rng.normal(0.0, spec.operators.seed_spread, size=widths)))
    return np.array(rows)


def build_nsga2(spec: RunSpec, initial: np.ndarray | None = None, circuit_space: CircuitSpace | None = None) -> NSGA2:
    """NSGA-II as Section 4.2 sets it up; ``initial`` None means pymoo's integer random sampling.
    A circuit run's mixed rows (``circuit_space``) take the same operators on the float vector,
    repaired to the space's canonical rows (integer columns rounded, all clipped) instead of rounded.

    ``mutation_prob`` is pymoo's ``prob_var`` (the chance of mutating each variable, as the paper
    says); pymoo's per-individual ``prob`` stays 1.0 so every offspring goes through mutation.
    """
    operators = spec.operators
    repair = RoundingRepair() if circuit_space is None else CanonicalRepair(circuit_space)
    return NSGA2(
        pop_size=spec.pop_size,
        sampling=IntegerRandomSampling() if initial is None else initial,
        crossover=SBX(prob=operators.crossover_prob, eta=operators.crossover_eta, vtype=float, repair=repair),
        mutation=PM(prob=1.0, prob_var=operators.mutation_prob, eta=operators.mutation_eta, vtype=float, repair=repair),
        # a circuit's float columns keep pymoo's distance test (rows within 1e-16 of each other)
        eliminate_duplicates=EqualRowElimination() if circuit_space is None else True,
        seed=spec.seed,
    )
