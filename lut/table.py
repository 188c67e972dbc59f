"""A gm/ID look-up table in memory and in gmopt's own ``.npz`` file: grid, data and provenance.

Every stored quantity is a magnitude (PMOS currents and voltages are stored positive, and so are
BSIM3's ``cgs``/``cgd``, which ngspice reports as negative transcapacitances), on a 4-D grid with
axes ``(L, VSB, VDS, VGS)``: VGS last, because gm/ID look-ups walk along it.
"""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

DEVICES = ("nmos", "pmos")
# ngspice device quantities saved at every grid point (names as in ``@m1[gm]``).
SIMULATED = ("id", "gm", "gds", "gmbs", "vth", "vdsat", "cgg", "cgs", "cgd", "cdd")
AXES = ("L", "VSB", "VDS", "VGS")


def sweep_values(start: float, stop: float, step: float) -> np.ndarray:
    """The points ngspice visits in ``dc SRC start stop step``, without its rounding drift."""
    count = int(round((stop - start) / step)) + 1
    return np.linspace(start, stop, count)


@dataclass(frozen=True)
class Grid:
    """Where a table is simulated: lengths, body biases and the two nested dc sweeps (magnitudes)."""

    length_m: tuple[float, ...]
    vsb_v: tuple[float, ...]
    vgs_sweep_v: tuple[float, float, float]
    vds_sweep_v: tuple[float, float, float]
    width_m: float = 10e-6

    def __post_init__(self) -> None:
        for name in ("length_m", "vsb_v"):
            values = getattr(self, name)
            if len(values) < 2 or any(b <= a for a, b in zip(values, values[1:])):
                raise ValueError(f"grid {name} must hold at least two increasing values, got {values}")
        for name in ("vgs_sweep_v", "vds_sweep_v"):
            start, stop, step = getattr(self, name)
            if step <= 0 or stop <= start:
                raise ValueError(f"grid {name} must be (start, stop, step) with start < stop and step > 0")
        if self.width_m <= 0:
            raise ValueError("grid width_m must be positive")

    # cached: every look-up asks for the axes, and sizing an OTA makes thousands of look-ups
    @functools.cached_property
    def vgs(self) -> np.ndarray:
        return sweep_values(*self.vgs_sweep_v)

    @functools.cached_property
    def vds(self) -> np.ndarray:
        return sweep_values(*self.vds_sweep_v)

    def axes(self) -> tuple[np.ndarray, ...]:
        """Axis values in ``AXES`` order."""
        return (np.asarray(self.length_m), np.asarray(self.vsb_v), self.vds, self.vgs)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(axis) for axis in self.axes())

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Grid":
        return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in data.items()})


@dataclass
class LutTable:
    """One device's table: ``data[q]`` has ``grid.shape``; ``meta`` says what made it."""

    device: str
    grid: Grid
    data: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.device not in DEVICES:
            raise ValueError(f"unknown device {self.device!r}: choose 'nmos' or 'pmos'")
        for name, values in self.data.items():
            if values.shape != self.grid.shape:
                raise ValueError(f"table quantity {name!r} has shape {values.shape}, the grid {self.grid.shape}")

    def describe(self) -> str:
        meta = self.meta
        return (f"{meta.get('technology', '?')} {self.device} corner {meta.get('corner', '?')} "
                f"{meta.get('temp_c', '?')} C")


def save_tables(path: Path, tables: dict[str, LutTable]) -> Path:
    """Write both devices' tables to one compressed ``.npz`` (arrays plus a JSON header)."""
    arrays: dict[str, np.ndarray] = {}
    header = {}
    for device, table in tables.items():
        header[device] = {"grid": table.grid.to_json(), "meta": table.meta}
        for name, values in table.data.items():
            arrays[f"{device}/{name}"] = values
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez_compressed(partial, header=np.array(json.dumps(header)), **arrays)
    partial.replace(path)  # readers never see a half-written cache file
    return path


def load_tables(path: Path) -> dict[str, LutTable]:
    """Read a file written by ``save_tables``."""
    if not path.is_file():
        raise FileNotFoundError(f"no look-up table file at {path}")
    with np.load(path, allow_pickle=False) as archive:
        header = json.loads(str(archive["header"]))
        tables = {}
        for device, info in header.items():
            prefix = f"{device}/"
            data = {key.removeprefix(prefix): archive[key] for key in archive.files if key.startswith(prefix)}
            tables[device] = LutTable(device, Grid.from_json(info["grid"]), data, info["meta"])
    return tables
