"""Run many emulator/neuron cases in worker processes, one ngspice session per process.

The initializer opens each worker's session once; cases travel as plain keyword arguments and
results come back as ``to_dict()`` dictionaries, so no simulator object is ever pickled. A case
whose simulation fails comes back with an ``error`` entry instead of stopping the others, plus
``timed_out`` when it hit its time limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict

from engine import SimulationError, SimulationTimeout, processes
from neuromorphic.circuit import engine
from neuromorphic.emulator import EmulatorOptions, run_emulator
from neuromorphic.neuron import NeuronOptions, run_neuron, run_probe

Progress = Callable[[int, int], None]
MAX_ATTEMPTS = 3


def _init_worker() -> None:
    engine()


def _outcome(case: dict, simulate: Callable[[], dict]) -> dict:
    try:
        return {**case, "result": simulate()}
    except SimulationTimeout as exc:
        return {**case, "error": str(exc), "timed_out": True}
    except SimulationError as exc:
        return {**case, "error": str(exc)}


def neuron_case(case: dict) -> dict:
    """One neuron run from plain arguments (``options`` as a dict of NeuronOptions fields)."""
    arguments = dict(case)
    arguments["options"] = NeuronOptions(**arguments.get("options", {}))
    return _outcome(case, lambda: run_neuron(**arguments).to_dict())


def probe_case(case: dict) -> dict:
    """The neuron's oscillation probe from the same plain arguments (waveforms kept for a figure)."""
    arguments = dict(case)
    arguments["options"] = NeuronOptions(**arguments.get("options", {}))
    return _outcome(case, lambda: run_probe(**arguments).to_dict(include_waveforms=True))


def emulator_case(case: dict) -> dict:
    """One emulator run from plain arguments (``options`` as a dict of EmulatorOptions fields)."""
    arguments = dict(case)
    arguments["options"] = EmulatorOptions(**arguments.get("options", {}))
    return _outcome(case, lambda: run_emulator(**arguments).to_dict(include_loop=False))


def run_cases(function: Callable[[dict], dict], cases: Sequence[dict], workers: int = 2, progress: Progress | None = None) -> list[dict]:
    """Every case through ``function`` in ``workers`` processes; results in the order of ``cases``."""
    if workers < 1:
        raise ValueError("use at least one worker process")
    results: list[dict | None] = [None] * len(cases)
    attempts = [0] * len(cases)
    pending = list(range(len(cases)))
    while pending:
        # ngspice can abort its process when a run is halted mid-step ("spSolve: Assertion ...
        # IS_FACTORED", seen about once in 10 Table 10 runs at a 0.05 s limit): the pool breaks,
        # and every case it had not answered goes to a fresh pool, each at most MAX_ATTEMPTS times.
        with processes.pool(min(workers, len(pending)), _init_worker) as pool:
            futures = {pool.submit(function, cases[index]): index for index in pending}
            pending = []
            for future in as_completed(futures):
                index = futures[future]
                attempts[index] += 1
                try:
                    results[index] = future.result()
                except BrokenProcessPool as exc:
                    if attempts[index] < MAX_ATTEMPTS:
                        pending.append(index)
                        continue
                    results[index] = {**cases[index], "error": f"the simulator process died {attempts[index]} times ({exc})"}
                if progress is not None:
                    progress(sum(result is not None for result in results), len(cases))
        pending.sort()
    return [result for result in results if result is not None]


def options_dict(options: EmulatorOptions | NeuronOptions | None) -> dict:
    return asdict(options) if options is not None else {}
