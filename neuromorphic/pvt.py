"""Process, voltage and temperature: the emulator and the neuron over corners x temperatures x supplies.

Every point runs in a worker process (one ngspice session each). The report gives the spread
(min, max, relative spread (max - min) / median) of the neuron's firing rate and energy per spike
and of the emulator's lobe area, and which points stopped firing or lost the pinch.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from lut.technology import get_technology
from neuromorphic.circuit import resolve_var
from neuromorphic.emulator import EmulatorOptions
from neuromorphic.neuron import NeuronOptions
from neuromorphic.parallel import Progress, emulator_case, neuron_case, options_dict, run_cases

DEFAULT_TEMPERATURES_C = (-40.0, 27.0, 125.0)
DEFAULT_SUPPLY_SCALES = (0.9, 1.0, 1.1)          # supply +-10 %
# PVT runs many points: by default the short pulse train of Figures 18/20 (T = 10 us, 40 %), 30 periods.
PVT_NEURON_OPTIONS = NeuronOptions(period_s=10e-6, duty=0.4, periods=30, max_step_s=20e-9)


@dataclass
class PvtReport:
    """One row per PVT point and the spread of the figures that matter."""

    topology: str
    var: list[int]
    rows: list[dict]
    spread: dict[str, dict[str, float]]

    def to_dict(self) -> dict:
        return asdict(self)


def _spread(values: list[float]) -> dict[str, float]:
    finite = np.array([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if finite.size == 0:
        return {"min": float("nan"), "max": float("nan"), "median": float("nan"), "relative_spread": float("nan"), "points": 0}
    median = float(np.median(finite))
    return {
        "min": float(finite.min()), "max": float(finite.max()), "median": median,
        "relative_spread": float((finite.max() - finite.min()) / median) if median else float("nan"),
        "points": int(finite.size),
    }


def run_pvt(
    topology: str,
    var: Sequence[int] | None = None,
    technology: str = "generic180",
    corners: Sequence[str] | None = None,
    temperatures_c: Sequence[float] = DEFAULT_TEMPERATURES_C,
    supply_scales: Sequence[float] = DEFAULT_SUPPLY_SCALES,
    neuron_options: NeuronOptions | None = None,
    emulator_options: EmulatorOptions | None = None,
    *,
    widths_um: Sequence[float] | None = None,
    inverter_scale: float = 1.0,
    workers: int = 2,
    progress: Progress | None = None,
) -> PvtReport:
    """The neuron and the emulator at every corner x temperature x supply point."""
    tech = get_technology(technology)
    corners = list(corners or tech.corners)
    for corner in corners:  # before any case starts: its workers check their own condition again
        tech.at(corner)
    checked = resolve_var(topology, var, widths_um)
    points = list(itertools.product(corners, temperatures_c, supply_scales))
    if not points:
        raise ValueError("give at least one corner, temperature and supply scale")
    common = {"topology": topology, "var": checked, "technology": technology, "inverter_scale": inverter_scale}
    cases = [{**common, "corner": c, "temp_c": float(t), "supply_scale": float(s)} for c, t, s in points]
    neuron_cases = [{**case, "options": options_dict(neuron_options or PVT_NEURON_OPTIONS)} for case in cases]
    emulator_cases = [{**case, "options": options_dict(emulator_options)} for case in cases]
    total = 2 * len(cases)

    def emulator_progress(done: int, _: int) -> None:
        if progress is not None:
            progress(len(cases) + done, total)

    def neuron_progress(done: int, _: int) -> None:
        if progress is not None:
            progress(done, total)

    neurons = run_cases(neuron_case, neuron_cases, workers=workers, progress=neuron_progress)
    emulators = run_cases(emulator_case, emulator_cases, workers=workers, progress=emulator_progress)
    rows = [_row(case, neuron, emulator) for case, neuron, emulator in zip(cases, neurons, emulators)]
    spread = {key: _spread([row[key] for row in rows]) for key in ("rate_hz", "energy_per_spike_j", "lobe_area_total")}
    return PvtReport(topology=topology, var=checked, rows=rows, spread=spread)


def _row(case: dict, neuron: dict, emulator: dict) -> dict:
    n, e = neuron.get("result", {}), emulator.get("result", {})
    lobes = (e["lobe_area_pos"] + e["lobe_area_neg"]) if e else None
    return {
        "corner": case["corner"], "temp_c": case["temp_c"], "supply_scale": case["supply_scale"],
        "spike_count": n.get("spike_count"), "rate_hz": n.get("rate_hz"), "energy_per_spike_j": n.get("energy_per_spike_j"),
        "pinched": e.get("pinched"), "pinch_ratio": e.get("pinch_ratio"), "lobe_area_total": lobes,
        "error": neuron.get("error") or emulator.get("error"),
    }
