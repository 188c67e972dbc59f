"""Mismatch Monte Carlo of an OTA: Pelgrom shifts per device, simulated in the workers' loaded testbenches.

Each sample gives every device its own threshold shift (``dvth_v``, added to the instance's
``delvto``) and current-factor factor (``beta_factor`` = 1 + dbeta/beta, on its ``mulu0``), drawn
from N(0, AVT/sqrt(2 W L)) and N(0, Abeta/sqrt(2 W L)): Pelgrom's coefficients are those of a
pair's difference (``mismatch.model``), so the difference of two devices has AVT/sqrt(W L). The
samples are drawn here, in the caller, from one seeded numpy generator, so a seed gives the
same numbers whatever the number of workers. They are simulated by ``ngspice``'s ``alter`` on
the circuit the worker already holds (no re-parse, no new process), through the optimizer's
parallel back-end (``optimizer.evaluation``), in tasks of ``CHUNK_SAMPLES``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lut.technology import Condition, Technology, resolve_condition
from mismatch.model import MismatchModel, mismatch_model
from ota.topology import Topology, get_topology

# 25 samples per task: a task then costs about 0.1 s with generic180, long enough that the pool's
# per-task overhead (a pickle round trip) is small, short enough to keep two workers evenly busy.
CHUNK_SAMPLES = 25
PERCENTILES = (1, 5, 50, 95, 99)
# Scalar metrics whose distribution a run reports (``ota.testbench.OtaResult``).
METRICS = (
    "gain_db", "bandwidth_hz", "ugf_hz", "phase_margin_deg", "gm_s", "rmse_a", "offset_v", "power_w", "saturation_margin_v",
)

Parallel = Callable[[Callable[[Any], Any], Sequence[Any]], list[Any]]


@dataclass(frozen=True)
class DeviceSigma:
    """One device's Pelgrom sigmas at its size."""

    device: str
    polarity: str
    width_m: float
    length_m: float
    sigma_vth_v: float
    sigma_beta: float


def device_sizes_m(topology: Topology, var: Sequence[int], technology: Technology,
                   lengths_m: Mapping[str, float] | None = None) -> dict[str, tuple[float, float]]:
    """(W, L) in metres of every device: fixed widths as drawn, the others Var x the technology's
    lambda; L the technology's, or a free length by variable label."""
    lengths = dict(lengths_m or {})
    sizes = {fixed.device: (fixed.width_m, technology.length_m) for fixed in topology.fixed}
    for variable, value in zip(topology.variables, topology.check_var(list(var), technology)):
        length_m = lengths.get(variable.label, technology.length_m)
        sizes.update({device: (value * technology.lambda_m, length_m) for device in variable.devices})
    return sizes


def device_sigmas(
    topology: Topology,
    var: Sequence[int],
    model: MismatchModel,
    technology: Technology,
    *,
    lengths_m: Mapping[str, float] | None = None,
    vth: bool = True,
    beta: bool = True,
    devices: Sequence[str] | None = None,
) -> list[DeviceSigma]:
    """The sigmas of the devices that vary (``devices``: a subset; default all), in topology order."""
    chosen = topology.devices if devices is None else tuple(devices)
    unknown = set(chosen) - set(topology.devices)
    if unknown:
        raise ValueError(f"topology {topology.name!r} has no devices {sorted(unknown)}; devices: {', '.join(topology.devices)}")
    sizes = device_sizes_m(topology, var, technology, lengths_m)
    sigmas = []
    for device in topology.devices:
        if device not in chosen:
            continue
        width_m, length_m = sizes[device]
        coefficients = model.coefficients(topology.polarity(device))
        sigmas.append(DeviceSigma(
            device=device, polarity=topology.polarity(device), width_m=width_m, length_m=length_m,
            sigma_vth_v=coefficients.device_sigma_vth_v(width_m, length_m) if vth else 0.0,
            sigma_beta=coefficients.device_sigma_beta(width_m, length_m) if beta else 0.0,
        ))
    return sigmas


def draw_shifts(sigmas: Sequence[DeviceSigma], samples: int, seed: int) -> list[dict[str, dict[str, float]]]:
    """``samples`` per-device shift mappings; one seed, one sequence of numbers (numpy's PCG64)."""
    if samples < 2:
        raise ValueError(f"a Monte Carlo run needs at least 2 samples, got {samples}")
    normal = np.random.default_rng(seed).standard_normal((samples, len(sigmas), 2))
    return [
        {
            sigma.device: {"dvth_v": float(z[0] * sigma.sigma_vth_v), "beta_factor": float(1.0 + z[1] * sigma.sigma_beta)}
            for sigma, z in zip(sigmas, row)
        }
        for row in normal
    ]


def tasks(var: Sequence[int], shifts: Sequence[dict]) -> list[tuple[list[int], list[dict]]]:
    """The shifts of one candidate cut into worker tasks of ``CHUNK_SAMPLES``."""
    return [(list(var), list(shifts[start:start + CHUNK_SAMPLES])) for start in range(0, len(shifts), CHUNK_SAMPLES)]


def distribution(results: Sequence[dict]) -> dict[str, dict[str, float]]:
    """Mean, sigma (n - 1), min, max and percentiles of every metric over the converged samples."""
    converged = [result for result in results if result.get("converged")]
    summary: dict[str, dict[str, float]] = {}
    for key in METRICS:
        values = np.array([result.get(key) for result in converged], dtype=float)
        values = values[np.isfinite(values)]
        if values.size < 2:
            summary[key] = {"mean": math.nan, "sigma": math.nan, "count": int(values.size)}
            continue
        summary[key] = {
            "mean": float(values.mean()), "sigma": float(values.std(ddof=1)),
            "min": float(values.min()), "max": float(values.max()), "count": int(values.size),
            **{f"p{p}": float(np.percentile(values, p)) for p in PERCENTILES},
        }
    return summary


def sample_yield(results: Sequence[dict], passes: Callable[[dict], bool]) -> float:
    """The fraction of samples that pass; a sample that did not converge fails."""
    return sum(bool(result.get("converged")) and passes(result) for result in results) / len(results)


@dataclass
class MonteCarloResult:
    """A finished Monte Carlo run of one design."""

    topology: str
    technology: str
    corner: str
    temp_c: float
    var: list[int]
    seed: int
    samples: int
    model: MismatchModel
    sigmas: list[DeviceSigma]
    results: list[dict]
    wall_time_s: float

    @property
    def converged(self) -> int:
        return sum(bool(result.get("converged")) for result in self.results)

    def input_pair_offset_sigma_v(self) -> float:
        """Pelgrom's estimate from the input pair alone, sqrt(sigma1^2 + sigma2^2) = AVT / sqrt(W L)
        for equal devices: the mirrors and loads add to it, so the simulated sigma is larger."""
        topology = get_topology(self.topology)
        pair = next(v for v in topology.variables if v.role == "input_pair").devices[:2]
        return math.sqrt(sum(s.sigma_vth_v ** 2 for s in self.sigmas if s.device in pair))

    def _variable_sizes(self) -> list["DeviceSigma"]:
        """One device of each width variable (its first), in variable order."""
        by_device = {s.device: s for s in self.sigmas}
        firsts = [v.devices[0] for v in get_topology(self.topology).variables]
        return [by_device[d] for d in firsts if d in by_device]

    def to_dict(self, passes: Callable[[dict], bool] | None = None, constraint_names: Sequence[str] = ()) -> dict:
        data = {
            "topology": self.topology, "technology": self.technology, "corner": self.corner, "temp_c": self.temp_c,
            "var": self.var, "widths_um": [s.width_m * 1e6 for s in self._variable_sizes()], "seed": self.seed,
            "samples": self.samples, "converged": self.converged, "mismatch_model": self.model.to_dict(),
            "devices": [
                {"device": s.device, "width_um": s.width_m * 1e6, "length_um": s.length_m * 1e6,
                 "sigma_vth_mv": s.sigma_vth_v * 1e3, "sigma_beta_pct": s.sigma_beta * 100}
                for s in self.sigmas
            ],
            "pelgrom_input_pair_offset_sigma_v": self.input_pair_offset_sigma_v(),
            "metrics": distribution(self.results),
            "wall_time_s": self.wall_time_s,
            "samples_per_s": self.samples / self.wall_time_s if self.wall_time_s > 0 else math.nan,
        }
        if passes is not None:
            data["yield"] = {"value": sample_yield(self.results, passes), "constraints": list(constraint_names)}
        return data


def run_montecarlo(
    topology: str,
    var: Sequence[int],
    samples: int,
    seed: int,
    technology: Condition | Technology | str = "generic180",
    corner: str | None = None,
    temp_c: float | None = None,
    *,
    workers: int = 1,
    parallel: Parallel | None = None,
    vth: bool = True,
    beta: bool = True,
    devices: Sequence[str] | None = None,
    bias_v: Mapping[str, float] | None = None,
) -> MonteCarloResult:
    """Simulate ``samples`` mismatch samples of one design; ``parallel``: an open back-end of
    ``optimizer.evaluation`` (else one is opened for this run with ``workers`` processes).
    ``bias_v``: the design's bias voltages (None: the technology's, or derived by the first sizing)."""
    from optimizer.evaluation import SampleJob, SimulationJob, simulation_backend
    from ota.sizing import evaluation_bias_v

    condition = resolve_condition(technology, corner, temp_c)
    tech, corner, temp_c = condition.technology, condition.corner, condition.temp_c
    shape = get_topology(topology)
    checked = shape.check_var(list(var), tech)
    model = mismatch_model(tech)
    sigmas = device_sigmas(shape, checked, model, tech, vth=vth, beta=beta, devices=devices)
    shifts = draw_shifts(sigmas, samples, seed)
    nominal = SimulationJob.widths_only(shape.name, condition, evaluation_bias_v(shape.name, condition, bias_v))
    job = SampleJob(shape.name, condition, nominal.bias_v, nominal.space)
    started = time.perf_counter()
    if parallel is None:
        with simulation_backend(nominal, workers) as opened:
            started = time.perf_counter()  # the workers' circuit loading is not a sample's cost
            chunks = opened(job, tasks(checked, shifts))
    else:
        chunks = parallel(job, tasks(checked, shifts))
    results = [result for chunk in chunks for result in chunk]
    return MonteCarloResult(
        topology=shape.name, technology=tech.name, corner=corner, temp_c=float(temp_c), var=checked, seed=seed,
        samples=samples, model=model, sigmas=sigmas, results=results, wall_time_s=time.perf_counter() - started,
    )
