"""What a run found: the feasible Pareto front, its hypervolume, the best-linearity design, exports.

Hypervolume: each minimised objective is normalised between fixed bounds from the spec
(``optimizer.problem.objective_bounds``: RMSE 0..rmse_max_a, gain gain_best_db..gain_min_db,
power 0..power_worst_w), the reference point is ``spec.hypervolume.reference`` (1.1) in every
normalised objective, and only feasible points count. The bounds never depend on the data, so
values compare across generations and across runs of the same spec.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pymoo.core.population import Population
from pymoo.indicators.hv import HV
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from gmopt.floats import encode_float
from optimizer import checkpoint as checkpoints
from optimizer.problem import objective_bounds
from optimizer.spec import RunSpec
from optimizer.store import EvaluationRecord, RunStore

if TYPE_CHECKING:
    import pandas as pd

# Table columns of a design, in the designer's units: the one front format of the CLI table,
# ``gmopt front --csv``, ``gmopt export-front`` and the API's ``GET /runs/{id}/front?format=csv``.
DESIGN_COLUMNS = {
    "gain_db": ("gain_db", 1.0), "bandwidth_mhz": ("bandwidth_hz", 1e-6), "gm_ms": ("gm_s", 1e3),
    "phase_margin_deg": ("phase_margin_deg", 1.0), "offset_mv": ("offset_v", 1e3),
    "rmse_ua": ("rmse_a", 1e6), "power_mw": ("power_w", 1e3), "saturation_margin_mv": ("saturation_margin_v", 1e3),
}

# Follow-up metrics (optimizer.followup), present only where the run asked for them; emulator
# metrics per frequency (pinch_ratio_100khz -> pinch_100khz) are added as found.
FOLLOW_UP_COLUMNS = {"yield_pct": ("mc_yield", 100.0), "offset_sigma_mv": ("offset_sigma_v", 1e3)}
_PER_FREQUENCY = {"pinch_ratio_": "pinch_", "loop_asymmetry_": "asymmetry_"}


def follow_up_row(metrics: dict[str, Any]) -> dict[str, Any]:
    """The follow-up columns of one design's metrics (empty when the run asked for none)."""
    row = {column: float(metrics[key]) * scale for column, (key, scale) in FOLLOW_UP_COLUMNS.items()
           if metrics.get(key) is not None}
    for key, value in metrics.items():
        for prefix, column in _PER_FREQUENCY.items():
            if key.startswith(prefix) and not key.endswith("_max"):
                row[column + key.removeprefix(prefix)] = None if value is None else float(value)
    return row


def hypervolume(F: np.ndarray, spec: RunSpec) -> float:
    """Hypervolume of feasible minimised objectives ``F`` (rows) under the spec's fixed normalisation."""
    F = np.asarray(F, dtype=float).reshape(-1, len(spec.objectives))
    if len(F) == 0:
        return 0.0
    ideal, nadir = objective_bounds(spec)
    indicator = HV(
        ref_point=np.full(len(ideal), spec.hypervolume.reference), ideal=ideal, nadir=nadir,
        norm_ref_point=False, zero_to_one=True,
    )
    return float(indicator.do(F))


def nondominated(F: np.ndarray) -> np.ndarray:
    """Positions of the non-dominated rows of ``F`` (pymoo's non-dominated sorting)."""
    F = np.asarray(F, dtype=float)
    if len(F) == 0:
        return np.array([], dtype=int)
    return np.asarray(NonDominatedSorting().do(F, only_non_dominated_front=True), dtype=int)


def population_front(pop: Population, spec: RunSpec) -> tuple[float, list[int]]:
    """Hypervolume and record indices of a population's feasible Pareto front."""
    feas, F, index = pop.get("feas", "F", "index")  # one pass over the individuals, not three
    feasible = np.flatnonzero(feas)
    F = F[feasible]
    front = feasible[nondominated(F)]
    indices = sorted(int(i) for i in index[front])
    return hypervolume(F, spec), indices


def circuit_population_front(pop: Population, problem: Any, spec: RunSpec) -> tuple[float, list[int]]:
    """``population_front`` of a circuit run. Its objectives have any units, so the hypervolume
    normalises each minimised objective between the best and worst value the converged candidates
    of generation 0 (the seeded population) reached: fixed once, kept with the problem in every
    checkpoint, so values compare across the generations of a run and across runs of the same spec
    and seed. The reference point is ``spec.hypervolume.reference`` (1.1) in every normalised
    objective; a design better than generation 0's best counts beyond 1 (the box is not clipped)."""
    from optimizer.circuit_problem import FAILED_OBJECTIVE

    F = np.asarray(pop.get("F"), dtype=float)
    if getattr(problem, "hv_bounds", None) is None:
        converged = F[np.all(F < FAILED_OBJECTIVE, axis=1)]
        if len(converged) == 0:
            return 0.0, []
        ideal, nadir = converged.min(axis=0), converged.max(axis=0)
        nadir = np.where(nadir > ideal, nadir, ideal + np.maximum(np.abs(ideal), 1e-30))
        problem.hv_bounds = (ideal, nadir)
    ideal, nadir = problem.hv_bounds
    feasible = np.flatnonzero(pop.get("feas"))
    front = feasible[nondominated(F[feasible])]
    indices = sorted(int(index) for index in pop.get("index")[front])
    if len(feasible) == 0:
        return 0.0, indices
    indicator = HV(ref_point=np.full(len(ideal), spec.hypervolume.reference), ideal=ideal, nadir=nadir, norm_ref_point=False, zero_to_one=True)
    return float(indicator.do(F[feasible])), indices


def front_of(records: Sequence[EvaluationRecord]) -> list[EvaluationRecord]:
    """The feasible, non-dominated records among ``records`` (duplicated designs once)."""
    unique = {tuple(record.var): record for record in records if record.feasible}
    feasible = list(unique.values())
    if not feasible:
        return []
    keep = nondominated(np.array([record.objectives for record in feasible]))
    return sorted((feasible[i] for i in keep), key=lambda record: record.index)


def best_linearity(front: Sequence[EvaluationRecord]) -> EvaluationRecord | None:
    """The paper's highlighted design (thick line in Figures 12-14): lowest RMSE on the front;
    a circuit run's records (``design``) are ranked by their first objective instead."""
    return min(front, key=_point_order, default=None)


def _point_order(record: EvaluationRecord) -> tuple[float, int]:
    """How the front numbers its points: lowest RMSE first (OTA runs), or the best first objective
    of a circuit package (its first listed objective, as minimised)."""
    if record.design:
        return (record.objectives[0] if record.objectives else math.inf), record.index
    return _rmse(record), record.index


def violation(record: EvaluationRecord) -> float:
    """pymoo's constraint violation: the sum of the positive constraint values."""
    return float(sum(max(0.0, value) for value in record.constraints))


def least_violating(records: Sequence[EvaluationRecord]) -> EvaluationRecord | None:
    """What to show when nothing is feasible: the design closest to meeting every constraint."""
    return min(records, key=lambda record: (violation(record), record.index), default=None)


def final_population(store: RunStore) -> list[EvaluationRecord]:
    """The last completed generation's population (the paper's "20 candidate solutions")."""
    checkpoint = store.last_checkpoint()
    if checkpoint is None:
        return []
    indices = {int(index) for index in checkpoints.loads(checkpoint[1])["algorithm"].pop.get("index")}
    return [record for record in store.evaluations() if record.index in indices]


def design_row(record: EvaluationRecord) -> dict[str, Any]:
    """One design as a flat row: index, metrics in designer units, integer widths, widths in um;
    a circuit run's design: its variables (SI units, by name) and every measure (SI, by name).

    An unmeasured metric is NaN (``gmopt.floats``); one a record does not hold (an older run) is None."""
    row: dict[str, Any] = {"index": record.index, "generation": record.generation, "feasible": record.feasible}
    if record.design:
        scalars = {key: value for key, value in record.metrics.items() if isinstance(value, float) and key != "sim_time_s" and "." not in key}
        return row | dict(record.design) | scalars
    for column, (key, scale) in DESIGN_COLUMNS.items():
        value = record.metrics.get(key)
        row[column] = None if value is None else float(value) * scale
    row.update(follow_up_row(record.metrics))
    row.update({f"var{k + 1}": v for k, v in enumerate(record.var)})
    row.update({f"w{k + 1}_um": w for k, w in enumerate(record.widths_um)})
    return row


def front_rows(front: Sequence[EvaluationRecord]) -> list[dict[str, Any]]:
    """The front's designs as rows, best linearity first (point 0, as ``gmopt front`` numbers them)."""
    return [design_row(record) for record in sorted(front, key=_point_order)]


def _rmse(record: EvaluationRecord) -> float:
    value = record.metrics.get("rmse_a")
    return math.inf if value is None or math.isnan(float(value)) else float(value)


def front_csv(front: Sequence[EvaluationRecord]) -> str:
    """The front as CSV: the columns of ``design_row`` (follow-up columns where any design has them);
    inf and NaN cells as ``gmopt.floats`` spells them, a value a design does not have empty."""
    rows = front_rows(front)
    columns = list(dict.fromkeys(column for row in rows for column in row)) or ["index", "generation", "feasible", *DESIGN_COLUMNS]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: "" if value is None else encode_float(value) if isinstance(value, float) else value
                         for column, value in row.items()})
    return text.getvalue()


def front_table(store: RunStore) -> pd.DataFrame:
    """The stored front as a table, best linearity first."""
    import pandas as pd  # here, not at the top: every CLI start and every spawned worker would pay 0.3 s

    return pd.DataFrame(front_rows(store.front()))


def front_point(store: RunStore, point: int) -> EvaluationRecord:
    """A front point's record as ``gmopt front`` numbers it (0 = best linearity, or a circuit run's best first objective)."""
    front = sorted(store.front(), key=_point_order)
    if not front:
        raise ValueError("the run has no feasible design yet")
    if not 0 <= point < len(front):
        raise ValueError(f"point {point} is not on the front's {len(front)} designs (0..{len(front) - 1})")
    return front[point]


def circuit_design_deck(spec: RunSpec, design: dict[str, float], corner: str | None = None, temp_c: float | None = None) -> str:
    """A circuit run's design as the full deck its bench runs (with its analyses in ``.control``), at
    the run's first corner and temperature unless others are named."""
    from circuits.benches import open_bench
    from lut.technology import get_technology

    condition = get_technology(spec.technology).at(corner or spec.corners[0], spec.temps_c[0] if temp_c is None else temp_c)
    bench = open_bench(spec.circuit_object, condition)
    try:
        names = {variable.name for variable in spec.circuit_object.variables}
        return bench.deck({name: value for name, value in design.items() if name in names})  # not an electrical group's gm/ID
    finally:
        bench.close()


def front_design(store: RunStore, point: int) -> tuple[RunSpec, list[int]]:
    """A front point as ``gmopt front`` numbers it (0 = best linearity): the run's spec and the design's Var."""
    table = front_table(store)
    if table.empty:
        raise ValueError("the run has no feasible design yet")
    if not 0 <= point < len(table):
        raise ValueError(f"point {point} is not on the front's {len(table)} designs (0..{len(table) - 1})")
    header = store.read_header()
    assert header is not None  # a front implies a stored run
    var = [int(table.loc[point, f"var{k + 1}"]) for k in range(sum(c.startswith("var") for c in table.columns))]
    return RunSpec.parse(header[0]), var


def design_netlist(spec: RunSpec, row: Sequence[int], corner: str | None = None, temp_c: float | None = None) -> str:
    """One design of a run (its full row: widths, then any free lengths and biases) as the standalone
    deck ``gmopt export`` writes, at the run's first corner and temperature unless others are named;
    ``spec`` is the run's stored (resolved) spec."""
    from lut.technology import get_technology
    from optimizer.space import design_space
    from ota.netlist import standalone_netlist
    from ota.topology import get_topology

    candidate = design_space(spec, get_topology(spec.topology), get_technology(spec.technology)).split(row)
    return standalone_netlist(
        spec.topology, list(candidate.var), spec.technology, corner or spec.corners[0],
        spec.temps_c[0] if temp_c is None else temp_c,
        bias_v=(spec.bias_v or {}) | dict(candidate.bias_v), lengths_m=dict(candidate.lengths_m),
    )


def export_front(store: RunStore, path: str | Path, fmt: str | None = None) -> Path:
    """Write the front as CSV or JSON (by ``fmt`` or the suffix); JSON adds curves and provenance."""
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt == "csv":
        path.write_text(front_csv(store.front()))
    elif fmt == "json":
        path.write_text(json.dumps(front_document(store), indent=1))
    else:
        raise ValueError(f"unknown export format {fmt!r}: use .csv or .json")
    return path


def front_document(store: RunStore) -> dict[str, Any]:
    """Everything a reader of the front needs in one JSON-safe dict."""
    header = store.read_header()
    if header is None:
        raise FileNotFoundError("no optimization run is stored there (no header): run 'gmopt optimize' first")
    spec, provenance = header
    front = store.front()
    best = best_linearity(front)
    return {
        "spec": spec, "provenance": provenance, "status": store.status(),
        "hypervolumes": [{"generation": g, "hypervolume": hv} for g, hv in store.hypervolumes()],
        "best_linearity_index": None if best is None else best.index,
        "front": [record.to_json() for record in front],
    }
