"""A gm/ID look-up table in memory and on disk: grid, data and provenance.

Two file formats: gmopt's own ``.npz`` (compressed, one portable file: ``gmopt lut import``
writes it), and the cache's memory-mapped arrays (``save_mapped``/``load_mapped``: a raw ``.npy``
beside a JSON header), which a process opens without reading them: only the pages its look-ups
touch are read, and every process on the machine shares them through the page cache.

Every stored quantity is a magnitude (PMOS currents and voltages are stored positive, and so are
BSIM3's ``cgs``/``cgd``, which ngspice reports as negative transcapacitances), on a 4-D grid with
axes ``(L, VSB, VDS, VGS)``: VGS last, because gm/ID look-ups walk along it.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

DEVICES = ("nmos", "pmos")
# ngspice device quantities saved at every grid point (names as in ``@m1[gm]``).
SIMULATED = ("id", "gm", "gds", "gmbs", "vth", "vdsat", "cgg", "cgs", "cgd", "cdd")
AXES = ("L", "VSB", "VDS", "VGS")
# The memory-mapped layout: bump when it changes; a header of another format is never read as this one.
MAPPED_FORMAT = 2


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


# -- memory-mapped arrays: the LUT cache -----------------------------------------------------
def save_mapped(path: Path, arrays: Mapping[str, np.ndarray], header: dict) -> Path:
    """Write ``arrays`` (one shape) stacked into the raw float64 ``path`` (``.npy``), then the JSON
    header ``path.with_suffix(".json")`` holding ``header``, the array names, shape and format.

    Each file is written to a temporary name and renamed, the header last: a reader that finds
    the header finds the data written before it, and a process that has the old data mapped
    keeps reading the old file."""
    names = list(arrays)
    stacked = np.stack([np.asarray(arrays[name], dtype=np.float64) for name in names])
    path.parent.mkdir(parents=True, exist_ok=True)
    full = {**header, "format": MAPPED_FORMAT, "names": names, "shape": list(stacked.shape), "dtype": "float64"}
    _replace(path, lambda handle: np.save(handle, stacked))
    _replace(path.with_suffix(".json"), lambda handle: handle.write(json.dumps(full).encode()))
    return path


def load_mapped(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The header and the read-only memory-mapped arrays (by name) written by ``save_mapped``.

    ValueError (a message saying what is wrong) for a header of another format, data of another
    shape or type than its header says, or a truncated file: the caller rebuilds, it never reads
    numbers as something they are not. FileNotFoundError when either file is missing."""
    header = json.loads(path.with_suffix(".json").read_text())
    if not isinstance(header, dict) or header.get("format") != MAPPED_FORMAT:
        raise ValueError(f"{path.with_suffix('.json')} is not a format-{MAPPED_FORMAT} table header")
    stacked = np.load(path, mmap_mode="r", allow_pickle=False)  # ValueError if shorter than its own header
    names = header.get("names") or []
    if stacked.dtype != np.float64 or list(stacked.shape) != header.get("shape") or len(names) != stacked.shape[0]:
        raise ValueError(f"{path} holds {stacked.dtype} {list(stacked.shape)}, its header says {header.get('dtype')} {header.get('shape')}")
    # plain ndarray views (np.asarray): numpy's memmap subclass adds microseconds to every index
    return header, {name: np.asarray(stacked[index]) for index, name in enumerate(names)}


def save_mapped_tables(path: Path, tables: dict[str, LutTable]) -> Path:
    """Both devices' tables as one memory-mapped ``.npy`` (``save_mapped``), keyed as in the ``.npz``."""
    header = {"tables": {device: {"grid": table.grid.to_json(), "meta": table.meta} for device, table in tables.items()}}
    arrays = {f"{device}/{name}": values for device, table in tables.items() for name, values in table.data.items()}
    return save_mapped(path, arrays, header)


def load_mapped_tables(path: Path) -> dict[str, LutTable]:
    """Read ``save_mapped_tables``'s file, memory-mapped; ValueError if any stored quantity is missing."""
    header, arrays = load_mapped(path)
    tables = {}
    for device, info in header["tables"].items():
        data = {name: arrays[f"{device}/{name}"] for name in SIMULATED if f"{device}/{name}" in arrays}
        if len(data) != len(SIMULATED):
            raise ValueError(f"{path} lacks {device} quantities {sorted(set(SIMULATED) - set(data))}")
        tables[device] = LutTable(device, Grid.from_json(info["grid"]), data, info["meta"])
    return tables


def _replace(path: Path, write: Callable[[BinaryIO], object]) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            write(handle)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
