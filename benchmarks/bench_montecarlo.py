"""Mismatch Monte Carlo: (a) samples per second, per-device ``alter`` in the persistent session against
a fresh ``ngspice -b`` per sample (the batch back-end, same deck and same shifts), in one process,
and a 1,000-sample run spread over two started workers (``mismatch.montecarlo.run_montecarlo``);
(b) the cost of a fig7 20 x 50 run that asks for "pinched at 100 kHz and 1 MHz, yield >= 90 % on
|offset| <= 10 mV over 200 samples" against the same run without the two follow-ups."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_ota import _per_candidate
from lut.technology import GENERIC180
from mismatch.model import mismatch_model
from mismatch.montecarlo import device_sigmas, draw_shifts, run_montecarlo
from neuromorphic.circuit import default_var
from optimizer.evaluation import SimulationJob, simulation_backend
from optimizer.file_store import FileRunStore
from optimizer.runner import run_optimization
from optimizer.spec import RunSpec
from ota.testbench import OtaTestbench
from ota.topology import get_topology

TOPOLOGY = "fig7"
SAMPLES = 200
PARALLEL_SAMPLES = 1000
BATCH_SAMPLES = 20
SEED = 1


def _offsets(backend: str, var: list[int], shifts: list[dict]) -> tuple[list[float], tuple[float, float]]:
    with OtaTestbench(TOPOLOGY, backend=backend, shiftable=True) as bench:  # type: ignore[arg-type]
        bench.evaluate(var)  # warm-up: the models are set up by the first run
        results: list = []
        cost = _per_candidate(lambda: results.extend(bench.evaluate(var, shifts=s) for s in shifts), len(shifts))
    if not all(r.converged for r in results):
        raise RuntimeError(f"a Monte Carlo sample failed on the {backend} back-end")
    return [r.offset_v for r in results], cost


FOLLOW_UPS = {
    "monte_carlo": {"samples": 200, "min_yield": 0.9, "constraints": ["offset"]},
    "emulator": {"frequencies_hz": [1e5, 1e6], "max_pinch_ratio": 0.05},
}


def _run_cost() -> dict:
    """Both 20 x 50 runs (seed 1, |offset| <= 10 mV, two workers), one after the other."""
    figures: dict = {}
    with tempfile.TemporaryDirectory(prefix="gmopt-bench-mc-") as tmp:
        for name, extra in (("plain", {}), ("yield_pinch", FOLLOW_UPS)):
            spec = RunSpec.parse({"topology": TOPOLOGY, "seed": 1, "constraints": {"offset_max_v": 0.01}, **extra})
            store = FileRunStore(Path(tmp) / name)
            started = time.perf_counter()
            summary = run_optimization(spec, store, workers=2)
            figures[f"{name}_run_wall_s"] = time.perf_counter() - started
            figures[f"{name}_front"] = summary.front_size
            if extra:
                figures.update(monte_carlo_samples=summary.monte_carlo_samples, monte_carlo_skipped=summary.monte_carlo_skipped,
                               emulator_runs=summary.emulator_runs, emulator_skipped=summary.emulator_skipped)
                front = store.front()
                figures["front_meets_request"] = bool(front) and all(
                    r.metrics["mc_yield"] >= 0.9 and r.metrics["pinch_ratio_max"] <= 0.05 for r in front
                )
    figures["run_cost_ratio"] = figures["yield_pinch_run_wall_s"] / figures["plain_run_wall_s"]
    print(f"   fig7 20 x 50: {figures['yield_pinch_run_wall_s']:.1f} s with yield and pinch against "
          f"{figures['plain_run_wall_s']:.1f} s without (x{figures['run_cost_ratio']:.1f}); "
          f"{figures['monte_carlo_samples']} samples simulated, {figures['monte_carlo_skipped']} skipped; "
          f"front {figures['yield_pinch_front']} designs, all meeting the request: {figures['front_meets_request']}")
    return figures


def main() -> dict:
    var = default_var(TOPOLOGY)  # the paper's Table 7 design
    shifts = draw_shifts(device_sigmas(get_topology(TOPOLOGY), var, mismatch_model(GENERIC180), GENERIC180), SAMPLES, SEED)
    shared, (shared_wall_s, shared_cpu_s) = _offsets("shared", var, shifts)
    batch, (batch_wall_s, batch_cpu_s) = _offsets("batch", var, shifts[:BATCH_SAMPLES])
    with simulation_backend(SimulationJob.widths_only(TOPOLOGY, GENERIC180.at("tt", 27.0), GENERIC180.bias_v), workers=2) as backend:
        run_montecarlo(TOPOLOGY, var, 50, SEED, parallel=backend)  # both workers started and loaded
        parallel = run_montecarlo(TOPOLOGY, var, PARALLEL_SAMPLES, SEED, parallel=backend)
    figures = {
        "topology": TOPOLOGY, "var": var, "samples": SAMPLES, "batch_samples": BATCH_SAMPLES,
        "shared_samples_per_s": 1 / shared_wall_s, "batch_samples_per_s": 1 / batch_wall_s,
        "speedup_shared_vs_batch_wall": batch_wall_s / shared_wall_s,
        "speedup_shared_vs_batch_cpu": batch_cpu_s / shared_cpu_s,
        "two_workers_samples_per_s": PARALLEL_SAMPLES / parallel.wall_time_s,
        # the two back-ends simulate the same samples: their offsets agree to ngspice's precision
        "max_offset_difference_v": float(np.max(np.abs(np.array(shared[:BATCH_SAMPLES]) - np.array(batch)))),
        "offset_sigma_v": float(np.std(shared, ddof=1)),
        "pelgrom_input_pair_offset_sigma_v": parallel.input_pair_offset_sigma_v(),
    }
    print(f"   {TOPOLOGY} Table 7 design, {SAMPLES} samples: persistent session {figures['shared_samples_per_s']:.0f} "
          f"samples/s, fresh ngspice -b {figures['batch_samples_per_s']:.1f} samples/s "
          f"(x{figures['speedup_shared_vs_batch_wall']:.1f} wall, x{figures['speedup_shared_vs_batch_cpu']:.1f} CPU); "
          f"two workers {figures['two_workers_samples_per_s']:.0f} samples/s; "
          f"offset sigma {figures['offset_sigma_v'] * 1e3:.3f} mV (Pelgrom input pair "
          f"{figures['pelgrom_input_pair_offset_sigma_v'] * 1e3:.3f} mV)")
    return {**figures, **_run_cost()}
