"""Where candidates are simulated: in this process, in N local worker processes, or on Dask.

Workers receive candidates (integer lists), never simulators. Each worker process keeps its own
``OtaTestbench`` per (corner, temperature), created once (pool initializer, or on first use on
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
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from pymoo.core.problem import LoopedElementwiseEvaluation
from pymoo.parallelization import DaskParallelization

from engine import SimulationError
from optimizer.spec import RunSpec

Parallelization = Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]]
LOCAL_DASK = "local"

# One testbench per (topology, technology, corner, temperature) in each worker process. The
# lock keeps a multi-threaded Dask worker from entering ngspice twice at once (not re-entrant).
_TESTBENCHES: dict[tuple[str, str, str, float], Any] = {}
_LOAD_FAILURES: dict[tuple[str, str, str, float], str] = {}  # key -> why it did not load
STORED_CURVES = ("vin_v", "iout_a")  # the swept vectors a run keeps per candidate (the Iout-Vin plots)
_LOCK = threading.Lock()


NOT_RESUMABLE = "The run is not resumable: fix the technology's model files (or choose another technology), then start a new run."


class CircuitLoadError(SimulationError):
    """The run's circuit does not load, so no candidate can be simulated: the run ends, and
    resuming it cannot help until the technology's model files (or its registration) are fixed."""


def _testbench(topology: str, technology: str, corner: str, temp_c: float) -> Any:
    """The process's testbench for one condition; a load that failed once fails again at once,
    without re-reading the models (a sky130 load takes about 10 s)."""
    from ota.testbench import OtaTestbench  # imported in the worker, where it is used

    key = (topology, technology, corner, temp_c)
    if key not in _TESTBENCHES and key not in _LOAD_FAILURES:
        try:
            _TESTBENCHES[key] = OtaTestbench(topology=topology, technology=technology, corner=corner, temp_c=temp_c)
        except Exception as exc:  # anything: a worker that raises at start-up is respawned, forever
            reason = str(exc) if isinstance(exc, SimulationError) else f"{type(exc).__name__}: {exc}"
            _LOAD_FAILURES[key] = (
                f"the {topology} circuit does not load in technology {technology!r} at corner {corner}, "
                f"{temp_c:g} degC: {reason}\n{NOT_RESUMABLE}"
            )
    if key in _LOAD_FAILURES:
        raise CircuitLoadError(_LOAD_FAILURES[key])
    return _TESTBENCHES[key]


@dataclass(frozen=True)
class SimulationJob:
    """What a worker needs to simulate candidates of one run: names and numbers only (picklable)."""

    topology: str
    technology: str
    conditions: tuple[tuple[str, float], ...]

    @classmethod
    def from_spec(cls, spec: RunSpec) -> "SimulationJob":
        return cls(spec.topology, spec.technology, tuple(spec.conditions))

    def warm_up(self) -> None:
        """Load every condition's circuit once, before timing starts; ``CircuitLoadError`` if one does not load."""
        with _LOCK:
            for corner, temp_c in self.conditions:
                _testbench(self.topology, self.technology, corner, temp_c)

    def start_worker(self) -> None:
        """The pool initializer: ``warm_up``, keeping a load failure for the candidates to raise
        (in the parent, with ngspice's words) rather than dying with it."""
        with contextlib.suppress(CircuitLoadError):
            self.warm_up()

    def __call__(self, var: Sequence[int]) -> dict[str, Any]:
        """Simulate one candidate at every condition; stop at the first that fails (it cannot be feasible).

        A circuit that does not load is answered, not raised (``load_error``): a Dask worker logs
        every task that raises, and the parent raises it once (``simulation_backend``)."""
        started = time.perf_counter()
        results = []
        with _LOCK:
            for corner, temp_c in self.conditions:
                try:
                    testbench = _testbench(self.topology, self.technology, corner, temp_c)
                except CircuitLoadError as exc:
                    return {"load_error": str(exc)}
                results.append(testbench.evaluate([int(v) for v in var]).to_dict(curves=STORED_CURVES))
                if not results[-1]["converged"]:
                    break
        return {
            "results": results,
            "skipped": len(self.conditions) - len(results),
            "wall_time_s": time.perf_counter() - started,
        }


@contextlib.contextmanager
def simulation_backend(job: SimulationJob, workers: int = 1, dask_address: str | None = None) -> Iterator[Parallelization]:
    """A parallelization callable for the run's lifetime.

    ``dask_address`` None: ``workers`` local processes (1 = in this process); ``"local"``: a Dask
    ``LocalCluster`` of ``workers`` single-threaded processes; anything else: the address of an
    existing Dask scheduler (``tcp://host:8786``) whose workers have gmopt installed.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if dask_address:
        with _dask_client(dask_address, workers) as client:
            yield _raising_load_errors(DaskParallelization(client))
    elif workers == 1:
        job.warm_up()
        yield LoopedElementwiseEvaluation()
    else:
        # spawn, not fork: a parent that already holds a libngspice session must not be copied.
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=job.start_worker)
        try:
            # A spawning pool starts a process per task while none is idle: one no-op each starts
            # them all now, so they load their circuits while this process sizes the seeded population.
            for _ in range(workers):
                pool.submit(int)
            # one candidate per task (map's chunksize 1): simulation times vary 5x between
            # candidates, so larger chunks leave one worker idle at the end of every generation
            yield _raising_load_errors(lambda f, X: list(pool.map(f, X)))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


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
            raise ValueError(f"cannot reach the Dask scheduler at {address!r}: {exc}") from exc
        with client:
            yield client
