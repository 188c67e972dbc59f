"""Start-up of ``gmopt optimize`` (fig7, 20 x 50, 2 workers, seed 1, generic180): from process
start to the first simulation, the whole run, and the peak memory of the main process and of one
worker; this code against an earlier commit (``BASELINE_COMMIT``), both timed in this run,
alternately, on the same machine.

Each run is a fresh process started as the ``gmopt`` console script starts (it imports
``gmopt.cli`` first, and so does the process workers start from: a spawned worker re-runs the
main script, the fork server of ``engine.processes`` imports it once), with a probe that stamps
the wall clock: the main process handing its first batch to the pool, each
worker ready (circuit loaded) and starting its first candidate. The baseline is the old tree
(``git archive``) put first on ``PYTHONPATH``, with its own data directory (its ``.npz`` caches);
both are warmed up first (tables built and re-sampled once, untimed). In-process figures beside
it: loading both tables and sizing the 20 seeds, and how many look-up passes that takes.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# main before the store writes behind the run and the batches shared with the main process
# (docs/benchmarks.md keeps the figures against ffbb186, before the memory-mapped tables)
BASELINE_COMMIT = "18544c1"
RUN = ["optimize", "--topology", "fig7", "--pop", "20", "--gens", "50", "--workers", "2", "--seed", "1"]
REPEATS = 5

# Run as a file, so that workers run its top level as they would the console script's (spawned: each; forked: the server).
PROBE = '''
import functools, json, multiprocessing, os, resource, sys, time
STARTED = time.time()
from gmopt.cli import app  # what the console script imports (workers too)
IMPORTED = time.time()
import optimizer.evaluation as evaluation
OUT = os.environ["GMOPT_PROBE_DIR"]

def peak_rss_kib():
    # VmHWM, not ru_maxrss: a process started by fork + exec keeps its parent's ru_maxrss (the
    # benchmark's own 1 GB when it runs after bench_optimizer), VmHWM starts again at exec
    return int(next(line for line in open("/proc/self/status") if line.startswith("VmHWM")).split()[1])

def mark(name, **extra):
    usage = resource.getrusage(resource.RUSAGE_SELF)  # CPU seconds: less at the mercy of the machine's load
    with open(os.path.join(OUT, f"{name}-{os.getpid()}.json"), "w") as handle:
        json.dump({"started": STARTED, "imported": IMPORTED, "cpu_s": usage.ru_utime + usage.ru_stime, **extra}, handle)

start_worker, call = evaluation.SimulationJob.start_worker, evaluation.SimulationJob.__call__
first = []

@functools.wraps(start_worker)  # the pool pickles the bound initializer by its name
def stamped_start(self):
    start_worker(self)
    if multiprocessing.parent_process() is not None:  # a worker, not the main process loading its own
        mark("ready", at=time.time())

calls = [0]

@functools.wraps(call)
def stamped_call(self, row):
    if not first:
        first.append(time.time())
        mark("first", at=first[0])
    calls[0] += 1
    if calls[0] % 50 == 0 and multiprocessing.parent_process() is not None:  # a worker's peak, kept as it grows
        mark("worker", rss_kib=peak_rss_kib())
    return call(self, row)

evaluation.SimulationJob.start_worker, evaluation.SimulationJob.__call__ = stamped_start, stamped_call

if __name__ == "__main__":
    import optimizer.runner as runner
    batch = runner._EvaluationSession.evaluate_batch

    def stamped_batch(self, X):
        if not first:
            first.append(time.time())
            mark("main", at=first[0], rss_kib=peak_rss_kib())
        return batch(self, X)

    runner._EvaluationSession.evaluate_batch = stamped_batch
    try:
        app(sys.argv[1:])
    except SystemExit as exc:
        if exc.code:
            raise
    mark("end", at=time.time(), main_rss_kib=peak_rss_kib())
'''

# In one process: both tables loaded, then the 20 seeds sized, with the look-up passes counted.
SEEDS = '''
import json, sys, time
started = time.perf_counter()
import lut.lookup as lookup
from lut.technology import GENERIC180
from ota.sizing import gm_id_variants
condition = GENERIC180.at()
imported = time.perf_counter()
for device in ("nmos", "pmos"):
    lookup.load_lut(condition, device)
loaded = time.perf_counter()
passes = [0]
evaluate = lookup.Lut._evaluate
def counted(self, *args, **kwargs):
    passes[0] += 1
    return evaluate(self, *args, **kwargs)
lookup.Lut._evaluate = counted
sizings, problems = gm_id_variants("fig7", 20, 1, condition)
sized = time.perf_counter()
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
figures = {"tables_s": loaded - imported, "seeds_s": sized - loaded, "passes": passes[0], "sizings": sizings,
           "peak_rss_mib": int(status["VmHWM"].split()[0]) / 1024,
           "private_rss_mib": int(status["RssAnon"].split()[0]) / 1024}
# vectorised throughput, as benchmarks/bench_lut.py measures it, on the cached table a run uses
import numpy as np
table = lookup.load_lut(condition, "nmos")
grid, rng = table.grid, np.random.default_rng(0)
for name, count, x in (("vgs", 1_000_000, lambda n: {"vgs": rng.uniform(0.0, 1.8, n)}),
                       ("gm_id", 200_000, lambda n: {"gm_id": rng.uniform(5.0, 20.0, n)})):
    bias = {"L": np.exp(rng.uniform(np.log(grid.length_m[0]), np.log(grid.length_m[-1]), count)),
            "VDS": rng.uniform(0.2, grid.vds[-1], count), "VSB": rng.uniform(grid.vsb_v[0], grid.vsb_v[-1], count), **x(count)}
    seconds = []
    for _ in range(3):  # the best of three: a shared machine only ever slows a pass down
        begun = time.perf_counter()
        table.lookup("ID_W", **bias)
        seconds.append(time.perf_counter() - begun)
    figures[f"lookup_{name}_points_per_s"] = count / min(seconds)
print(json.dumps(figures))
'''


def _tree(kind: str, folder: Path) -> dict[str, str]:
    """The environment of one kind of run: this tree, or the baseline commit's (extracted here)."""
    env = {**os.environ, "GMOPT_DATA_DIR": str(folder / f"data-{kind}")}
    env.pop("PYTHONPATH", None)
    if kind == "baseline":
        source = folder / "baseline-tree"
        if not source.exists():
            source.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASELINE_COMMIT], check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
        env["PYTHONPATH"] = str(source)  # ahead of the editable install of this tree
    return env


def _launch(kind: str, folder: Path, probe: Path, name: str, args: list[str]) -> tuple[float, dict[str, list[dict]]]:
    """One ``gmopt ARGS --out`` in a fresh process: its launch time and the probe's marks."""
    marks_dir = folder / f"marks-{name}"
    marks_dir.mkdir()
    env = {**_tree(kind, folder), "GMOPT_PROBE_DIR": str(marks_dir)}
    launched = time.time()
    done = subprocess.run([sys.executable, str(probe), *args, "--out", str(folder / f"run-{name}")],
                          env=env, cwd=folder, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the {kind} run failed: {done.stderr[-2000:]}")
    marks: dict[str, list[dict]] = {}
    for path in marks_dir.glob("*.json"):
        marks.setdefault(path.name.split("-")[0], []).append(json.loads(path.read_text()))
    return launched, marks


def _run(kind: str, folder: Path, probe: Path, number: int) -> dict[str, float]:
    """The 20 x 50 run; times in s from its process start, memory in MiB."""
    launched, marks = _launch(kind, folder, probe, f"{kind}-{number}", RUN)
    main, end = marks["main"][0], marks["end"][0]
    return {
        "main_imported_s": main["imported"] - launched,
        "main_first_batch_s": main["at"] - launched,
        "workers_ready_s": max(mark["at"] for mark in marks["ready"]) - launched,
        "worker_imports_s": statistics.mean(mark["imported"] - mark["started"] for mark in marks["ready"]),
        "worker_cpu_to_ready_s": statistics.mean(mark["cpu_s"] for mark in marks["ready"]),
        "main_cpu_to_first_batch_s": main["cpu_s"],
        "first_simulation_s": min(mark["at"] for mark in marks["first"]) - launched,
        "wall_s": end["at"] - launched,
        "main_rss_at_first_batch_mib": main["rss_kib"] / 1024,
        "main_peak_rss_mib": end["main_rss_kib"] / 1024,
        "worker_peak_rss_mib": max(mark["rss_kib"] for mark in marks["worker"]) / 1024,
    }


def _seeds(kind: str, folder: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", SEEDS], env=_tree(kind, folder), cwd=folder, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> dict:
    kinds = ("baseline", "new")
    with tempfile.TemporaryDirectory(prefix="gmopt-bench-startup-") as tmp:
        folder = Path(tmp)
        probe = folder / "probe.py"
        probe.write_text(PROBE)
        for kind in kinds:  # tables built and re-sampled once per data directory, untimed
            _launch(kind, folder, probe, f"{kind}-warm-up", ["optimize", "--topology", "fig7", "--pop", "4", "--gens", "1", "--workers", "1"])
        runs: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
        seeds: dict[str, list[dict]] = {kind: [] for kind in kinds}
        for number in range(1, REPEATS + 1):
            for kind in kinds:  # alternately: a load change on the shared machine hits both alike
                runs[kind].append(_run(kind, folder, probe, number))
                seeds[kind].append(_seeds(kind, folder))
    figures: dict[str, object] = {"repeats": REPEATS, "baseline_commit": BASELINE_COMMIT}
    for kind in kinds:
        figures[kind] = {key: statistics.median(run[key] for run in runs[kind]) for key in runs[kind][0]}
        figures[kind].update({key: statistics.median(s[key] for s in seeds[kind])
                              for key in ("tables_s", "seeds_s", "passes", "peak_rss_mib", "private_rss_mib",
                                          "lookup_vgs_points_per_s", "lookup_gm_id_points_per_s")})
    figures["same_seed_sizings"] = all(s["sizings"] == seeds["baseline"][0]["sizings"] for kind in kinds for s in seeds[kind])
    old, new = figures["baseline"], figures["new"]
    # baseline over new for times and memory, new over baseline for rates: above 1 is better
    figures["ratios"] = {key: old[key] / new[key] for key in (
        "first_simulation_s", "main_first_batch_s", "wall_s", "main_peak_rss_mib", "worker_peak_rss_mib",
        "worker_cpu_to_ready_s", "main_cpu_to_first_batch_s", "tables_s", "seeds_s", "private_rss_mib")}
    figures["ratios"].update({key: new[key] / old[key] for key in ("lookup_vgs_points_per_s", "lookup_gm_id_points_per_s")})
    print(f"   fig7 20 x 50, 2 workers, generic180; median of {REPEATS} runs each, baseline = {BASELINE_COMMIT}")
    for key, label in (("first_simulation_s", "process start to first simulation"),
                       ("main_first_batch_s", "main process hands over its first batch"),
                       ("workers_ready_s", "every worker ready (2 before, 1 beside the main process now)"), ("main_imported_s", "main: gmopt.cli imported"),
                       ("worker_imports_s", "worker (now: the fork server): the console script's imports"),
                       ("worker_cpu_to_ready_s", "worker: CPU seconds until ready"),
                       ("main_cpu_to_first_batch_s", "main: CPU seconds until its first batch"), ("wall_s", "whole run"),
                       ("main_rss_at_first_batch_mib", "main peak RSS at the first batch (MiB)"),
                       ("main_peak_rss_mib", "main peak RSS (MiB)"), ("worker_peak_rss_mib", "worker peak RSS (MiB)"),
                       ("tables_s", "in-process: both tables loaded"), ("seeds_s", "in-process: 20 seeds sized"),
                       ("passes", "look-up passes for the 20 seeds"),
                       ("peak_rss_mib", "in-process peak RSS after the seeds (MiB)"),
                       ("private_rss_mib", "in-process private (anonymous) RSS (MiB)"),
                       ("lookup_vgs_points_per_s", "look-up against VGS, 1 M points (points/s)"),
                       ("lookup_gm_id_points_per_s", "look-up against gm/ID, 200 k points (points/s)")):
        ratio = figures["ratios"].get(key)
        print(f"   {label}: {old[key]:.3f} -> {new[key]:.3f}" + (f" ({ratio:.2f}x)" if ratio else ""))
    print(f"   the same 20 seed sizings in both: {figures['same_seed_sizings']}")
    return figures


if __name__ == "__main__":
    main()
