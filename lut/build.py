"""Build gm/ID look-up tables with ngspice, and keep them in a cache keyed by what made them.

One netlist holds an NMOS and a PMOS driven by the same sources; it is loaded once in a shared
ngspice session. Each (L, VSB) pair is one nested dc sweep (VGS inner, VDS outer) that fills
both devices' tables. VSB changes by ``alter`` of the source's dc value. L changes through a
``.param`` (``alterparam`` + ``reset``, about 1 ms) rather than ``alter m1 l=``: it is the same
loaded circuit, but it also works for PDK devices that are subcircuits or binned models, whose
bin is chosen only when parameters are re-evaluated.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import SimulationError, ngspice_version, open_engine
from gmopt import __version__ as gmopt_version
from gmopt.settings import get_settings
from lut.table import DEVICES, SIMULATED, Grid, LutTable, load_mapped_tables, load_tables, save_mapped_tables
from lut.technology import Condition, Technology
from spice_templates import render, spice_number

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each dc sweep."""

# L grid of a technology without its own list: log-spaced, densest where VTH rolls off. Between
# grid lengths, interpolation error grows with (ln ratio)^2 and falls with L: at ratio 1.2 it was
# 8 % at 1.1 lmin (gf180mcu), 2-3 % at 2 lmin and 0.5 % beyond 5 lmin (docs/lut.md); these
# ratios keep it near 1 %.
LENGTH_RATIOS = ((2.0, 1.07), (5.0, 1.14), (math.inf, 1.3))  # (up to this many lmin, ratio)
TOP_LENGTH_M = 5e-6  # "a few um": the longest L the derived grid reaches (within lmax), at least 10 lmin
DESIGN_LENGTHS_UM = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)  # round lengths designers pick, wherever they fall in range
VGS_STEP_V = 0.025
VDS_STEP_V = 0.05
VSB_POINTS = 7  # 0 to supply/3: 0.1 V apart for a 1.8 V supply
REFERENCE_WIDTH_M = 10e-6
_INSTANCES = {"nmos": ("1", "d", "g", "0", "b"), "pmos": ("2", "dp", "gp", "0", "bp")}


def table_lengths(tech: Technology) -> tuple[float, ...]:
    """The tables' L grid: the technology's own list if it has one (generic180), else from lmin to
    ``TOP_LENGTH_M`` (at least 10 lmin, at most lmax) at ``LENGTH_RATIOS``, with the technology's
    default L, its design lengths (bin edges) and the round ``DESIGN_LENGTHS_UM`` in range among
    the points, and log-spaced points between them, all on the drawn grid."""
    if tech.table_lengths_m:
        return tuple(round(length, 12) for length in tech.table_lengths_m)
    top = min(tech.lmax_m, max(TOP_LENGTH_M, 10 * tech.lmin_m))
    fixed = {tech.lmin_m, top, tech.length_m, *tech.design_lengths_m, *(l_um * 1e-6 for l_um in DESIGN_LENGTHS_UM)}
    fixed = {tech.on_grid(length) for length in fixed if tech.lmin_m * (1 - 1e-9) <= length <= top * (1 + 1e-9)}
    points = sorted(fixed)
    for low, high in zip(points, points[1:]):
        ratio = next(ratio for limit, ratio in LENGTH_RATIOS if low < limit * tech.lmin_m * (1 - 1e-9))
        steps = math.ceil(math.log(high / low) / math.log(ratio) - 1e-9)
        fixed.update(tech.on_grid(low * (high / low) ** (k / steps)) for k in range(1, steps))
    return tuple(round(length, 12) for length in sorted(fixed))


def default_grid(tech: Technology) -> Grid:
    """L on ``table_lengths``; VGS, VDS up to the supply; VSB 0 to supply/3 at ``VSB_POINTS``
    points: with 4 (0.2 V apart) ID/W midway between them was up to 4 % off even interpolated in
    log form (15 % linearly): ID is exponential in the body-shifted VTH."""
    supply = tech.supply_v
    return Grid(
        length_m=table_lengths(tech),
        vsb_v=tuple(round(supply / 3 * k / (VSB_POINTS - 1), 6) for k in range(VSB_POINTS)),
        vgs_sweep_v=(0.0, supply, VGS_STEP_V),
        vds_sweep_v=(0.0, supply, VDS_STEP_V),
        width_m=REFERENCE_WIDTH_M,
    )


def provenance(condition: Condition, grid: Grid) -> dict:
    """Everything a table depends on; its hash is the cache key."""
    tech = condition.technology
    return {
        "technology": tech.name,
        "corner": condition.corner,
        "temp_c": condition.temp_c,
        "model_hash": tech.model_hash(),
        "ngspice_version": ngspice_version(),
        "gmopt_version": gmopt_version,
        "grid": grid.to_json(),
        # the instance line: its geometry parameters (PD, PS, NRD, NRS) change the table
        "instances": {device: tech.device(device).instance("1", "d", "g", "s", "b", "W", "L") for device in ("n", "p")},
    }


def cache_key(meta: dict) -> str:
    return hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:16]


def cache_path(meta: dict) -> Path:
    """The cache file: a memory-mapped ``.npy`` beside its ``.json`` header (``lut.table.save_mapped``).
    Before it, the same key named a compressed ``.npz`` (``legacy_cache_path``), still read."""
    name = f"{meta['technology']}-{meta['corner']}-{meta['temp_c']:g}C-{cache_key(meta)}.npy"
    return get_settings().lut_cache_dir / name


def legacy_cache_path(path: Path) -> Path:
    """Where earlier versions kept the table of ``path``'s key: a compressed ``.npz``, which had to be
    decompressed whole into every process (33 MB for generic180, about a second)."""
    return path.with_suffix(".npz")


def sweep_netlist(condition: Condition, grid: Grid) -> str:
    """The deck of both devices at the grid's first L and VSB."""
    tech = condition.technology
    width = spice_number(grid.width_m)
    instances = {
        device: tech.device(device).instance(*_INSTANCES[device], w=width, l="length") for device in DEVICES
    }
    saves = [tech.device(device).vector(_INSTANCES[device][0], q) for device in DEVICES for q in SIMULATED]
    return render(
        "lut/sweep.cir.j2", include=condition.include(), temp_c=condition.temp_c, length_m=grid.length_m[0],
        vsb_v=grid.vsb_v[0], nmos_instance=instances["nmos"], pmos_instance=instances["pmos"], saves=saves,
    )


def simulate_tables(condition: Condition, grid: Grid, progress: Progress | None = None) -> dict[str, LutTable]:
    """Run the sweeps and return both devices' tables (not cached: see ``build_or_load``)."""
    tech = condition.technology
    meta = provenance(condition, grid)
    shape = grid.shape
    data = {device: {q: np.empty(shape) for q in SIMULATED} for device in DEVICES}
    dc = "dc vgs {} {} {} vds {} {} {}".format(*map(spice_number, (*grid.vgs_sweep_v, *grid.vds_sweep_v)))
    total = len(grid.length_m) * len(grid.vsb_v)
    with open_engine("shared") as engine:
        engine.load(sweep_netlist(condition, grid))
        for i, length in enumerate(grid.length_m):
            engine.set_params({"length": length})
            for j, vsb in enumerate(grid.vsb_v):
                engine.alter("vsb", dc=vsb)
                vectors = engine.run({"dc": dc})["dc"]
                for device in DEVICES:
                    for q in SIMULATED:
                        data[device][q][i, j] = _sweep_plane(vectors, tech.device(device).vector(_INSTANCES[device][0], q), shape)
                if progress is not None:
                    progress(i * len(grid.vsb_v) + j + 1, total)
    return {device: LutTable(device, grid, data[device], {**meta, "device": device}) for device in DEVICES}


def _sweep_plane(vectors: dict[str, np.ndarray], name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One saved vector of a nested sweep as a (VDS, VGS) plane of magnitudes."""
    if name not in vectors:
        raise SimulationError(f"ngspice did not return {name}: the device model does not provide it")
    values = vectors[name]
    if values.size != shape[2] * shape[3]:
        raise SimulationError(f"{name} has {values.size} points, expected {shape[2]} x {shape[3]}")
    return np.abs(values.reshape(shape[2], shape[3]))


@dataclass
class BuildResult:
    """What ``build_or_load`` did: the tables, their file, and whether it simulated."""

    tables: dict[str, LutTable]
    path: Path
    simulated: bool
    seconds: float


def build_or_load(
    condition: Condition, grid: Grid | None = None, *, force: bool = False, progress: Progress | None = None,
) -> BuildResult:
    """The cached tables at this condition (``Technology.at``) and grid; simulated if missing."""
    started = time.perf_counter()
    grid = grid or default_grid(condition.technology)
    path = cache_path(provenance(condition, grid))
    if not force:
        tables = _cached(path)
        if tables is not None:
            return BuildResult(tables, path, False, time.perf_counter() - started)
    tables = simulate_tables(condition, grid, progress)
    save_mapped_tables(path, tables)
    return BuildResult(load_mapped_tables(path), path, True, time.perf_counter() - started)


def _cached(path: Path) -> dict[str, LutTable] | None:
    """The cached tables at ``path``, memory-mapped; an earlier version's ``.npz`` of the same key
    (the same provenance, so the same numbers) is converted once; None when neither is readable
    (missing, another format, truncated): the caller simulates and overwrites."""
    try:
        return load_mapped_tables(path)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    legacy = legacy_cache_path(path)
    try:
        tables = load_tables(legacy)
    except (OSError, ValueError, KeyError):
        return None
    try:
        save_mapped_tables(path, tables)
    except OSError:
        return tables  # a read-only cache: this process reads the old file whole, as before
    return load_mapped_tables(path)
