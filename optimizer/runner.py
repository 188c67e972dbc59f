"""Runs an optimization: drives NSGA-II one generation at a time, records, checkpoints, resumes.

Per generation: ask pymoo for candidates, evaluate them (stored ones are looked up by their
variables, the rest simulated on the back-end), record every evaluation, tell pymoo, then store
a checkpoint (the pickled algorithm, whose numpy generator carries the random state:
``optimizer.checkpoint``). Records and checkpoints are written in order by a background thread
while the next generation simulates (``optimizer.write_behind``). A killed run resumes from its
last stored checkpoint; ``should_stop`` ends a run between generations.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
from pymoo.core.population import Population

from optimizer import checkpoint as checkpoints, circuit_problem
from optimizer.algorithm import build_nsga2, seeded_population
from lut.technology import Condition
from circuits.model import TESTBENCH_MEASURES
from optimizer.evaluation import STORED_CURVES, CircuitJob, CircuitLoadError, SimulationJob, simulation_backend
from optimizer.followup import FollowUps, check_spec
from optimizer.problem import (
    SizingProblem, candidate_metrics, constraint_names, constraints_of, is_feasible, nominal_constraints_of, objectives_of,
)
from optimizer.results import circuit_population_front, population_front
from optimizer.space import design_space
from optimizer.spec import RunSpec, SpecError
from optimizer.store import EvaluationRecord, RunStore
from optimizer.write_behind import WriteBehind

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
    ac_skipped: int = 0   # AC analyses not run: the candidate's DC sweep already failed a hard constraint


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
    monte_carlo_samples: int = 0   # mismatch samples simulated (nominal-feasible candidates only)
    monte_carlo_skipped: int = 0   # samples not simulated because the candidate missed a nominal constraint
    emulator_runs: int = 0         # emulator transients simulated
    emulator_skipped: int = 0      # emulator transients skipped likewise
    ac_skipped: int = 0            # AC analyses not run: the DC sweep already missed the offset or saturation limit


def provenance(spec: RunSpec) -> dict[str, Any]:
    """Where the results come from: enough to reproduce or to distrust them (``spec`` resolved by
    ``prepare_run``: its Var bounds, lambda and bias voltages are the ones the run used)."""
    from engine import ngspice_version
    from gmopt import __version__
    from lut.technology import get_technology

    technology = get_technology(spec.technology)
    record = {
        "seed": spec.seed, "technology": spec.technology, "corners": spec.corners, "temps_c": spec.temps_c,
        "model_hash": technology.model_hash(), "gmopt_version": __version__,
        "ngspice_version": ngspice_version(), "started_at": datetime.now(timezone.utc).isoformat(),
        "bias_v": spec.bias_v, "lambda_m": spec.lambda_m, "var_bounds": [spec.var_min, spec.var_max],
    }
    if spec.is_circuit:
        from circuits.library import content_hash

        record.update(circuit=spec.design_name, circuit_hash=content_hash(spec.circuit_package), circuit_reference=spec.circuit)
        for key in ("bias_v", "lambda_m", "var_bounds"):
            record.pop(key)
    if spec.monte_carlo is not None:
        from mismatch.model import mismatch_model

        record["mismatch_model"] = mismatch_model(technology).to_dict()
    return record


def check_run(spec: RunSpec) -> Any:
    """Check the spec against what exists (technology, corners, the technology's Var range and
    lambda, bias pins; a circuit package's binding to the technology); cheap, so the API can answer
    422 at once. Returns the topology, or a circuit run's ``Circuit``."""
    return _checked_run(spec)[0]


def _checked_run(spec: RunSpec) -> tuple[Any, tuple[Condition, ...]]:
    """``check_run``, with the run's conditions (``spec.conditions``, each checked here once)."""
    from lut.technology import get_technology
    from ota.topology import get_topology

    try:
        technology = get_technology(spec.technology)
    except ValueError as exc:
        raise SpecError("technology", str(exc)) from exc
    conditions: list[Condition] = []
    for position, corner in enumerate(spec.corners):
        try:  # the temperatures passed the spec's own field type: only a corner can be wrong
            conditions += [technology.at(corner, temp_c) for temp_c in spec.temps_c]
        except ValueError as exc:
            raise SpecError(f"corners.{position}", str(exc)) from exc
    if spec.is_circuit:
        return _checked_circuit(spec, technology), tuple(conditions)
    topology = get_topology(spec.topology)
    low, high = technology.var_bounds
    for name, value in (("var_min", spec.var_min), ("var_max", spec.var_max)):
        if value is not None and not low <= value <= high:
            raise SpecError(name, f"var_min/var_max must lie within {technology.name}'s Var range [{low}, {high}]")
    if spec.lambda_m is not None and not math.isclose(spec.lambda_m, technology.lambda_m, rel_tol=1e-9):
        raise SpecError(
            "lambda_m", f"lambda_m must be {technology.name}'s {technology.lambda_m:g} m (or null): widths are Var x its lambda"
        )
    labels = [v.label for v in topology.variables]
    if set(spec.free.lengths) - set(labels) or set(spec.free.bias_pins) - set(topology.bias_pins):
        raise SpecError(
            "free", f"free.lengths must name {topology.name}'s variables ({', '.join(labels)}) and free.bias_pins its bias pins "
            f"({', '.join(topology.bias_pins)}); got {spec.free.lengths} and {spec.free.bias_pins}"
        )
    if spec.free.length_range_m is not None:
        low_m, high_m = spec.free.length_range_m
        if low_m < technology.lmin_m * (1 - 1e-9) or high_m > technology.lmax_m * (1 + 1e-9):
            raise SpecError(
                "free.length_range_m",
                f"free.length_range_m must lie within {technology.name}'s [{technology.lmin_m:g}, {technology.lmax_m:g}] m",
            )
    if spec.bias_v is not None:
        missing = sorted(set(topology.bias_pins) - set(spec.bias_v))
        unknown = sorted(set(spec.bias_v) - set(topology.bias_pins))
        outside = [pin for pin, volts in spec.bias_v.items() if not technology.vss_v <= volts <= technology.vdd_v]
        if missing or unknown or outside:
            raise SpecError(
                "bias_v", f"bias_v must give {topology.name}'s pins {', '.join(topology.bias_pins)} within the rails "
                f"{technology.vss_v:g} to {technology.vdd_v:g} V (missing {missing}, unknown {unknown}, outside {outside})"
            )
    check_spec(spec, constraint_names(spec, follow_ups=False))
    return topology, tuple(conditions)


def _checked_circuit(spec: RunSpec, technology: Any) -> Any:
    """A circuit run's package bound to the technology (its sizes within the technology's limits,
    every model name the technology's) and holding objectives to optimize. Returns the circuit."""
    from circuits.render import render_subckt

    circuit = spec.circuit_object
    if not circuit.objectives:
        raise SpecError("circuit_package", f"circuit {circuit.name} lists no objectives: add e.g. '- {{measure: power_w, goal: min}}'")
    if not circuit.variables:
        raise SpecError("circuit_package", f"circuit {circuit.name} declares no variables: nothing to optimize")
    try:
        render_subckt(circuit, technology)
    except ValueError as exc:
        raise SpecError("circuit_package", f"circuit {circuit.name} does not bind to {technology.name}: {exc}") from exc
    return circuit


def prepare_run(spec: RunSpec) -> RunSpec:
    """The spec with every technology default filled in: Var bounds, lambda, and the bias voltages
    (the technology's fixed ones, or derived once by the first sizing at the first corner and
    temperature). The resolved spec is what the run stores, simulates and resumes with."""
    return _prepared_run(spec)[0]


def _prepared_run(spec: RunSpec) -> tuple[RunSpec, Any, tuple[Condition, ...]]:
    """``prepare_run``, with the topology and the conditions ``_checked_run`` resolved."""
    from ota.sizing import GmIdChoice, derive_bias_v, spec_gm_range_s

    topology, conditions = _checked_run(spec)
    if spec.is_circuit:  # nothing to fill in: the package and its bench bring every value
        return spec, topology, conditions
    technology = conditions[0].technology
    bias_v = spec.bias_v
    if bias_v is None:
        if spec.derive_bias or technology.bias_v is None:
            # sized for the Gm the spec asks for (the geometric middle of what the seeds aim at),
            # not Table 1's 3.5 mS: the tail's bias sets every candidate's current
            limits = spec.constraints
            gm_range_s = spec_gm_range_s(limits.gain_min_db, limits.bandwidth_min_hz, limits.gm_min_s, limits.gm_max_s)
            choice = GmIdChoice(gm_target_s=math.sqrt(gm_range_s[0] * gm_range_s[1]))
            bias_v = derive_bias_v(spec.topology, conditions[0], choice)
        else:
            bias_v = {pin: technology.bias_v[pin] for pin in topology.bias_pins}
    prepared = spec.model_copy(update={
        "var_min": spec.var_min or technology.var_bounds[0], "var_max": spec.var_max or technology.var_bounds[1],
        "lambda_m": technology.lambda_m, "bias_v": {pin: round(float(v), 6) for pin, v in bias_v.items()},
    })
    return prepared, topology, conditions


class _EvaluationSession:
    """The ``evaluate_batch`` of the problem: look up, simulate what is new, record everything."""

    def __init__(self, spec: RunSpec, store: RunStore, job: SimulationJob, parallel: Callable[..., list[Any]]) -> None:
        self.spec = spec
        self.writes = WriteBehind(store)
        self.unwritten: list[EvaluationRecord] = []  # this generation's records, stored with its checkpoint
        self.next_index = 0
        self.generation = 0
        self.parallel = parallel
        self.job = job
        self.known: dict[tuple[int, ...], EvaluationRecord] = {tuple(r.var): r for r in store.evaluations()}
        self.last_indices: list[int] = []
        self.simulated = self.cached = self.skipped_conditions = self.ac_skipped = 0
        self.seeding_note = ""  # what the seeded start sized and could not, for the run's final status
        self.followups = FollowUps(spec, job.space, parallel)

    def _row(self, x: np.ndarray) -> tuple:
        """A candidate as the store keys it: an OTA run's row of integers."""
        return tuple(int(v) for v in x)

    def evaluate_batch(self, X: np.ndarray) -> list[EvaluationRecord]:
        """The records of the rows of ``X``, in order: the problem takes their objectives and
        constraints as they are, computed once per new candidate here (not again from the metrics)."""
        rows = [self._row(row) for row in X]
        new = list(dict.fromkeys(row for row in rows if row not in self.known))
        fresh = dict(zip(new, self.parallel(self.job, [list(row) for row in new]))) if new else {}
        self._follow_up(fresh)
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
        self.unwritten += records
        self.last_indices = [record.index for record in records]
        self.next_index += len(rows)
        return records

    def write(self, checkpoint: tuple[int, bytes, float, list[int]] | None = None) -> None:
        """Hand the records made since the last call, then ``checkpoint`` (generation, state,
        hypervolume, front), to the background writer. The runner calls it once the next batch is
        asked for, so that the encoding and the fsyncs run while the batch simulates, not in the
        serial step between batches."""
        if self.unwritten:
            self.writes.add_evaluations(self.unwritten)
            self.unwritten = []
        if checkpoint is not None:
            self.writes.complete_generation(*checkpoint)

    def finish(self, checkpoint: tuple[int, bytes, float, list[int]] | None = None) -> None:
        """``write``, then wait until every write is made (``StoreWriteError`` if one failed)."""
        self.write(checkpoint)
        self.writes.close()

    def _follow_up(self, fresh: dict[tuple[int, ...], dict[str, Any]]) -> None:
        """Yield and emulator metrics of the new candidates that meet the nominal constraints."""
        if not fresh or not self.followups.active:
            return
        for simulated in fresh.values():
            simulated["metrics"] = candidate_metrics(simulated["results"])
        candidates = [
            (list(row), simulated["metrics"], is_feasible(nominal_constraints_of(simulated["metrics"], self.spec)))
            for row, simulated in fresh.items()
        ]
        for simulated, extra in zip(fresh.values(), self.followups.evaluate(candidates)):
            simulated["metrics"].update(extra)

    def _record(self, index: int, var: tuple[int, ...], simulated: dict[str, Any]) -> EvaluationRecord:
        results = simulated["results"]
        self.skipped_conditions += simulated["skipped"]
        self.ac_skipped += sum(bool(result.get("ac_skipped")) for result in results)
        metrics = simulated.get("metrics") or candidate_metrics(results)  # this candidate's own dict
        metrics.update(self.job.space.describe(var))
        constraints = constraints_of(metrics, self.spec)
        return EvaluationRecord(
            index=index, generation=self.generation, var=list(var),
            widths_um=[float(w) for w in results[0].get("widths_um") or [v * self.spec.lambda_m * 1e6 for v in var]],
            metrics=metrics,
            # the result's own lists of floats (``OtaResult.to_dict`` copies them): a float() of each of
            # their 385 values cost 9 us per record
            curves={key: results[0].get(key) or [] for key in STORED_CURVES},
            objectives=objectives_of(metrics, self.spec), constraints=constraints,
            feasible=is_feasible(constraints), converged=bool(metrics.get("converged")),
            error=metrics.get("error"), wall_time_s=float(simulated["wall_time_s"]), cached=False,
        )

    def _reuse(self, index: int, known: EvaluationRecord) -> EvaluationRecord:
        return EvaluationRecord(**{
            **known.__dict__, "index": index, "generation": self.generation, "wall_time_s": 0.0, "cached": True,
        })


class _CircuitSession(_EvaluationSession):
    """A circuit run's ``evaluate_batch``: rows of a ``CircuitSpace`` (integers and floats), records
    with the design by name and the bench's curves; no follow-ups (the package has none)."""

    def __init__(self, spec: RunSpec, store: RunStore, job: CircuitJob, parallel: Callable[..., list[Any]]) -> None:
        self.circuit = spec.circuit_object
        self.measures = TESTBENCH_MEASURES[self.circuit.testbench.name]
        super().__init__(spec, store, job, parallel)  # type: ignore[arg-type]

    def _row(self, x: np.ndarray) -> tuple:
        return tuple(self.job.space.canonical(x))

    def _record(self, index: int, var: tuple, simulated: dict[str, Any]) -> EvaluationRecord:
        results = simulated["results"]
        self.skipped_conditions += simulated["skipped"]
        metrics = circuit_problem.candidate_metrics(self.circuit, results, self.measures)
        if simulated.get("notes"):  # an electrical group's width clipped to its variable's range
            metrics["sizing_note"] = "; ".join(simulated["notes"])
        constraints = circuit_problem.constraints_of(self.circuit, metrics)
        curves = {key: [float(x) for x in value] for key, value in results[0].items() if isinstance(value, list)}
        return EvaluationRecord(
            index=index, generation=self.generation, var=list(var), widths_um=[], metrics=metrics, curves=curves,
            objectives=circuit_problem.objectives_of(self.circuit, metrics), constraints=constraints,
            feasible=is_feasible(constraints), converged=bool(metrics["converged"]), error=metrics.get("error"),
            wall_time_s=float(simulated["wall_time_s"]), cached=False, design=simulated.get("design") or self.job.space.sized(var).design,
        )


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


def _stored_or_prepared(spec: RunSpec, store: RunStore, resume: bool) -> tuple[RunSpec, Any, tuple[Condition, ...]]:
    """A resumed run keeps the resolved spec it stored (its derived biases above all): the
    request's technology defaults are filled in the same way, so an unchanged request matches.
    Returns the spec, checked, with its topology and conditions."""
    header = store.read_header()
    if header is not None and resume:
        stored = RunSpec.parse(header[0], source="the stored run spec")
        defaults = {} if spec.is_circuit else {
            key: getattr(stored, key) for key in ("var_min", "var_max", "lambda_m", "bias_v") if getattr(spec, key) is None
        }
        spec = spec.model_copy(update=defaults)  # only fields the request left empty: its own values are all checked
        return spec, *_checked_run(spec)
    return _prepared_run(spec)


def _new_algorithm(spec: RunSpec, job: SimulationJob, length_m: float) -> tuple[Any, str]:
    """NSGA-II set up on the run's problem, and what the seeded start could not size ('' if all);
    the seeds are sized at the run's first condition."""
    space = job.space
    initial, note = None, ""
    if spec.seeding == "gmid":
        from ota.sizing import gm_id_variants, spec_gm_range_s

        limits = spec.constraints
        gm_range_s = spec_gm_range_s(limits.gain_min_db, limits.bandwidth_min_hz, limits.gm_min_s, limits.gm_max_s)
        sizings, problems = gm_id_variants(
            spec.topology, spec.pop_size, spec.seed, job.conditions[0], gm_range_s=gm_range_s, bias_v=spec.bias_v,
        )
        if problems:
            start = "random start" if not sizings else f"{len(sizings)} sized"
            note = f"seeding: {len(problems)} of {spec.pop_size} gm/ID variants could not be sized ({start}); first reason: {problems[0]}"
        initial = seeded_population(sizings, spec, space, length_m) if sizings else None
    algorithm = build_nsga2(spec, initial)
    algorithm.setup(SizingProblem(spec, space), termination=("n_gen", spec.generations), verbose=False)
    return algorithm, note


def run_optimization(
    spec: RunSpec,
    store: RunStore,
    *,
    workers: int = 2,
    dask_address: str | None = None,
    progress: Callable[[ProgressInfo], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume: bool = True,
    main_simulates: bool = True,
) -> RunSummary:
    """Run (or continue) one optimization to its last generation, a stop request, or an error.
    ``main_simulates``: this process takes its share of each batch of a built-in topology
    (``optimizer.evaluation.simulation_backend``); False keeps every simulation in child processes."""
    spec, topology, conditions = _stored_or_prepared(spec, store, resume)
    _check_store(spec, store, resume)
    technology = conditions[0].technology
    job: SimulationJob | CircuitJob
    if spec.is_circuit:
        from optimizer.circuit_space import circuit_space

        job = CircuitJob(spec.circuit_package, conditions, circuit_space(topology, technology, conditions[0]))
    else:
        # the conditions were checked once, with the spec; the job, the seeding and the workers take them as they are
        job = SimulationJob.from_spec(spec, design_space(spec, topology, technology), conditions)
    try:
        # The workers start and load their circuits while this process sizes the seeded
        # population: on two cores that hides most of the start-up of a 20 x 50 run.
        with simulation_backend(job, workers, dask_address, main_simulates) as parallel:
            if isinstance(job, CircuitJob):
                session: _EvaluationSession = _CircuitSession(spec, store, job, parallel)
                start: Callable[[], tuple[Any, str]] = lambda: _new_circuit_algorithm(spec, job)
            else:
                session = _EvaluationSession(spec, store, job, parallel)
                start = lambda: _new_algorithm(spec, job, technology.length_m)
            return _run_generations(spec, store, start, session, progress, should_stop)
    except BaseException as exc:
        store.set_status(*_failure(exc))
        raise


def _new_circuit_algorithm(spec: RunSpec, job: CircuitJob) -> tuple[Any, str]:
    """NSGA-II on a circuit's mixed space, and what the seeded start could not size ('' if all):
    ``seeding: gmid`` starts from the gm/ID-seeded design (``circuits.gmid.seed_design``: each w
    variable whose devices have a role sized to its gm/ID at the nominal design's operating point,
    at the run's first condition) and spread copies of it; ``random`` from uniform rows."""
    from optimizer.circuit_space import random_rows, seeded_rows

    circuit, space = spec.circuit_object, job.space
    note = ""
    if spec.seeding == "gmid":
        seeding = seeded_design(spec, job)
        note = f"seeding: {seeding.summary()}"
        initial = seeded_rows(space, space.encode(seeding.columns), spec.pop_size, spec.operators.seed_spread, spec.seed)
    else:
        initial = random_rows(space, spec.pop_size, spec.seed)
    algorithm = build_nsga2(spec, initial, space)
    algorithm.setup(circuit_problem.CircuitProblem(circuit, space), termination=("n_gen", spec.generations), verbose=False)
    return algorithm, note


def seeded_design(spec: RunSpec, job: CircuitJob) -> Any:
    """The gm/ID-seeded start of a circuit run (``circuits.gmid.Seeding``); the operating points
    come from this process's own bench at the first condition (a bench that does not load leaves
    every value nominal: the workers then report the load failure)."""
    from circuits.benches import open_bench
    from circuits.gmid import Seeding, seed_design
    from engine import SimulationError

    circuit, space = spec.circuit_object, job.space
    try:
        bench = open_bench(circuit, job.conditions[0], operating_points=True)
    except (SimulationError, ValueError) as exc:
        return Seeding(space.nominal_columns(), {}, [f"the testbench did not load ({str(exc).strip()[:200]})"])
    with bench:
        return seed_design(circuit, space, bench)


def _failure(exc: BaseException) -> tuple[str, str]:
    """The status and message of a run that stopped on ``exc``: a ValueError is bad input (a spec
    or technology the checks at the edge could not see), which the same run would meet again."""
    if isinstance(exc, KeyboardInterrupt):
        return "cancelled", "interrupted; resume to continue"
    if isinstance(exc, CircuitLoadError):
        return "failed", str(exc)  # ngspice's words, and that resuming cannot help
    if isinstance(exc, ValueError):
        return "failed", f"{type(exc).__name__}: {exc}; resuming cannot fix this: correct the input and start a new run"
    return "failed", f"{type(exc).__name__}: {exc}; resume to continue"


def _run_generations(
    spec: RunSpec,
    store: RunStore,
    new_algorithm: Callable[[], tuple[Any, str]],
    session: _EvaluationSession,
    progress: Callable[[ProgressInfo], None] | None,
    should_stop: Callable[[], bool] | None,
) -> RunSummary:
    checkpoint = store.last_checkpoint()
    if checkpoint is not None:
        state = checkpoints.loads(checkpoint[1])
        algorithm, session.next_index, generation = state["algorithm"], state["next_index"], checkpoint[0] + 1
    else:
        (algorithm, session.seeding_note), generation = new_algorithm(), 0
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
            monte_carlo_samples=session.followups.monte_carlo_samples, monte_carlo_skipped=session.followups.monte_carlo_skipped,
            emulator_runs=session.followups.emulator_runs, emulator_skipped=session.followups.emulator_skipped,
            ac_skipped=session.ac_skipped,
        )

    store.set_status("running", f"generation {generation} of {spec.generations}")
    done = None  # the last generation's checkpoint, stored (with its records) while the next one simulates
    stopped = False
    try:
        while algorithm.has_next():
            if should_stop is not None and should_stop():
                stopped = True
                break
            session.generation = generation
            offspring: Population = algorithm.ask()
            session.write(done)
            done = None
            algorithm.evaluator.eval(algorithm.problem, offspring)
            # Python ints: a numpy int64 per individual cost 3 us each in every checkpoint's pickle
            offspring.set("index", session.last_indices)
            algorithm.tell(infills=offspring)
            hypervolume, front = (
                circuit_population_front(algorithm.pop, algorithm.problem, spec) if spec.is_circuit else population_front(algorithm.pop, spec)
            )
            # pymoo keeps the last offspring only to report it; a checkpoint without the ones that did
            # not survive is 69 instead of 116 kB for 100 x 100 in plain pickle (1.5 instead of 2.8 ms)
            algorithm.off = None
            state = {"format": CHECKPOINT_FORMAT, "algorithm": algorithm, "next_index": session.next_index}
            done = (generation, checkpoints.dumps(state), hypervolume, front)
            generation += 1
            if progress is not None:
                elapsed = time.perf_counter() - started
                progress(ProgressInfo(
                    generation=generation - 1, generations=spec.generations, evaluations=session.next_index,
                    evaluations_per_s=(session.simulated + session.cached) / elapsed if elapsed > 0 else math.nan,
                    feasible_count=int(np.sum(algorithm.pop.get("feas"))), hypervolume=hypervolume,
                    eta_s=elapsed / (generation - first_generation) * (spec.generations - generation),
                    ac_skipped=session.ac_skipped,
                ))
    except BaseException:
        with contextlib.suppress(Exception):  # the run's own error is the one to report
            session.finish(done)  # what was simulated is stored whatever ended the run
        raise
    finally:
        algorithm.problem.evaluate_batch = None
    session.finish(done)
    if stopped:
        store.set_status("cancelled", f"stopped after generation {generation - 1}; resume to continue")
        return summary("cancelled")
    note = f"; {session.seeding_note}" if session.seeding_note else ""
    skipped = f", {session.ac_skipped} AC analyses skipped (DC sweep out of the limits)" if session.ac_skipped else ""
    store.set_status("finished", f"{spec.generations} generations, {session.next_index} evaluations{skipped}{note}")
    return summary("finished")
