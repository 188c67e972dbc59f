"""NSGA-II sizing runs: (a) the paper's 20 x 50 fig7 run on 1 and 2 workers against the naive
flow (a fresh ``ngspice -b`` per candidate on the exported netlist), (b) gm/ID-seeded against
random start: evaluations the seeded run needs to reach the random run's final hypervolume."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from engine.batch import ngspice_binary
from optimizer.file_store import FileRunStore
from optimizer.runner import run_optimization
from optimizer.spec import RunSpec
from ota.netlist import standalone_netlist
from ota.sizing import first_sizing

TOPOLOGY = "fig7"
SEEDS = (1, 2, 3, 4, 5)


def _timed_run(spec: RunSpec, folder: Path, workers: int) -> dict[str, float]:
    started = time.perf_counter()
    summary = run_optimization(spec, FileRunStore(folder), workers=workers)
    return {
        "wall_s": time.perf_counter() - started, "evaluations": summary.evaluations, "simulated": summary.simulated,
        "skipped_repeats": summary.cached, "hypervolume": summary.hypervolume, "front": summary.front_size,
    }


def _naive_flow(candidates: list[list[int]], folder: Path) -> float:
    """What the optimization replaces: write the exported deck and start ``ngspice -b`` per candidate."""
    binary = ngspice_binary()
    started = time.perf_counter()
    for number, var in enumerate(candidates):
        deck = folder / f"candidate{number}.cir"
        deck.write_text(standalone_netlist(TOPOLOGY, var))
        subprocess.run([binary, "-b", str(deck)], capture_output=True, text=True, timeout=120, cwd=folder)
    return time.perf_counter() - started


def speed(folder: Path) -> dict[str, float]:
    spec = RunSpec(topology=TOPOLOGY, seed=1)
    one = _timed_run(spec, folder / "one", workers=1)
    two = _timed_run(spec, folder / "two", workers=2)
    records = FileRunStore(folder / "two").evaluations()
    candidates = [record.var for record in records]
    naive_s = _naive_flow(candidates, folder)
    return {
        "evaluations": two["evaluations"], "skipped_repeats": two["skipped_repeats"],
        "failed_simulations": sum(not record.converged for record in records), "feasible": sum(r.feasible for r in records),
        "one_worker_s": one["wall_s"], "two_workers_s": two["wall_s"], "naive_s": naive_s,
        "naive_over_two_workers": naive_s / two["wall_s"], "one_over_two_workers": one["wall_s"] / two["wall_s"],
        "first_sizing": first_sizing(TOPOLOGY),
    }


def _evaluations_to_reach(store: FileRunStore, target: float, pop_size: int) -> int | None:
    for generation, hypervolume in store.hypervolumes():
        if target > 0 and hypervolume >= target:
            return (generation + 1) * pop_size
    return None


def _first_feasible(store: FileRunStore) -> int | None:
    return next((record.index for record in store.evaluations() if record.feasible), None)


def seeding(folder: Path) -> dict[str, object]:
    """Per seed: a random start and the gm/ID-seeded start (first sizing + gm/ID variants)."""
    rows = []
    for seed in SEEDS:
        base = {"topology": TOPOLOGY, "seed": seed}  # the default spec: eq. 11 and Table 1
        stores = {}
        for seeding_kind in ("random", "gmid"):
            stores[seeding_kind] = FileRunStore(folder / f"{seeding_kind}-{seed}")
            run_optimization(RunSpec.parse({**base, "seeding": seeding_kind}), stores[seeding_kind], workers=2)
        random_final = stores["random"].hypervolumes()[-1][1]
        needed = _evaluations_to_reach(stores["gmid"], random_final, 20)
        rows.append({
            "seed": seed, "random_final_hv": random_final, "seeded_final_hv": stores["gmid"].hypervolumes()[-1][1],
            # None: the random run found nothing feasible (no target) or the seeded run never got there
            "seeded_fraction": None if needed is None else needed / len(stores["random"].evaluations()),
            "random_first_feasible": _first_feasible(stores["random"]),
            "seeded_first_feasible": _first_feasible(stores["gmid"]),
        })
    return {"runs": rows}


def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="gmopt-bench-optimizer-") as tmp:
        folder = Path(tmp)
        figures = {"speed": speed(folder / "speed"), "seeding": seeding(folder / "seeding")}
    s = figures["speed"]
    print(f"(a) fig7, 20 x 50 = {s['evaluations']} evaluations ({s['skipped_repeats']} repeats answered without simulating,"
          f" {s['failed_simulations']} failed simulations, {s['feasible']} feasible)")
    print(f"    naive ngspice -b per candidate : {s['naive_s']:8.1f} s")
    print(f"    gmopt, 1 worker                : {s['one_worker_s']:8.1f} s")
    print(f"    gmopt, 2 workers               : {s['two_workers_s']:8.1f} s   naive/2w {s['naive_over_two_workers']:.1f}x (goal >= 5x),"
          f" 1w/2w {s['one_over_two_workers']:.2f}x (goal >= 1.6x)")
    print("(b) seeded vs random start (fig7, default spec): final HV, evaluations the seeded run needs"
          " to reach the random run's final HV (fraction of the random run's), first feasible evaluation")
    for row in figures["seeding"]["runs"]:
        reached = "-" if row["seeded_fraction"] is None else f"{row['seeded_fraction']:.0%}"
        print(f"    seed {row['seed']}: random HV {row['random_final_hv']:.4f} (first feasible {row['random_first_feasible']});"
              f" seeded HV {row['seeded_final_hv']:.4f} (first feasible {row['seeded_first_feasible']}); needed {reached}")
    return figures
