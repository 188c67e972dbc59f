"""The one-point look-up (``Lut._evaluate_point``, what sizing asks) against the general vector one.

Both interpolate the same 16 grid values; the one-point path only spends fewer numpy calls on it.
Checked at points a sizing meets and at the edges where a slip would show: on grid lines (weight
0 on a neighbour), at the axes' ends (both neighbours one point), just inside the grid's float
tolerance, where the log interpolation falls back to linear (cells touching VDS = 0, where ID is
0), and where the answer is NaN or off the grid (the same error, word for word).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import lut.lookup
from lut.lookup import Lut, load_lut, model_files_checked_once
from lut.technology import GENERIC180

QUANTITIES = ("ID_W", "GM_ID", "GDS_ID", "GMBS_ID", "FT", "VTH", "VDSAT", "CGG_W", "GM_GDS", "ID")


def _edges(axis: np.ndarray) -> list[float]:
    """An axis' ends, a line inside, the middle of a cell, and the ends nudged inside the tolerance."""
    low, high = float(axis[0]), float(axis[-1])
    nudge = 1e-10 * max(abs(low), abs(high))
    return [low, high, float(axis[1]), float(axis[len(axis) // 2]), float(axis[1] + axis[2]) / 2, low - nudge, high + nudge]


def _points(lut: Lut, x_axis: np.ndarray, rng: np.random.Generator) -> list[tuple[float, float, float, float]]:
    """(L, VDS, VSB, x) on every combination of the axes' edges, plus random points inside."""
    grid = lut.grid
    edges = [_edges(np.asarray(grid.length_m)), _edges(grid.vds), _edges(np.asarray(grid.vsb_v)), _edges(x_axis)]
    count = 300
    random = zip(
        np.exp(rng.uniform(np.log(grid.length_m[0]), np.log(grid.length_m[-1]), count)), rng.uniform(0.0, grid.vds[-1], count),
        rng.uniform(0.0, grid.vsb_v[-1], count), rng.uniform(x_axis[0], x_axis[-1], count),
    )
    chosen = list(itertools.product(*edges))[::7]  # every 7th of the 2,401 edge combinations: all kinds, seconds
    return [tuple(map(float, point)) for point in [*chosen, *random]]


def _one(lut: Lut, quantity: str, domain: str, point: tuple[float, ...], wrap=float):
    """The look-up at one point, or the error it raises; ``wrap`` the inputs' type."""
    length, vds, vsb, x = (wrap(value) for value in point)
    try:
        return lut.lookup(quantity, L=length, VDS=vds, VSB=vsb, **{domain: x})
    except ValueError as exc:
        return str(exc)


@pytest.mark.parametrize("device", ["nmos", "pmos"])
@pytest.mark.parametrize("domain", ["vgs", "gm_id"])
def test_one_point_equals_the_vector_look_up(device: str, domain: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """At each point and quantity: the one-point answer equals the general path's for the same
    point alone (0-d arrays: what every scalar look-up took before) bit for bit, and the general
    path's for all points at once to 1e-12 (its weighted sums run in another order); a point
    without an answer raises the general path's error."""
    monkeypatch.setattr(lut.lookup, "POINT_MEMORY", 0)  # remember only the last point: compute (almost) every one
    table = load_lut(GENERIC180.at(), device)
    x_axis = table.grid.vgs if domain == "vgs" else table._gm_id_axis
    points = _points(table, x_axis, np.random.default_rng(5))
    assert not np.asarray(table.table.data["id"])[:, :, 0, :].any()  # no current at VDS = 0: linear cells there
    kinds = {"answered": 0, "raised": 0, "linear": 0}
    for index, point in enumerate(points):
        quantity = QUANTITIES[index % len(QUANTITIES)]
        fast, alone = _one(table, quantity, domain, point), _one(table, quantity, domain, point, np.array)
        if isinstance(alone, str):
            assert fast == alone, point
            kinds["raised"] += 1
            continue
        assert type(fast) is type(alone) is np.float64
        assert fast == alone, (quantity, point)
        kinds["answered"] += 1
        kinds["linear"] += quantity.startswith("ID") and point[1] < table.grid.vds[1]  # a corner at VDS = 0
    answered = [point for index, point in enumerate(points) if not isinstance(_one(table, "VDSAT", domain, point), str)]
    length, vds, vsb, x = (np.array(column) for column in zip(*answered))
    for quantity in ("VDSAT", "VTH"):  # defined wherever VDSAT is: one vector look-up over all of them
        many = table.lookup(quantity, L=length, VDS=vds, VSB=vsb, **{domain: x})
        single = [table.lookup(quantity, L=a, VDS=b, VSB=c, **{domain: d}) for a, b, c, d in answered]
        np.testing.assert_allclose(single, many, rtol=1e-12, atol=0)
    # every kind of point was met: answers, errors (off the grid, gm/ID not covered, no current), and
    # against VGS linear cells (against gm/ID a curve at VDS = 0 has no gm/ID: those points raise)
    assert kinds["answered"] >= 100 and kinds["raised"] >= 20 and len(answered) >= 100, kinds
    assert kinds["linear"] >= (20 if domain == "vgs" else 0), kinds


def test_several_quantities_at_one_point_equal_each_alone() -> None:
    """``lookup_many`` shares the point's cell: each answer equals its own look-up and the vector
    path's for the same point."""
    table = load_lut(GENERIC180.at(), "nmos")
    bias = {"gm_id": 11.3, "L": 0.9e-6, "VDS": 0.45, "VSB": 0.23}
    together = table.lookup_many(QUANTITIES, **bias)
    vector = table.lookup_many(QUANTITIES, **{key: np.array([value]) for key, value in bias.items()})
    for name in QUANTITIES:
        assert together[name] == table.lookup(name, **bias) == pytest.approx(vector[name][0], rel=1e-12)


def test_remembered_answers_are_the_computed_ones_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A point asked again gets the same number; the memory forgets everything when full."""
    monkeypatch.setattr(lut.lookup, "POINT_MEMORY", 3)
    table = load_lut(GENERIC180.at(), "pmos")
    table._points.clear()
    vgs = [0.6, 0.7, 0.8, 0.9, 1.0]
    first = [table.lookup("ID_W", vgs=v, L=1e-6, VDS=0.6) for v in vgs]
    assert len(table._points) <= 3
    again = [table.lookup("ID_W", vgs=v, L=1e-6, VDS=0.6) for v in vgs]
    assert again == first
    assert first == pytest.approx(list(table.lookup("ID_W", vgs=np.array(vgs), L=1e-6, VDS=0.6)), rel=1e-12)


def test_model_files_are_checked_once_per_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside a scope every ``load_lut`` checks the model file (a changed file is noticed at the
    next look-up); inside one, once per condition and device, and the next scope checks again."""
    condition = GENERIC180.at()
    checks = []
    table_path = lut.lookup._table_path
    monkeypatch.setattr(lut.lookup, "_table_path", lambda c: checks.append(c) or table_path(c))
    load_lut(condition, "nmos"), load_lut(condition, "nmos")
    assert len(checks) == 2
    for _ in range(2):
        with model_files_checked_once():
            with model_files_checked_once():  # nested: the outer scope decides
                tables = [load_lut(condition, device) for device in ("nmos", "pmos", "nmos", "pmos")]
    assert len(checks) == 2 + 2 * 2
    assert tables[0] is tables[2] is load_lut(condition, "nmos") and tables[1].device == "pmos"
