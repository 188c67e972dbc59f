"""Look-ups in a gm/ID table, the way pygmid users ask: a quantity against VGS or against gm/ID.

Quantities are named as in pygmid: stored ones (``ID``, ``GM``, ``GDS``, ``GMBS``, ``VTH``,
``VDSAT``, ``CGG``, ``CGS``, ``CGD``, ``CDD``, at the table's reference width), ratios of two of
them or of one and ``W`` (``GM_ID``, ``ID_W``, ``GM_GDS`` = intrinsic gain gm*ro, ``GM_CGG``,
``CGG_W``), ``FT`` = gm / (2 pi cgg), and ``VGS``. All voltages are magnitudes (VSG, VSD, VBS
of a PMOS); SI units (L in metres, ID_W in A/m).

Two interpolation domains, both multilinear (over the 16 grid points around each look-up, read
from the memory-mapped cache) on log(L) and sqrt(2 phi_F + VSB):

* against VGS, on the simulated grid (L, VSB, VDS, VGS);
* against gm/ID, on a derived grid (L, VSB, VDS, GM_ID): each simulated (L, VSB, VDS) curve is
  re-sampled on a regular gm/ID axis with a ``PchipInterpolator``. gm/ID against VGS is
  single-valued only from its maximum (weak inversion) upward in VGS, so, as in pygmid's
  ``lookupVGS``, only that branch is used. Interpolating across L at constant gm/ID, in
  log-log form, keeps ID/W within about 1 % between grid lengths, where interpolating at constant
  VGS is off by several per cent (threshold roll-off moves the curves along VGS).

Sizing asks one point at a time (an OTA plan about 130 points, brentq 8 per root), so a look-up
at one point takes its own path (``Lut._evaluate_point``): the same interpolation in fewer
numpy calls, with the same bits as the general path gives that point alone, and its answers
remembered per table. With ``model_files_checked_once`` around a plan, the model file is checked
once, not at every look-up. generic180's fig7 seeds went from 13.1 to 3.7 ms a plan (20 or 100
of them, 2 cores shared), sky130's and gf180mcu's 3.4 to 5 times faster as well.
"""

from __future__ import annotations

import bisect
import contextlib
import contextvars
import functools
import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
from scipy.constants import Boltzmann as BOLTZMANN, elementary_charge as ELEMENTARY_CHARGE, zero_Celsius as ZERO_CELSIUS_K

from lut.build import build_or_load, cache_path, default_grid, provenance
from lut.table import SIMULATED, LutTable, load_mapped, save_mapped
from lut.technology import Condition, Technology, resolve_condition

ArrayLike = float | np.ndarray
TWO_PHI_F_V = 0.7  # V, a typical 2 phi_F of bulk CMOS; the exact value matters little (see docs/lut.md)
GM_ID_STEP = 0.1  # S/A, spacing of the gm/ID axis of the derived grid
# Widest ratio of neighbouring table lengths a look-up interpolates across: generic180's widest,
# 1.4 to 2 um (1.43), is within 1 % of direct ngspice; tables derived per technology stay below
# 1.3 (lut.build.LENGTH_RATIOS); an imported or hand-listed table with wider gaps is not trusted
# between them (docs/lut.md: at ratio 1.46 interpolation was up to 20 % off near gf180mcu's lmin).
MAX_LENGTH_RATIO = 1.45
GM_ID_CACHE_FORMAT = 2  # bump when the re-sampling changes: old cache files are then ignored (1: .npz)
CHUNK_POINTS = 1 << 15  # look-up points per pass: 16 corners each, so about 4 MB per temporary array
_SCALAR = (int, float, np.integer, np.floating)  # inputs ``Lut._evaluate_point`` takes (no 0-d arrays)
POINT_MEMORY = 8192  # one-point answers a table remembers (about 2 MB) before it forgets them all
_NAN_CORNERS = np.full((16, 1), np.nan)  # the log of a corner that is not positive, before the fallback
_NAMES = {name.upper(): name for name in SIMULATED}


def _formula(quantity: str, width_m: float) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    """How a named quantity follows from the stored ones (plus ``vgs``)."""
    name = quantity.upper()
    if name == "FT":
        return lambda c: c["gm"] / (2 * math.pi * c["cgg"])
    if name == "VGS":
        return lambda c: c["vgs"]
    if name in _NAMES:
        return lambda c: c[_NAMES[name]]
    numerator, sep, denominator = name.partition("_")
    if sep and numerator in _NAMES and (denominator in _NAMES or denominator == "W"):
        top = _NAMES[numerator]
        if denominator == "W":
            return lambda c: c[top] / width_m
        bottom = _NAMES[denominator]
        return lambda c: c[top] / c[bottom]
    raise ValueError(
        f"unknown quantity {quantity!r}: use one of {', '.join(_NAMES)}, FT, VGS, "
        "or a ratio such as GM_ID, ID_W, GM_GDS, GM_CGG"
    )


class Lut:
    """One device's loaded table with pygmid-style look-ups (vectorised over numpy arrays)."""

    def __init__(self, table: LutTable, cache_file: Path | None = None) -> None:
        """``cache_file``: where the gm/ID re-sampling is kept between processes (None: not kept)."""
        self.table = table
        self._cache_file = cache_file
        self.grid = table.grid
        lengths, vsb, vds, vgs = self.grid.axes()
        self._log_lengths = np.log(lengths)
        self._vgs_axes = (self._log_lengths, _body_axis(vsb), vds, vgs)
        self._components = {**table.data, "vgs": np.broadcast_to(vgs, self.grid.shape)}
        self._interpolators: dict[tuple[str, str], _Interpolator] = {}
        self._ranges: dict[tuple[float, float, float], tuple[float, float]] = {}
        # the grid's span per axis (L, VSB, VDS, VGS) with the tolerance of _check_inside, as (4, 1)
        ends = np.array([(axis[0], axis[-1]) for axis in self.grid.axes()], dtype=float)
        tolerance = 1e-9 * np.maximum(np.abs(ends).max(axis=1), 1e-30)
        self._lowest, self._highest = (ends[:, 0] - tolerance)[:, None], (ends[:, 1] + tolerance)[:, None]
        self._lowest_list, self._highest_list = self._lowest[:, 0].tolist(), self._highest[:, 0].tolist()
        self._log_length: dict[float, float] = {}
        # answers of _evaluate_point by (interpolators, domain, x, L, VDS, VSB): an OTA plan asks
        # a fifth to two fifths of its points again (fixed-point loops that settle, brentq's brackets)
        self._points: dict[tuple, list[np.float64]] = {}
        self._wide_length_gaps = bool((lengths[1:] / lengths[:-1] > MAX_LENGTH_RATIO).any())

    @property
    def device(self) -> str:
        return self.table.device

    def _inside(self, raw: np.ndarray, check_vgs: bool) -> bool:
        """Whether every (L, VSB, VDS, x) column of ``raw`` lies on the grid (x only if ``check_vgs``);
        False for NaN too."""
        rows = 4 if check_vgs else 3
        return bool(((raw[:rows] >= self._lowest[:rows]) & (raw[:rows] <= self._highest[:rows])).all())

    @property
    def meta(self) -> dict:
        return self.table.meta

    # -- public look-ups --------------------------------------------------------------------
    def lookup(
        self,
        quantity: str,
        *,
        vgs: ArrayLike | None = None,
        gm_id: ArrayLike | None = None,
        L: ArrayLike,
        VDS: ArrayLike,
        VSB: ArrayLike = 0.0,
    ) -> ArrayLike:
        """``quantity`` at the given bias, against ``vgs=`` (V) or ``gm_id=`` (S/A); inputs broadcast."""
        return self._lookup((quantity,), vgs, gm_id, L, VDS, VSB)[0]

    def lookup_many(
        self,
        quantities: Sequence[str],
        *,
        vgs: ArrayLike | None = None,
        gm_id: ArrayLike | None = None,
        L: ArrayLike,
        VDS: ArrayLike,
        VSB: ArrayLike = 0.0,
    ) -> dict[str, ArrayLike]:
        """Several quantities at one bias, by name as given: one pass over the checks and the grid
        cells, and each stored component gathered once (sizing one device reads six quantities)."""
        return dict(zip(quantities, self._lookup(tuple(quantities), vgs, gm_id, L, VDS, VSB)))

    def lookup_vgs(self, *, gm_id: ArrayLike, L: ArrayLike, VDS: ArrayLike, VSB: ArrayLike = 0.0) -> ArrayLike:
        """The VGS (magnitude) that gives ``gm_id`` on the strong-inversion side (pygmid's lookupVGS)."""
        return self.lookup("VGS", gm_id=gm_id, L=L, VDS=VDS, VSB=VSB)

    def _lookup(self, quantities: tuple[str, ...], vgs, gm_id, L, VDS, VSB) -> list[ArrayLike]:
        if (vgs is None) == (gm_id is None):
            raise ValueError("give exactly one of vgs= or gm_id=")
        domain, x = ("VGS", vgs) if vgs is not None else ("GM_ID", gm_id)
        interpolators = [self._interpolator(domain, quantity.upper()) for quantity in quantities]
        return self._evaluate(interpolators, domain, x, L, VDS, VSB, quantities)

    # -- evaluation -------------------------------------------------------------------------
    def _evaluate(self, interpolators: list["_Interpolator"], x_name: str, x, L, VDS, VSB,
                  quantities: tuple[str, ...] = ("",)) -> list[ArrayLike]:
        if x_name != "RANGE" and isinstance(x, _SCALAR) and isinstance(L, _SCALAR) and isinstance(VDS, _SCALAR) \
                and isinstance(VSB, _SCALAR):
            key = (*interpolators, x_name, float(x), float(L), float(VDS), float(VSB))
            answers = self._points.get(key)
            if answers is None:
                answers = self._evaluate_point(interpolators, x_name == "VGS", *key[-4:])
                if answers is not None:
                    if len(self._points) >= POINT_MEMORY:
                        self._points.clear()
                    self._points[key] = answers
            if answers is not None:
                return list(answers)
        inputs = [np.asarray(v, dtype=float) for v in (L, VSB, VDS, x)]
        shape = np.broadcast_shapes(*(value.shape for value in inputs))
        length, vsb, vds, xs = (value if value.shape == shape else np.broadcast_to(value, shape) for value in inputs)
        raw = np.empty((4, xs.size))
        for row, value in zip(raw, (length, vsb, vds, xs)):
            row[:] = value.ravel()
        if not self._inside(raw, x_name == "VGS"):  # one test for all; the checks below say what is wrong
            lengths, vsb_axis, vds_axis, vgs_axis = self.grid.axes()
            _check_inside("L", length, lengths, "m")
            _check_length_gap(length, lengths)
            _check_inside("VSB", vsb, vsb_axis, "V")
            _check_inside("VDS", vds, vds_axis, "V")
            _check_inside("VGS", xs, vgs_axis, "V")
        if self._wide_length_gaps:
            _check_length_gap(length, self.grid.axes()[0])
        points = raw
        points[0] = np.log(raw[0])
        points[1] = _body_axis(raw[1])
        answers = [np.empty(points.shape[1]) for _ in interpolators]
        for start in range(0, points.shape[1], CHUNK_POINTS):
            cells = _Cells(interpolators[0].axes, points[:, start:start + CHUNK_POINTS])
            corners = _Corners(interpolators[0].components, cells)  # one domain: shared by every quantity
            for interpolator, answer in zip(interpolators, answers):
                answer[start:start + CHUNK_POINTS] = interpolator(cells, corners)
        results = []
        for quantity, answer in zip(quantities, answers):
            values = answer.reshape(xs.shape)
            if x_name == "GM_ID" and np.isnan(values).any():  # "RANGE" asks for the NaNs themselves
                self._explain_gm_id(xs, length, vds, vsb, np.isnan(values))
            if x_name == "VGS" and np.isnan(values).any():
                index = tuple(np.argwhere(np.isnan(values))[0])
                raise ValueError(
                    f"{quantity.upper()} of the {self.device} table is undefined at VGS={xs[index]:g} V, L={length[index]:g} m, "
                    f"VDS={vds[index]:g} V, VSB={vsb[index]:g} V (no drain current there: VDS too small, or the device is off)"
                )
            results.append(values[()] if values.ndim == 0 else values)
        return results

    def _evaluate_point(self, interpolators: list["_Interpolator"], check_vgs: bool, x: float, length_m: float,
                        vds_v: float, vsb_v: float) -> list[np.float64] | None:
        """``_evaluate`` at one point, the same arithmetic in fewer numpy calls; None where the
        general path must answer (off the grid, a NaN: it raises the error that says why).

        Sizing asks one point at a time (about 130 per OTA plan, 8 per brentq root): the general
        path's broadcasting, four ``np.interp`` and the (2, 2, 2, 2, N) index arrays cost 68 us
        for one ID_W, this 23 us (generic180, measured on 2 shared cores). The same bits: log,
        exp and the einsum over the 16 corners are numpy's, on arrays of the shapes the general
        path gives one point ((16, 1): einsum sums one point in another order than many, so the
        last bits differ, and brentq's roots could carry that into a width); the grid positions repeat
        ``np.interp``'s arithmetic and the weights ``_Cells``' products, in IEEE doubles as numpy."""
        if self._wide_length_gaps:
            return None
        raw = (length_m, vsb_v, vds_v, x)
        rows = 4 if check_vgs else 3
        for value, low, high in zip(raw[:rows], self._lowest_list, self._highest_list):
            if not low <= value <= high:  # False for NaN too
                return None
        log_length = self._log_length.get(length_m)
        if log_length is None:  # numpy's log, as the general path takes it (sizing asks one or two L)
            log_length = self._log_length[length_m] = float(np.log(np.array([length_m]))[0])
        axes = interpolators[0].axes
        cell = axes.point_cell((log_length, math.sqrt(TWO_PHI_F_V + vsb_v), vds_v, x))
        if cell is None:
            return None
        corners = _PointCorners(self._vgs_flat if check_vgs else self._gm_id_flat, cell[0])
        answers = []
        for interpolator in interpolators:
            answer = interpolator.at_point(cell[1], corners)
            if math.isnan(answer[0]):
                return None
            answers.append(answer[0])
        return answers

    def gm_id_range(self, *, L: float, VDS: float, VSB: float = 0.0) -> tuple[float, float]:
        """The gm/ID span (S/A) the table covers at one bias: the strong-inversion branch, narrowed
        where a neighbouring grid curve does not reach as far (interpolation needs all of them).
        Kept per bias: the OTA sizing asks the same few biases for every seed (140 times for 20)."""
        key = (float(L), float(VDS), float(VSB))
        if key not in self._ranges:
            axis = self._gm_id_axis
            vgs = self._evaluate([self._interpolator("GM_ID", "VGS")], "RANGE", axis, *key)[0]
            covered = axis[np.isfinite(vgs)]
            self._ranges[key] = (float(covered.min()), float(covered.max())) if covered.size else (math.nan, math.nan)
        return self._ranges[key]

    def _explain_gm_id(self, gm_id, length, vds, vsb, bad) -> None:
        """Turn NaNs of a gm/ID look-up into an error that says which gm/ID the table covers there."""
        index = tuple(np.argwhere(bad)[0])
        low, high = self.gm_id_range(L=float(length[index]), VDS=float(vds[index]), VSB=float(vsb[index]))
        span = f"{low:.3g} to {high:.3g} S/A" if math.isfinite(low) else "none: no drain current there"
        raise ValueError(
            f"gm/ID {gm_id[index]:g} S/A is outside what the {self.device} table covers at L={length[index]:g} m, "
            f"VDS={vds[index]:g} V, VSB={vsb[index]:g} V (gm/ID {span}, from VGS up to {self.grid.vgs[-1]:g} V)"
        )

    def _interpolator(self, domain: str, quantity: str) -> "_Interpolator":
        """Built on first use and kept: the gm/ID domain costs a re-sampling of every curve."""
        key = (domain, quantity)
        if key not in self._interpolators:
            formula = _formula(quantity, self.grid.width_m)
            if domain == "VGS":
                self._interpolators[key] = _Interpolator(self._vgs_domain, self._components, formula)
            else:
                self._interpolators[key] = _Interpolator(self._gm_id_domain, self._gm_id_components, formula)
        return self._interpolators[key]

    @functools.cached_property
    def _vgs_domain(self) -> "_Axes":
        return _Axes(self._vgs_axes)

    @functools.cached_property
    def _gm_id_domain(self) -> "_Axes":
        return _Axes((*self._vgs_axes[:3], self._gm_id_axis))

    @functools.cached_property
    def _vgs_flat(self) -> "_FlatViews":
        return _FlatViews(self._components)

    @functools.cached_property
    def _gm_id_flat(self) -> "_FlatViews":
        return _FlatViews(self._gm_id_components)

    @functools.cached_property
    def _gm_id(self) -> np.ndarray:
        """gm/ID on the grid; NaN where it is not physical: no current (VDS = 0), or above q/kT,
        the weak-inversion limit (slope factor n >= 1) that only numerical noise exceeds."""
        limit = ELEMENTARY_CHARGE / (BOLTZMANN * (float(self.meta.get("temp_c", 27.0)) + ZERO_CELSIUS_K))
        with np.errstate(divide="ignore", invalid="ignore"):
            gm_id = self.table.data["gm"] / self.table.data["id"]
        return np.where((gm_id > 0) & (gm_id <= limit), gm_id, np.nan)

    @functools.cached_property
    def _gm_id_axis(self) -> np.ndarray:
        top = np.nanmax(self._gm_id)
        return np.arange(0.0, top + GM_ID_STEP, GM_ID_STEP)

    @functools.cached_property
    def _gm_id_components(self) -> dict[str, np.ndarray]:
        """Every stored quantity and VGS re-sampled on the gm/ID axis, curve by curve; read
        (memory-mapped) from the cache file when an earlier process made it: the re-sampling
        costs about a second per device, which every optimizer run would otherwise pay again."""
        names = [*SIMULATED, "vgs"]
        stamp = {"gm_id_format": GM_ID_CACHE_FORMAT, "gm_id_step": GM_ID_STEP, "grid_shape": list(self.grid.shape),
                 "gm_id_points": int(self._gm_id_axis.size)}
        if self._cache_file is not None:
            try:
                header, arrays = load_mapped(self._cache_file)
                if all(header.get(key) == value for key, value in stamp.items()) and set(names) <= set(arrays):
                    return {name: arrays[name] for name in names}
            except (OSError, ValueError, KeyError, TypeError):
                pass  # missing, unreadable or another format: re-sample and overwrite it
        components = self._resample_on_gm_id(names)
        if self._cache_file is not None:
            try:
                return load_mapped(save_mapped(self._cache_file, components, stamp))[1]
            except OSError:
                pass  # a read-only cache only costs the re-sampling next time
        return components

    def _resample_on_gm_id(self, names: list[str]) -> dict[str, np.ndarray]:
        # imported here: once per table and data directory, where scipy.interpolate's 0.2 s of
        # imports would otherwise delay every command (and an optimization's first simulation)
        from scipy.interpolate import PchipInterpolator

        stacked = np.stack([np.asarray(self._components[name]) for name in names], axis=-1)
        axis = self._gm_id_axis
        out = np.full((len(names), *self.grid.shape[:3], axis.size), np.nan)  # one contiguous array per name
        gm_id = self._gm_id
        for node in np.ndindex(*self.grid.shape[:3]):
            branch = _strong_inversion_branch(gm_id[node])
            if branch.size >= 2:
                ratio = gm_id[node][branch][::-1]
                curves = stacked[node][branch][::-1]
                out[(slice(None), *node)] = PchipInterpolator(ratio, curves, axis=0, extrapolate=False)(axis).T
        return dict(zip(names, out))


def _body_axis(vsb: np.ndarray) -> np.ndarray:
    """VSB as sqrt(2 phi_F + VSB): the threshold voltage is linear in it (body effect), so linear
    interpolation between the few simulated VSB values does not bend VGS by millivolts."""
    return np.sqrt(TWO_PHI_F_V + np.asarray(vsb, dtype=float))


def _strong_inversion_branch(gm_id: np.ndarray) -> np.ndarray:
    """Indices from the gm/ID maximum upward in VGS where gm/ID strictly falls (one-to-one with VGS)."""
    finite = np.isfinite(gm_id)
    if finite.sum() < 2:
        return np.array([], dtype=int)
    start = int(np.nanargmax(np.where(finite, gm_id, np.nan)))
    indices = np.flatnonzero(finite[start:]) + start
    values = gm_id[indices]
    falling = np.concatenate([[True], values[1:] < np.minimum.accumulate(values)[:-1]])
    return indices[falling]


class _Axes:
    """The four axes of one interpolation domain, with what every look-up needs of them precomputed."""

    def __init__(self, axes: tuple[np.ndarray, ...]) -> None:
        self.axes = axes
        self.positions = tuple(np.arange(axis.size, dtype=float) for axis in axes)
        self.last = np.array([[axis.size - 1] for axis in axes])
        span = np.array([[axis[0], axis[-1]] for axis in axes])
        slack = 1e-9 * (span[:, 1:] - span[:, :1])  # grid ends reached through float arithmetic
        self.lowest, self.highest = span[:, :1] - slack, span[:, 1:] + slack
        # for point_cell: Python floats, and each axis' step in a C-ordered grid array's flat index
        sizes = [axis.size for axis in axes]
        steps = [math.prod(sizes[dim + 1:]) for dim in range(len(axes))]
        self._point_axes = [
            (axis.tolist(), size - 1, step, float(low), float(high))
            for axis, size, step, low, high in zip(axes, sizes, steps, self.lowest[:, 0], self.highest[:, 0])
        ]
        # the 16 corners' flat offsets from the lowest one, in _Cells' order, by which axes have a
        # next point (bit 3 - d for axis d; at an axis' last point both neighbours are that point)
        self._corner_offsets = [
            np.array([sum(i * step for dim, (i, step) in enumerate(zip(corner, steps)) if has_next >> (3 - dim) & 1)
                      for corner in itertools.product((0, 1), repeat=4)], dtype=np.intp).reshape(16, 1)
            for has_next in range(16)
        ]

    def point_cell(self, point: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray] | None:
        """``_Cells`` of one point (in axis coordinates) as flat indices of its 16 corners and their
        weights, both (16, 1) in the same corner order; None off an axis (where ``_Cells`` says NaN)."""
        lowest_index, has_next, pairs = 0, 0, []
        for value, (axis, last, step, lowest, highest) in zip(point, self._point_axes):
            if not lowest <= value <= highest:
                return None
            position = _grid_position(value, axis)
            low = math.floor(position)
            fraction = position - low
            lowest_index += low * step
            has_next = 2 * has_next + (low < last)
            pairs.append((1.0 - fraction, fraction))
        (a, b, c, d) = pairs
        # ((w_L * w_VSB) * w_VDS) * w_x: the order of _Cells' products
        weights = [((w0 * w1) * w2) * w3 for w0 in a for w1 in b for w2 in c for w3 in d]
        return self._corner_offsets[has_next] + lowest_index, np.array(weights).reshape(16, 1)


def _grid_position(value: float, axis: list[float]) -> float:
    """``np.interp(value, axis, arange(len(axis)))`` for one value on the axis, the same operations:
    numpy's binary search gives the same interval, and its slope is 1 / (axis[j + 1] - axis[j])."""
    j = bisect.bisect_right(axis, value) - 1
    if j < 0:
        return 0.0
    if j >= len(axis) - 1:
        return float(len(axis) - 1)
    if axis[j] == value:
        return float(j)
    return 1.0 / (axis[j + 1] - axis[j]) * (value - axis[j]) + j


class _Cells:
    """The grid cells around N look-up points: for each point, the indices of the 2^4 = 16 grid
    points around it (arrays that broadcast to (2, 2, 2, 2, N)) and their multilinear weights.

    Points exactly on a grid line keep the next line with weight 0, and a NaN there makes the
    result NaN, as scipy.ndimage's ``map_coordinates`` (order 1, mode "nearest") did, which this
    replaces; at an axis' last point both neighbours are that point."""

    def __init__(self, axes: _Axes, points: np.ndarray) -> None:
        """``points``: (4, N) in axis coordinates (log L, body axis, VDS, VGS or gm/ID)."""
        count = points.shape[1]
        position = np.empty_like(points)
        for dim, (axis, positions) in enumerate(zip(axes.axes, axes.positions)):
            position[dim] = np.interp(points[dim], axis, positions)
        low = np.floor(position)
        fraction = position - low
        low = low.astype(np.intp)
        pairs = np.array((low, np.minimum(low + 1, axes.last)))   # (2, 4, N): each axis' two neighbours
        weights = np.array((1.0 - fraction, fraction))              # (2, 4, N): their weights
        shapes = ((2, 1, 1, 1, count), (1, 2, 1, 1, count), (1, 1, 2, 1, count), (1, 1, 1, 2, count))
        self.index = tuple(pairs[:, dim].reshape(shape) for dim, shape in enumerate(shapes))
        w = [weights[:, dim].reshape(shape) for dim, shape in enumerate(shapes)]
        self.weights = w[0] * w[1] * w[2] * w[3]
        self.outside = ((points < axes.lowest) | (points > axes.highest)).any(axis=0)

    def gather(self, values: np.ndarray) -> np.ndarray:
        """``values`` (a 4-D grid array, possibly memory-mapped) at the 16 corners: (2, 2, 2, 2, N)."""
        return values[self.index]

    def combine(self, corners: np.ndarray) -> np.ndarray:
        """The weighted sum over the 16 corners: N values (einsum: no 16 x N temporary)."""
        return np.einsum("kn,kn->n", self.weights.reshape(16, -1), corners.reshape(16, -1))


class _Corners(dict):
    """A quantity formula's view of the stored components: each one gathered at the cells' corners
    on first use, so a formula reads only what it names (and only those pages of the files)."""

    def __init__(self, components: Mapping[str, np.ndarray], cells: _Cells) -> None:
        super().__init__()
        self._components, self._cells = components, cells

    def __missing__(self, name: str) -> np.ndarray:
        self[name] = values = self._cells.gather(self._components[name])
        return values


class _FlatViews(dict):
    """Each stored component as a flat array (a view of the memory-mapped file; the broadcast VGS
    of the VGS domain is copied once), indexed by ``_Axes.point_cell``'s flat indices."""

    def __init__(self, components: Mapping[str, np.ndarray]) -> None:
        super().__init__()
        self._components = components

    def __missing__(self, name: str) -> np.ndarray:
        self[name] = values = np.ascontiguousarray(self._components[name]).reshape(-1)
        return values


class _PointCorners(dict):
    """``_Corners`` of one point: each component's 16 corner values, (16, 1), on first use."""

    def __init__(self, flat: _FlatViews, index: np.ndarray) -> None:
        super().__init__()
        self._flat, self._index = flat, index

    def __missing__(self, name: str) -> np.ndarray:
        self[name] = values = self._flat[name].take(self._index)
        return values


class _Interpolator:
    """Multilinear interpolation of one quantity on the table grid; off-axis points are NaN.

    The quantity is computed from the stored components at the 16 grid points around each
    look-up only, not over the whole grid ahead of time: that took a second and about 7 MB per
    quantity of each process's memory, and read every page of the memory-mapped tables.

    Positive values are interpolated as their logarithm, wherever all the grid points around a
    look-up are positive: ID is exponential in VGS and in VTH (so in the body axis) below strong
    inversion, and linear interpolation of that convex curve overshoots (ID/W was up to 17 % too
    high between the 0.2 V apart VSB points of the former grid). Cells that touch a zero or
    negative value (ID at VDS = 0) fall back to linear interpolation of the values themselves."""

    def __init__(self, axes: _Axes, components: Mapping[str, np.ndarray],
                 formula: Callable[[dict[str, np.ndarray]], np.ndarray]) -> None:
        self.axes = axes
        self.components = components
        self._formula = formula

    def __call__(self, cells: _Cells, corners: "_Corners") -> np.ndarray:
        """The quantity at the points of ``cells``, from ``corners`` (of ``components``); N values."""
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.broadcast_to(np.asarray(self._formula(corners), dtype=float), cells.weights.shape)
            logs = np.log(values, out=np.full(values.shape, np.nan), where=values > 0)
            result = np.exp(cells.combine(logs))
        linear = np.isnan(result)
        if linear.any():
            result[linear] = cells.combine(values)[linear]
        result[cells.outside] = np.nan
        return result

    def at_point(self, weights: np.ndarray, corners: "_PointCorners") -> np.ndarray:
        """``__call__`` for one point inside the grid (``_Axes.point_cell``): the same numpy calls
        on arrays of the same (16, 1) shape, so the same bits; one value."""
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.asarray(self._formula(corners), dtype=float)
            if values.shape != weights.shape:
                values = np.broadcast_to(values, weights.shape)
            logs = np.log(values, out=_NAN_CORNERS.copy(), where=values > 0)
            result = np.exp(np.einsum("kn,kn->n", weights, logs))
        if math.isnan(result[0]):
            result = np.einsum("kn,kn->n", weights, values)
        return result


def _check_inside(name: str, values: np.ndarray, axis: np.ndarray, unit: str) -> None:
    low, high = float(axis[0]), float(axis[-1])
    tolerance = 1e-9 * max(abs(low), abs(high), 1e-30)
    outside = ~((values >= low - tolerance) & (values <= high + tolerance))
    if outside.any():
        bad = values[outside].flat[0]
        raise ValueError(f"{name}={bad:g} {unit} is outside the table's grid ({name} from {low:g} to {high:g} {unit})")


def _check_length_gap(length: np.ndarray, lengths: np.ndarray) -> None:
    """Refuse an L between two table lengths too far apart to interpolate within 2 %."""
    upper = np.clip(np.searchsorted(lengths, length), 1, lengths.size - 1)
    low, high = lengths[upper - 1], lengths[upper]
    on_grid = np.isclose(length, low, rtol=1e-9) | np.isclose(length, high, rtol=1e-9)
    bad = ~on_grid & (high / low > MAX_LENGTH_RATIO)
    if bad.any():
        index = np.argwhere(bad)[0]
        a, b = float(low[tuple(index)]), float(high[tuple(index)])
        raise ValueError(
            f"L={float(length[tuple(index)]):g} m lies between the table's lengths {a:g} and {b:g} m, too far apart "
            f"(ratio {b / a:.2f} > {MAX_LENGTH_RATIO}) to interpolate within 2 %: use one of them, add the length to the "
            "technology's table lengths, or size with a direct check (gmopt size checks by default)"
        )


# -- module-level: build-or-load the cached table ------------------------------------------
_loaded: dict[tuple[Path, str], Lut] = {}
_KINDS = {"n": "nmos", "nmos": "nmos", "p": "pmos", "pmos": "pmos"}
# the tables found in the current ``model_files_checked_once`` (None outside one)
_checked_once: contextvars.ContextVar[dict[tuple, Lut] | None] = contextvars.ContextVar("_checked_once", default=None)


@contextlib.contextmanager
def model_files_checked_once() -> Iterator[None]:
    """Within it, ``load_lut`` checks each model file once and then answers from memory.

    A sizing loads its tables once per look-up (``lookup(condition, ...)``), and each load
    checked the model file (a stat, so that a changed file is noticed): 17,000 checks of 2.2 us
    for 100 fig7 plans, a tenth of their time once the look-ups are fast (0.2 us each here).
    One OTA plan, or one run's seeded population, is made under one check: a model file changed
    meanwhile is seen by the next one. Nested: the outermost decides."""
    if _checked_once.get() is not None:
        yield
        return
    token = _checked_once.set({})
    try:
        yield
    finally:
        _checked_once.reset(token)


def load_lut(condition: Condition, device: str) -> Lut:
    """The table of one device at a condition (``Technology.at``), built (and cached) on first
    use; kept in memory per cache file, so repeated calls cost nothing (``model_files_checked_once``:
    not even the model file's check)."""
    checked = _checked_once.get()
    if checked is None:
        return _load_lut(condition, device)
    technology = condition.technology
    key = (technology.name, str(technology.model_file), condition.corner, condition.temp_c, device)
    lut = checked.get(key)
    if lut is None:
        lut = checked[key] = _load_lut(condition, device)
    return lut


def _load_lut(condition: Condition, device: str) -> Lut:
    kind = _KINDS.get(str(device).lower())
    if kind is None:
        raise ValueError(f"unknown device {device!r}: choose 'nmos' or 'pmos'")
    path = _table_path(condition)
    if (path, kind) not in _loaded:
        tables = build_or_load(condition).tables
        _loaded.update({
            (path, device): Lut(table, path.with_name(f"{path.stem}.{device}.gmid.npy")) for device, table in tables.items()
        })
    key = (path, kind)
    return _loaded[key]


_paths: dict[tuple, Path] = {}


def _table_path(condition: Condition) -> Path:
    """The cache file of a table, remembered per model file version: hashing the provenance at
    every look-up cost more than the look-up itself (sizing an OTA makes about a hundred)."""
    technology = condition.technology
    stat = technology.model_file.stat()
    key = (technology.name, str(technology.model_file), stat.st_mtime_ns, stat.st_size, condition.corner, condition.temp_c)
    if key not in _paths:
        _paths[key] = cache_path(provenance(condition, default_grid(technology))).resolve()
    return _paths[key]


def lookup(
    tech: Condition | Technology | str | None,
    device: str,
    quantity: str,
    *,
    vgs: ArrayLike | None = None,
    gm_id: ArrayLike | None = None,
    L: ArrayLike,
    VDS: ArrayLike,
    VSB: ArrayLike = 0.0,
    corner: str | None = None,
    temp_c: float | None = None,
) -> ArrayLike:
    """``lookup("sky130", "nmos", "ID_W", gm_id=12, L=1e-6, VDS=0.9, corner="ss")``: see
    ``Lut.lookup``. ``tech``: a ``Condition`` (as the first sizing passes, unchecked here), or a
    technology (name) checked at ``corner`` and ``temp_c`` (None: its default corner, 27 degC)."""
    return load_lut(resolve_condition(tech, corner, temp_c), device).lookup(quantity, vgs=vgs, gm_id=gm_id, L=L, VDS=VDS, VSB=VSB)


def lookup_vgs(
    tech: Condition | Technology | str | None,
    device: str,
    *,
    gm_id: ArrayLike,
    L: ArrayLike,
    VDS: ArrayLike,
    VSB: ArrayLike = 0.0,
    corner: str | None = None,
    temp_c: float | None = None,
) -> ArrayLike:
    """The VGS giving ``gm_id``: see ``Lut.lookup_vgs`` (and ``lookup`` for ``tech``)."""
    return load_lut(resolve_condition(tech, corner, temp_c), device).lookup_vgs(gm_id=gm_id, L=L, VDS=VDS, VSB=VSB)
