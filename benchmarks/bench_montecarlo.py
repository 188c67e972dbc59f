"""Mismatch Monte Carlo samples per second: per-device ``alter`` in the persistent session against a
fresh ``ngspice -b`` per sample (the batch back-end, same deck and same shifts), in one process,
and a 1,000-sample run spread over two started workers (``mismatch.montecarlo.run_montecarlo``)."""

from __future__ import annotations

import numpy as np

from benchmarks.bench_ota import _per_candidate
from lut.technology import GENERIC180
from mismatch.model import mismatch_model
from mismatch.montecarlo import device_sigmas, draw_shifts, run_montecarlo
from neuromorphic.circuit import default_var
from optimizer.evaluation import SimulationJob, simulation_backend
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
        cost = _per_candidate(lambda: results.extend(bench.evaluate(var, s) for s in shifts), len(shifts))
    if not all(r.converged for r in results):
        raise RuntimeError(f"a Monte Carlo sample failed on the {backend} back-end")
    return [r.offset_v for r in results], cost


def main() -> dict:
    var = default_var(TOPOLOGY)  # the paper's Table 7 design
    shifts = draw_shifts(device_sigmas(get_topology(TOPOLOGY), var, mismatch_model(GENERIC180)), SAMPLES, SEED)
    shared, (shared_wall_s, shared_cpu_s) = _offsets("shared", var, shifts)
    batch, (batch_wall_s, batch_cpu_s) = _offsets("batch", var, shifts[:BATCH_SAMPLES])
    with simulation_backend(SimulationJob(TOPOLOGY, GENERIC180.name, (("tt", 27.0),)), workers=2) as backend:
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
    return figures
