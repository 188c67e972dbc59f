"""OTA evaluations per second: the persistent session (alterparam + reset + dc/ac) against a
fresh ``ngspice -b`` per candidate (the batch back-end, same netlist), and against the bare
analyses of an already-loaded circuit (the floor a persistent session can approach)."""

from __future__ import annotations

import resource
import time

import numpy as np

from engine import open_engine
from gmopt import paper
from lut.technology import GENERIC180
from ota.netlist import ANALYSES, testbench_netlist
from ota.testbench import OtaTestbench
from ota.topology import get_topology

TOPOLOGY = "fig7"
CANDIDATES = 40
BATCH_CANDIDATES = 12


def _candidates(count: int) -> list[list[int]]:
    """Table 5 widths scattered by +-30 %: realistic candidates that all converge."""
    reference = np.array(get_topology(TOPOLOGY).var_from_um(paper.TABLE5_WIDTHS_UM[TOPOLOGY]))
    rng = np.random.default_rng(7)
    low, high = paper.VAR_BOUNDS
    return [np.clip(np.rint(reference * rng.uniform(0.7, 1.3, reference.size)), low, high).astype(int).tolist()
            for _ in range(count)]


def _clocks() -> tuple[float, float]:
    """Wall time and CPU time of this process plus its finished children (the ngspice -b runs).

    CPU time is the fair measure on a machine shared with other jobs: wall time there mostly
    measures the others."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.perf_counter(), time.process_time() + children.ru_utime + children.ru_stime


def _per_candidate(work, count: int) -> tuple[float, float]:
    wall, cpu = _clocks()
    work()
    wall_end, cpu_end = _clocks()
    return (wall_end - wall) / count, (cpu_end - cpu) / count


def _cost(backend: str, candidates: list[list[int]]) -> tuple[float, float]:
    with OtaTestbench(TOPOLOGY, backend=backend) as bench:  # type: ignore[arg-type]
        bench.evaluate(candidates[0])  # warm-up: first run sets up the models
        results: list = []
        cost = _per_candidate(lambda: results.extend(bench.evaluate(var) for var in candidates), len(candidates))
    if not all(r.converged for r in results):
        raise RuntimeError(f"a benchmark candidate failed on the {backend} back-end")
    return cost


def _bare_cost(var: list[int], repeats: int) -> tuple[float, float]:
    with open_engine("shared") as engine:
        engine.load(testbench_netlist(TOPOLOGY, var, GENERIC180.at()))
        engine.run(ANALYSES)
        return _per_candidate(lambda: [engine.run(ANALYSES) for _ in range(repeats)], repeats)


def main() -> dict:
    candidates = _candidates(CANDIDATES)
    costs = {
        "shared": _cost("shared", candidates),
        "batch": _cost("batch", candidates[:BATCH_CANDIDATES]),
        "bare": _bare_cost(candidates[0], CANDIDATES),
    }
    figures: dict = {"topology": TOPOLOGY, "analyses": list(ANALYSES.values())}
    for name, (wall_s, cpu_s) in costs.items():
        figures[f"{name}_wall_s"], figures[f"{name}_cpu_s"] = wall_s, cpu_s
        figures[f"{name}_evals_per_s"] = 1 / wall_s
    for clock in ("wall", "cpu"):
        figures[f"speedup_shared_vs_batch_{clock}"] = figures[f"batch_{clock}_s"] / figures[f"shared_{clock}_s"]
        figures[f"shared_fraction_of_bare_{clock}"] = figures[f"bare_{clock}_s"] / figures[f"shared_{clock}_s"]
    labels = {
        "shared": "persistent session (alterparam+reset+run+measure)",
        "batch": "fresh ngspice -b per candidate",
        "bare": "bare analyses, circuit loaded, no changes",
    }
    print(f"   {TOPOLOGY}: {ANALYSES['dc']} + {ANALYSES['ac']}")
    print(f"   {'per candidate':52s} {'wall ms':>8s} {'CPU ms':>8s}")
    for name, label in labels.items():
        print(f"   {label:52s} {1e3 * figures[f'{name}_wall_s']:8.1f} {1e3 * figures[f'{name}_cpu_s']:8.1f}")
    for clock in ("wall", "cpu"):
        print(f"   {clock}: session {figures[f'speedup_shared_vs_batch_{clock}']:.1f}x faster than batch, "
              f"at {100 * figures[f'shared_fraction_of_bare_{clock}']:.0f} % of the bare-analysis rate")
    return figures


if __name__ == "__main__":
    main()
