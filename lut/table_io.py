"""Export and import gm/ID tables in the formats designers already use.

* pygmid (``.pkl`` and ``.mat``): the dict its ``Lookup`` loads. Arrays are (L, VGS, VDS, VSB);
  L and W in micrometres, TEMP in kelvin; every value a magnitude (pygmid's own sweep stores PMOS
  currents and the transcapacitances ``CGS``/``CGD`` sign-flipped to positive, as we do).
  ``VT`` is the threshold voltage, ``GMB`` the body transconductance.
* mosplot (``.npz``): ``lookup_table`` holds a dict with one entry per model name; arrays are
  (length, vbs, vgs, vds) in the device's own sign convention (PMOS vgs, vds negative, vbs
  positive), ``id`` positive, ``vth``/``vdsat`` signed, ``cgs``/``cgd`` as ngspice reports them.
* CSV: one row per grid point, SI units, magnitudes; the first line is a ``#`` comment holding
  the table's grid and provenance as JSON, so an import restores the table exactly.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.io
from scipy.constants import zero_Celsius

from lut.table import AXES, SIMULATED, Grid, LutTable
from lut.technology import Technology

FORMATS = ("pygmid", "mat", "mosplot", "csv")
_UM = 1e-6
# our quantity name -> pygmid key
_PYGMID_KEYS = {"id": "ID", "vth": "VT", "gm": "GM", "gmbs": "GMB", "gds": "GDS", "cgg": "CGG",
                "cgs": "CGS", "cgd": "CGD", "cdd": "CDD", "vdsat": "VDSAT"}
_TO_PYGMID_AXES = (0, 3, 2, 1)     # (L, VSB, VDS, VGS) -> (L, VGS, VDS, VSB); its own inverse
_TO_MOSPLOT_AXES = (0, 1, 3, 2)    # (L, VSB, VDS, VGS) -> (length, vbs, vgs, vds); its own inverse
_MOSPLOT_NEGATIVE_FOR_PMOS = ("vth", "vdsat")
_NEGATIVE_IN_NGSPICE = ("cgs", "cgd")


def _sweep(values: np.ndarray, name: str) -> tuple[float, float, float]:
    """(start, stop, step) of evenly spaced values; a table on an uneven sweep cannot be imported."""
    values = np.asarray(values, dtype=float)
    step = float(np.round(np.mean(np.diff(values)), 9))
    if values.size < 2 or not np.allclose(np.diff(values), step, rtol=1e-6, atol=1e-9):
        raise ValueError(f"{name} values are not evenly spaced; gmopt tables need a regular {name} sweep")
    return (float(values[0]), float(values[-1]), step)


def _grid(lengths_m, vsb_v, vds_v, vgs_v, width_m: float) -> Grid:
    return Grid(tuple(float(v) for v in lengths_m), tuple(float(v) for v in vsb_v),
                _sweep(vgs_v, "VGS"), _sweep(vds_v, "VDS"), float(width_m))


# -- pygmid --------------------------------------------------------------------------------
def to_pygmid(table: LutTable) -> dict:
    """The dict pygmid's ``Lookup`` works on."""
    lengths, vsb, vds, vgs = table.grid.axes()
    meta = table.meta
    data = {
        "INFO": f"gmopt {meta.get('technology', '')} {table.device} (model hash {meta.get('model_hash', '')[:12]})",
        "CORNER": str(meta.get("corner", "")), "TEMP": float(meta.get("temp_c", 27.0)) + zero_Celsius,
        "NFING": 1, "L": lengths / _UM, "W": table.grid.width_m / _UM, "VGS": vgs, "VDS": vds, "VSB": vsb,
    }
    for name, key in _PYGMID_KEYS.items():
        data[key] = np.transpose(table.data[name], _TO_PYGMID_AXES).copy()
    return data


def from_pygmid(data: dict, device: str) -> LutTable:
    grid = _grid(np.atleast_1d(data["L"]) * _UM, np.atleast_1d(data["VSB"]), np.atleast_1d(data["VDS"]),
                 np.atleast_1d(data["VGS"]), float(np.squeeze(data["W"])) * _UM)
    missing = [key for key in _PYGMID_KEYS.values() if key not in data]
    if missing:
        raise ValueError(f"the pygmid table lacks {', '.join(missing)}")
    tables = {name: np.abs(np.transpose(np.asarray(data[key], dtype=float).reshape(
        grid.shape[0], grid.shape[3], grid.shape[2], grid.shape[1]), _TO_PYGMID_AXES))
        for name, key in _PYGMID_KEYS.items()}
    meta = {"corner": str(np.squeeze(data.get("CORNER", ""))), "imported_from": "pygmid",
            "temp_c": float(np.squeeze(data.get("TEMP", 300.15))) - zero_Celsius}
    return LutTable(device, grid, tables, meta)


# -- mosplot --------------------------------------------------------------------------------
def to_mosplot(tables: dict[str, LutTable], tech: Technology) -> dict:
    lookup_table: dict = {}
    first = next(iter(tables.values()))
    for device, table in tables.items():
        sign = 1.0 if device == "nmos" else -1.0
        lengths, vsb, vds, vgs = table.grid.axes()
        entry = {}
        for name in SIMULATED:
            values = np.transpose(table.data[name], _TO_MOSPLOT_AXES)
            if name in _NEGATIVE_IN_NGSPICE:
                values = -values
            elif name in _MOSPLOT_NEGATIVE_FOR_PMOS:
                values = sign * values
            entry[name] = values.astype(np.float64)
        entry.update(vgs=sign * vgs, vds=sign * vds, vbs=-sign * vsb, length=lengths, width=table.grid.width_m,
                     model_name=tech.device(device).model, parameter_names=list(SIMULATED))
        lookup_table[tech.device(device).model] = entry
    lookup_table.update(width=first.grid.width_m, simulator="NgspiceSimulator",
                        parameter_names=list(SIMULATED), description=first.describe())
    return lookup_table


def from_mosplot(lookup_table: dict, models: dict[str, str]) -> dict[str, LutTable]:
    """``models`` maps our device name to the model name used as key in the mosplot table."""
    tables = {}
    for device, model in models.items():
        if model not in lookup_table:
            raise ValueError(f"the mosplot table has no model {model!r}; it has {', '.join(k for k, v in lookup_table.items() if isinstance(v, dict))}")
        entry = lookup_table[model]
        grid = _grid(entry["length"], np.abs(entry["vbs"]), np.abs(entry["vds"]), np.abs(entry["vgs"]), entry["width"])
        data = {name: np.abs(np.transpose(np.asarray(entry[name], dtype=float), _TO_MOSPLOT_AXES)) for name in SIMULATED}
        tables[device] = LutTable(device, grid, data, {"imported_from": "mosplot", "model": model})
    return tables


# -- CSV -------------------------------------------------------------------------------------
def to_csv(table: LutTable, path: Path) -> None:
    mesh = np.meshgrid(*table.grid.axes(), indexing="ij")
    columns = {"L_m": mesh[0], "VSB_V": mesh[1], "VDS_V": mesh[2], "VGS_V": mesh[3]}
    frame = pd.DataFrame({name: values.ravel() for name, values in {**columns, **table.data}.items()})
    header = {"device": table.device, "grid": table.grid.to_json(), "meta": table.meta, "axes": AXES}
    with path.open("w") as handle:
        handle.write(f"# {json.dumps(header)}\n")
        frame.to_csv(handle, index=False, float_format="%.17g")


def from_csv(path: Path) -> LutTable:
    with path.open() as handle:
        first = handle.readline()
    if not first.startswith("# "):
        raise ValueError(f"{path} lacks gmopt's '# {{...}}' header line with the table's grid")
    header = json.loads(first[2:])
    grid = Grid.from_json(header["grid"])
    frame = pd.read_csv(path, comment="#")
    if len(frame) != int(np.prod(grid.shape)):
        raise ValueError(f"{path} has {len(frame)} rows; its grid needs {int(np.prod(grid.shape))}")
    frame = frame.sort_values(["L_m", "VSB_V", "VDS_V", "VGS_V"])
    data = {name: frame[name].to_numpy().reshape(grid.shape) for name in SIMULATED}
    return LutTable(header["device"], grid, data, header["meta"])


# -- files -------------------------------------------------------------------------------------
def export_tables(tables: dict[str, LutTable], tech: Technology, fmt: str, path: Path) -> list[Path]:
    """Write ``tables`` as ``fmt``; pygmid and CSV hold one device per file (``<stem>_nmos``...)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "mosplot":
        np.savez_compressed(path, lookup_table=np.array(to_mosplot(tables, tech), dtype=object))
        return [path]
    written = []
    for device, table in tables.items():
        target = path.with_name(f"{path.stem}_{device}{path.suffix}") if len(tables) > 1 else path
        if fmt == "pygmid":
            with target.open("wb") as handle:
                pickle.dump(to_pygmid(table), handle)
        elif fmt == "mat":
            scipy.io.savemat(target, {tech.device(device).model: to_pygmid(table)})
        else:
            to_csv(table, target)
        written.append(target)
    return written


def import_tables(fmt: str, path: Path, device: str = "nmos", models: dict[str, str] | None = None) -> dict[str, LutTable]:
    """Read a designer's table; ``device`` says which device a one-device file (pygmid, mat, CSV) holds.

    pygmid ``.pkl`` and mosplot ``.npz`` files are pickles: load only files you trust.
    """
    if not path.is_file():
        raise FileNotFoundError(f"no file at {path}")
    if fmt == "pygmid":
        with path.open("rb") as handle:
            return {device: from_pygmid(pickle.load(handle), device)}
    if fmt == "mat":
        mat = scipy.io.loadmat(path, matlab_compatible=True)
        key = next(k for k in mat if not k.startswith("__"))
        struct = mat[key]
        return {device: from_pygmid({name.upper(): np.squeeze(struct[name][0][0]) for name in struct.dtype.names}, device)}
    if fmt == "mosplot":
        lookup_table = np.load(path, allow_pickle=True)["lookup_table"].item()
        return from_mosplot(lookup_table, models or {"nmos": "nch", "pmos": "pch"})
    if fmt == "csv":
        table = from_csv(path)
        return {table.device: table}
    raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
