"""Runs an optimization: drives NSGA-II one generation at a time, records, checkpoints, resumes.

Per generation: ask pymoo for candidates, evaluate them (stored ones are looked up by their
variables, the rest simulated on the back-end), record every evaluation, tell pymoo, then store
a checkpoint (the pickled algorithm, whose numpy generator carries the random state). A killed
run resumes from its last complete generation; ``should_stop`` ends a run between generations.
"""

from __future__ import annotations

import math
import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
from pymoo.core.population import Population

from optimizer.algorithm import build_nsga2, seeded_population
from optimizer.evaluation import STORED_CURVES, CircuitLoadError, SimulationJob, simulation_backend
from optimizer.problem import SizingProblem, candidate_metrics, constraints_of, is_feasible, objectives_of
from optimizer.results import population_front
from optimizer.spec import RunSpec
from optimizer.store import EvaluationRecord, RunStore

CHECKPOINT_FORMAT = 1


@dataclass
class ProgressInfo:
    """What a progress display shows after each generation."""

    generation: int
    generations: int
    evaluations: int
    evaluations_per_s: float
    feasible_count: int
    hypervolume: float
    eta_s: float


@dataclass
class RunSummary:
    """How a run (or a resumed part of it) ended, and what it cost."""

    status: str
    generations_completed: int
    evaluations: int          # records in the run so far
    simulated: int            # candidates simulated in this call
    cached: int               # candidates answered from earlier evaluations in this call
    skipped_conditions: int   # (corner, temperature) simulations skipped after a failed one
    hypervolume: float
    front_size: int
    wall_time_s: float


def provenance(spec: RunSpec) -> dict[str, Any]:
    """Where the results come from: enough to reproduce or to distrust them."""
    from engine import ngspice_version
    from gmopt import __version__
    from lut.technology import get_technology

    return {
        "seed": spec.seed, "technology": spec.technology, "corners": spec.corners, "temps_c": spec.temps_c,
        "model_hash": get_technology(spec.technology).model_hash(), "gmopt_version": __version__,
        "ngspice_version": ngspice_version(), "started_at": datetime.now(timezone.utc).isoformat(),
    }


def check_run(spec: RunSpec) -> Any:
    """Check the spec against what exists (technology, corners, the testbench's range); returns the topology."""
    from gmopt import paper
    from lut.technology import get_technology
    from ota.topology import get_topology

    technology = get_technology(spec.technology)
    for corner in spec.corners:
        technology.check_corner(corner)
    low, high = paper.VAR_BOUNDS
    if spec.var_min < low or spec.var_max > high:
        raise ValueError(f"var_min/var_max must lie within the OTA testbench's range [{low}, {high}]")
    if not math.isclose(spec.lambda_m, paper.LAMBDA_M, rel_tol=1e-9):
        raise ValueError(f"lambda_m must be {paper.LAMBDA_M:g} m: the OTA templates scale widths by the paper's lambda")
    return get_topology(spec.topology)


class _EvaluationSession:
    """The ``evaluate_batch`` of the problem: look up, simulate what is new, record everything."""

    def __init__(self, spec: RunSpec, store: RunStore, job: SimulationJob, parallel: Callable[..., list[Any]]) -> None:
        self.spec = spec
        self.store = store
        self.next_index = 0
        self.generation = 0
        self.parallel = parallel
        self.job = job
        self.known: dict[tuple[int, ...], EvaluationRecord] = {tuple(r.var): r for r in store.evaluations()}
        self.last_indices: list[int] = []
        self.simulated = self.cached = self.skipped_conditions = 0

    def evaluate_batch(self, X: np.ndarray) -> list[dict[str, Any]]:
        rows = [tuple(int(v) for v in row) for row in X]
        new = list(dict.fromkeys(row for row in rows if row not in self.known))
        fresh = dict(zip(new, self.parallel(self.job, [list(row) for row in new]))) if new else {}
        records = []
        for offset, row in enumerate(rows):
            index = self.next_index + offset
            if row in fresh:
                record = self._record(index, row, fresh.pop(row))
                self.simulated += 1
            else:
                record = self._reuse(index, self.known[row])
                self.cached += 1
            self.known.setdefault(row, record)
            records.append(record)
        self.store.add_evaluations(records)
        self.last_indices = [record.index for record in records]
        self.next_index += len(rows)
        return [record.metrics for record in records]

    def _record(self, index: int, var: tuple[int, ...], simulated: dict[str, Any]) -> EvaluationRecord:
        results = simulated["results"]
        self.skipped_conditions += simulated["skipped"]
        metrics = candidate_metrics(results)
        constraints = constraints_of(metrics, self.spec)
        return EvaluationRecord(
            index=index, generation=self.generation, var=list(var),
            widths_um=[float(w) for w in results[0].get("widths_um") or [v * self.spec.lambda_m * 1e6 for v in var]],
            metrics=metrics,
            curves={key: [float(x) for x in results[0].get(key) or []] for key in STORED_CURVES},
            objectives=objectives_of(metrics, self.spec), constraints=constraints,
            feasible=is_feasible(constraints), converged=bool(metrics.get("converged")),
            error=metrics.get("error"), wall_time_s=float(simulated["wall_time_s"]), cached=False,
        )

    def _reuse(self, index: int, known: EvaluationRecord) -> EvaluationRecord:
        return EvaluationRecord(**{
            **known.__dict__, "index": index, "generation": self.generation, "wall_time_s": 0.0, "cached": True,
        })


def _check_store(spec: RunSpec, store: RunStore, resume: bool) -> None:
    header = store.read_header()
    if header is None:
        if store.evaluations():
            raise ValueError("the run store holds evaluations but no header: use a new output folder")
        store.write_header(spec.model_dump(mode="json"), provenance(spec))
        return
    if not resume:
        raise ValueError("the output already holds a run: resume it (--resume) or choose a new output folder")
    stored = RunSpec.parse(header[0], source="the stored run spec")
    if stored != spec:
        changed = sorted(key for key in type(spec).model_fields if getattr(stored, key) != getattr(spec, key))
        raise ValueError(f"cannot resume: the spec differs from the stored run in {', '.join(changed)}")


def _new_algorithm(spec: RunSpec, n_var: int) -> Any:
    initial = None
    if spec.seeding == "gmid":
        from ota.sizing import gm_id_variants, spec_gm_range_s

        limits = spec.constraints
        gm_range_s = spec_gm_range_s(limits.gain_min_db, limits.bandwidth_min_hz, limits.gm_min_s, limits.gm_max_s)
        sizings = gm_id_variants(
            spec.topology, spec.pop_size, spec.seed, spec.technology, corner=spec.corners[0], temp_c=spec.temps_c[0],
            gm_range_s=gm_range_s,
        )
        initial = seeded_population(sizings, spec)
    algorithm = build_nsga2(spec, initial)
    algorithm.setup(SizingProblem(spec, n_var), termination=("n_gen", spec.generations), verbose=False)
    return algorithm


def run_optimization(
    spec: RunSpec,
    store: RunStore,
    *,
    workers: int = 2,
    dask_address: str | None = None,
    progress: Callable[[ProgressInfo], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume: bool = True,
) -> RunSummary:
    """Run (or continue) one optimization to its last generation, a stop request, or an error."""
    topology = check_run(spec)
    _check_store(spec, store, resume)
    job = SimulationJob.from_spec(spec)
    try:
        # The workers start and load their circuits while this process sizes the seeded
        # population: on two cores that hides most of the start-up of a 20 x 50 run.
        with simulation_backend(job, workers, dask_address) as parallel:
            return _run_generations(spec, store, topology, _EvaluationSession(spec, store, job, parallel), progress, should_stop)
    except CircuitLoadError as exc:
        store.set_status("failed", str(exc))  # the message says it is not resumable, and why
        raise
    except BaseException as exc:
        status = "cancelled" if isinstance(exc, KeyboardInterrupt) else "failed"
        store.set_status(status, f"{type(exc).__name__}: {exc}; resume to continue")
        raise


def _run_generations(
    spec: RunSpec,
    store: RunStore,
    topology: Any,
    session: _EvaluationSession,
    progress: Callable[[ProgressInfo], None] | None,
    should_stop: Callable[[], bool] | None,
) -> RunSummary:
    checkpoint = store.last_checkpoint()
    if checkpoint is not None:
        state = pickle.loads(checkpoint[1])
        algorithm, session.next_index, generation = state["algorithm"], state["next_index"], checkpoint[0] + 1
    else:
        algorithm, generation = _new_algorithm(spec, topology.n_vars), 0
    algorithm.problem.evaluate_batch = session.evaluate_batch
    started = time.perf_counter()
    first_generation = generation
    hypervolume = store.hypervolumes()[-1][1] if checkpoint else 0.0
    front = [record.index for record in store.front()]

    def summary(status: str) -> RunSummary:
        return RunSummary(
            status=status, generations_completed=generation, evaluations=session.next_index,
            simulated=session.simulated, cached=session.cached, skipped_conditions=session.skipped_conditions,
            hypervolume=hypervolume, front_size=len(front), wall_time_s=time.perf_counter() - started,
        )

    store.set_status("running", f"generation {generation} of {spec.generations}")
    try:
        while algorithm.has_next():
            if should_stop is not None and should_stop():
                store.set_status("cancelled", f"stopped after generation {generation - 1}; resume to continue")
                return summary("cancelled")
            session.generation = generation
            offspring: Population = algorithm.ask()
            algorithm.evaluator.eval(algorithm.problem, offspring)
            offspring.set("index", np.array(session.last_indices))
            algorithm.tell(infills=offspring)
            hypervolume, front = population_front(algorithm.pop, spec)
            state = {"format": CHECKPOINT_FORMAT, "algorithm": algorithm, "next_index": session.next_index}
            store.complete_generation(generation, pickle.dumps(state), hypervolume, front)
            generation += 1
            if progress is not None:
                elapsed = time.perf_counter() - started
                progress(ProgressInfo(
                    generation=generation - 1, generations=spec.generations, evaluations=session.next_index,
                    evaluations_per_s=(session.simulated + session.cached) / elapsed if elapsed > 0 else math.nan,
                    feasible_count=int(np.sum(algorithm.pop.get("feas"))), hypervolume=hypervolume,
                    eta_s=elapsed / (generation - first_generation) * (spec.generations - generation),
                ))
    finally:
        algorithm.problem.evaluate_batch = None
    store.set_status("finished", f"{spec.generations} generations, {session.next_index} evaluations")
    return summary("finished")
