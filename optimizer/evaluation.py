"""Where candidates are simulated: in this process, in N local worker processes, or on Dask.

Workers receive candidates (rows of numbers), never simulators. Each worker process keeps its own
``OtaTestbench`` (an OTA run) or catalog bench (a circuit run: ``CircuitJob``) per (corner,
temperature), created once (pool initializer, or on first use on
a Dask worker) and reused for every candidate. The three back-ends are parallelization
callables ``run(f, X) -> list`` (pymoo's, or one over a process pool), so swapping one for
another is one argument.

A circuit that ngspice cannot load (a broken model file, a device outside every bin) fails every
candidate the same way, so it ends the run once, with ngspice's words (``CircuitLoadError``). A
worker remembers the failure instead of dying: a multiprocessing.Pool respawns a worker whose
initializer raised, forever (40 respawns in 40 s, each re-reading the models, and the run never
ended). The local pool is a ``concurrent.futures`` one for the same reason: a worker that dies
outright (ngspice crashed) breaks it with ``BrokenProcessPool`` instead of being respawned.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine import SimulationError
from engine import processes
from lut.technology import Condition
from optimizer import batch_sharing

if TYPE_CHECKING:  # a worker unpickles its job from this module: it imports only what simulating needs
    from optimizer.circuit_space import CircuitSpace
    from optimizer.space import DesignSpace
    from optimizer.spec import RunSpec

Parallelization = Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]]
LOCAL_DASK = "local"

# One testbench per (topology, technology, corner, temperature) in each worker process. The
# lock keeps a multi-threaded Dask worker from entering ngspice twice at once (not re-entrant).
_TESTBENCHES: dict[tuple, Any] = {}
# The swept vectors a run keeps per candidate, at its first condition: the Iout-Vin sweep (41 points)
# and the open-loop AC response (101 points) for the Bode plot. In JSON that is about 1.8 kB + 6.2 kB
# per evaluation (docs/service.md, "Storage").
STORED_CURVES = ("vin_v", "iout_a", "freq_hz", "ac_magnitude_db", "ac_phase_deg")
_LOAD_FAILURES: dict[tuple, str] = {}  # key -> why it did not load
_LOCK = threading.Lock()


NOT_RESUMABLE = "The run is not resumable: fix the technology's model files (or choose another technology), then start a new run."


class CircuitLoadError(SimulationError):
    """The run's circuit does not load, so no candidate can be simulated: the run ends, and
    resuming it cannot help until the technology's model files (or its registration) are fixed."""


def _loaded(key: tuple, what: str, condition: Condition, load: Callable[[], Any]) -> Any:
    """This worker's testbench under ``key``, made by ``load`` on first use. A load that failed once
    fails again at once, without re-reading the models (a sky130 load takes about 10 s); ``what``
    names the circuit in the message."""
    if key not in _TESTBENCHES and key not in _LOAD_FAILURES:
        try:
            _TESTBENCHES[key] = load()
        except Exception as exc:  # anything: a worker that raises at start-up is respawned, forever
            reason = str(exc) if isinstance(exc, SimulationError) else f"{type(exc).__name__}: {exc}"
            _LOAD_FAILURES[key] = (
                f"{what} does not load in technology {condition.technology.name!r} at corner {condition.corner}, "
                f"{condition.temp_c:g} degC: {reason}\n{NOT_RESUMABLE}"
            )
    if key in _LOAD_FAILURES:
        raise CircuitLoadError(_LOAD_FAILURES[key])
    return _TESTBENCHES[key]


def _testbench(topology: str, condition: Condition, bias_v: tuple[tuple[str, float], ...],
               length_labels: tuple[str, ...], shiftable: bool = False) -> Any:
    """This worker's OTA testbench; a Monte Carlo gets its own ``shiftable`` one (loaded on first
    use), so nominal evaluations keep their deck."""
    from ota.testbench import OtaTestbench  # imported in the worker, where it is used

    return _loaded(
        (topology, condition, bias_v, length_labels, shiftable), f"the {topology} circuit", condition,
        lambda: OtaTestbench(topology=topology, technology=condition, bias_v=dict(bias_v), length_labels=length_labels, shiftable=shiftable),
    )


@dataclass(frozen=True)
class SimulationJob:
    """What a worker needs to simulate candidates of one run: names and numbers only (picklable:
    a ``Condition`` travels as its names, and a worker process resolves them against its own
    registry)."""

    topology: str
    conditions: tuple[Condition, ...]
    bias_v: tuple[tuple[str, float], ...]
    space: DesignSpace
    screen: Any = None  # an ota.testbench.DcScreen: skip the AC analysis of a candidate its DC sweep rules out

    @classmethod
    def from_spec(cls, spec: RunSpec, space: DesignSpace, conditions: Sequence[Condition]) -> "SimulationJob":
        """From a spec resolved by ``optimizer.runner.prepare_run`` (its bias voltages are set) and
        its ``conditions``, in the order of ``spec.conditions``; with ``spec.screen_dc`` candidates
        are screened on the spec's offset limit and saturation requirement before their AC analysis."""
        from ota.testbench import DcScreen

        if spec.bias_v is None:
            raise ValueError("the run spec's bias voltages are not resolved: pass it through optimizer.runner.prepare_run")
        screen = DcScreen(spec.constraints.offset_max_v, spec.constraints.require_saturation) if spec.screen_dc else None
        return cls(spec.topology, tuple(conditions), tuple(sorted(spec.bias_v.items())), space, screen)

    @classmethod
    def widths_only(cls, topology: str, condition: Condition, bias_v: Mapping[str, float]) -> "SimulationJob":
        """A job for designs outside a run (a Monte Carlo of one design): one condition, rows of widths only."""
        from optimizer.space import DesignSpace
        from ota.topology import get_topology

        tech, shape = condition.technology, get_topology(topology)
        space = DesignSpace(tuple(v.label for v in shape.variables), tech.var_bounds, tech.grid_m)
        return cls(shape.name, (condition,), tuple(sorted(bias_v.items())), space)

    def _testbench(self, condition: Condition) -> Any:
        return _testbench(self.topology, condition, self.bias_v, self.space.length_labels)

    def warm_up(self) -> None:
        """Load every condition's circuit once, before timing starts; ``CircuitLoadError`` if one does not load."""
        with _LOCK:
            for condition in self.conditions:
                self._testbench(condition)

    def start_worker(self) -> None:
        """The pool initializer: ``warm_up``, keeping a load failure for the candidates to raise
        (in the parent, with ngspice's words) rather than dying with it."""
        with contextlib.suppress(CircuitLoadError):
            self.warm_up()

    def __call__(self, row: Sequence[int]) -> dict[str, Any]:
        """Simulate one candidate (a row of the design space) at every condition; stop at the
        first that fails (it cannot be feasible).

        A circuit that does not load is answered, not raised (``load_error``): a Dask worker logs
        every task that raises, and the parent raises it once (``simulation_backend``)."""
        started = time.perf_counter()
        candidate = self.space.split(row)
        results = []
        with _LOCK:
            for condition in self.conditions:
                try:
                    testbench = self._testbench(condition)
                except CircuitLoadError as exc:
                    return {"load_error": str(exc)}
                result = testbench.evaluate(list(candidate.var), dict(candidate.lengths_m), dict(candidate.bias_v) or None, screen=self.screen)
                results.append(result.to_dict(curves=STORED_CURVES))
                if not results[-1]["converged"]:
                    break
        return {
            "results": results,
            "skipped": len(self.conditions) - len(results),
            "wall_time_s": time.perf_counter() - started,
        }


def _circuit_bench(package: str, condition: Condition) -> Any:
    """This worker's bench of a circuit package at one condition, loaded once (keyed by the
    package's text, so two runs of the same text share it; Python keeps a string's hash, so the
    per-candidate look-up does not re-hash the text)."""
    from circuits.benches import open_bench
    from circuits.library import parsed

    circuit = parsed(package, "the run's circuit package")  # validated by the run's spec already
    return _loaded(("circuit", package, condition), f"circuit {circuit.name}", condition, lambda: open_bench(circuit, condition))


@dataclass(frozen=True)
class CircuitJob:
    """What a worker needs to simulate candidates of a circuit run: the package's exact text (each
    worker parses it once), the conditions and the design space. A candidate's answer is as
    ``SimulationJob``'s: one ``BenchResult.to_dict`` per condition (curves at the first only), or
    ``load_error``."""

    package: str
    conditions: tuple[Condition, ...]
    space: CircuitSpace

    def warm_up(self) -> None:
        """Load every condition's bench once; ``CircuitLoadError`` if one does not load."""
        with _LOCK:
            for condition in self.conditions:
                _circuit_bench(self.package, condition)

    def start_worker(self) -> None:
        with contextlib.suppress(CircuitLoadError):
            self.warm_up()

    def __call__(self, row: Sequence[float]) -> dict[str, Any]:
        started = time.perf_counter()
        sized = self.space.sized(row)
        values = self.space.bench_values(sized.design)
        results = []
        with _LOCK:
            for position, condition in enumerate(self.conditions):
                try:
                    bench = _circuit_bench(self.package, condition)
                except CircuitLoadError as exc:
                    return {"load_error": str(exc)}
                if sized.error:  # an electrical group's width not found: scored as a failed simulation
                    from circuits.benches import BenchResult

                    results.append(BenchResult(False, sized.error, dict.fromkeys(bench.measures, math.nan)).to_dict(curves=False))
                else:
                    results.append(bench.evaluate(values).to_dict(curves=position == 0))
                if not results[-1]["converged"]:
                    break
        return {
            "results": results, "skipped": len(self.conditions) - len(results), "wall_time_s": time.perf_counter() - started,
            "design": sized.design, "notes": sized.notes,
        }


@dataclass(frozen=True)
class SampleJob:
    """Monte Carlo samples of one candidate at one condition, in the worker's loaded testbench.

    A task is ``(row, [shifts, ...])``: a row of ``space``, then one per-device shift mapping per sample
    (``ota.testbench.SHIFTS``); the answer is one scalar result dict per sample. Samples
    are drawn by the caller, so the numbers do not depend on how tasks are spread over workers.
    """

    topology: str
    condition: Condition
    bias_v: tuple[tuple[str, float], ...]
    space: DesignSpace

    def __call__(self, task: tuple[Sequence[int], Sequence[dict[str, dict[str, float]]]]) -> list[dict[str, Any]]:
        row, samples = task
        candidate = self.space.split(row)
        with _LOCK:
            testbench = _testbench(self.topology, self.condition, self.bias_v, self.space.length_labels, shiftable=True)
            return [
                testbench.evaluate(list(candidate.var), dict(candidate.lengths_m), dict(candidate.bias_v) or None, shifts).to_dict(curves=False)
                for shifts in samples
            ]


@dataclass(frozen=True)
class EmulatorJob:
    """The memristor emulator's loop of one candidate at one frequency (a task is ``(var, freq_hz)``),
    in the worker's emulator session; a failed transient is a result (``converged`` False), never a crash."""

    topology: str
    technology: str
    corner: str
    temp_c: float

    def __call__(self, task: tuple[Sequence[int], float]) -> dict[str, Any]:
        from engine import SimulationError
        from neuromorphic.emulator import EmulatorOptions, run_emulator

        var, freq_hz = task
        with _LOCK:
            try:
                loop = run_emulator(self.topology, [int(v) for v in var], self.technology, self.corner, self.temp_c,
                                    options=EmulatorOptions(freq_hz=float(freq_hz)))
            except (SimulationError, ArithmeticError) as exc:
                return {"converged": False, "error": str(exc), "freq_hz": float(freq_hz)}
        return {"converged": True, "freq_hz": float(freq_hz), **loop.to_dict(include_loop=False), "loop_asymmetry": loop.loop_asymmetry}


@contextlib.contextmanager
def simulation_backend(
    job: SimulationJob | CircuitJob, workers: int = 1, dask_address: str | None = None, main_simulates: bool = True,
) -> Iterator[Parallelization]:
    """A parallelization callable for the run's lifetime.

    ``dask_address`` None: ``workers`` local simulating processes (1 = this process alone; more:
    this process and ``workers - 1`` children for a built-in topology with ``main_simulates``, else
    ``workers`` children; without ``main_simulates`` even 1 is a child); ``"local"``: a Dask
    ``LocalCluster`` of ``workers`` single-threaded processes; anything else: the address of an
    existing Dask scheduler (``tcp://host:8786``) whose workers have gmopt installed.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if dask_address:
        with _dask_client(dask_address, workers) as client:
            from pymoo.parallelization import DaskParallelization

            yield _raising_load_errors(DaskParallelization(client))
    elif workers == 1 and main_simulates:
        from pymoo.core.problem import LoopedElementwiseEvaluation

        job.warm_up()
        yield LoopedElementwiseEvaluation()
    else:
        # A built-in topology's candidates are shared with this process (``batch_sharing``): it
        # would otherwise wait idle for each batch. A circuit package is the user's text, so its
        # candidates run in child processes only, and so do all of a caller's that must outlive a
        # hard ngspice failure (the service's worker: ``main_simulates`` False): the pool breaks and
        # the run fails with a message, instead of taking down the process that runs it.
        shared = main_simulates and isinstance(job, SimulationJob)
        children = workers - 1 if shared else workers
        board = batch_sharing.new_board(processes.context())
        pool = processes.pool(children, batch_sharing.start_worker, (job.start_worker,), inherited=(board,))
        loaded_before = set(_TESTBENCHES)
        warm_up = threading.Thread(target=job.start_worker, name="gmopt-warm-up", daemon=True)
        try:
            # A pool starts a process per task while none is idle: one no-op each starts
            # them all now, so they load their circuits while this process sizes the seeded population.
            for _ in range(children):
                pool.submit(int)
            if shared:  # and this process loads its own while it sizes them (ngspice parses with the GIL released)
                warm_up.start()
            run: Parallelization = lambda f, X: batch_sharing.share(pool, children, board, f, X, here=shared)
            yield _raising_load_errors(run)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            # the testbenches this process loaded for the run go with it, as a worker's do: a process
            # running one run after another would otherwise keep one per topology, condition and bias
            if warm_up.is_alive():
                warm_up.join()
            with _LOCK:
                for key in set(_TESTBENCHES) - loaded_before:
                    _TESTBENCHES.pop(key).close()


def _raising_load_errors(parallel: Parallelization) -> Parallelization:
    """``parallel`` that raises the first candidate's ``load_error`` as ``CircuitLoadError``, once."""

    def run(f: Callable[[Any], Any], X: Sequence[Any]) -> list[Any]:
        answers = parallel(f, X)
        failure = next((answer["load_error"] for answer in answers if "load_error" in answer), None)
        if failure is not None:
            raise CircuitLoadError(failure)
        return answers

    return run


@contextlib.contextmanager
def _dask_client(address: str, workers: int) -> Iterator[Any]:
    from dask.distributed import Client, LocalCluster

    if address == LOCAL_DASK:
        with LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster, Client(cluster) as client:
            yield client
    else:
        try:
            client = Client(address, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise ConnectionError(f"cannot reach the Dask scheduler at {address!r}: {exc}") from exc
        with client:
            yield client
