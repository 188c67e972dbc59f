"""The LUT cache as memory-mapped files: read-only maps equal to what ngspice simulated, an older
version's ``.npz`` read (never re-simulated, never misread), a damaged or foreign file rebuilt;
look-ups from the 16 grid points around each point equal an independent multilinear
interpolation (scipy's RegularGridInterpolator over the whole grid) to 1e-12."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.interpolate import RegularGridInterpolator

import lut.build
from lut.build import build_or_load, cache_path, legacy_cache_path, provenance, simulate_tables
from lut.lookup import CHUNK_POINTS, TWO_PHI_F_V, load_lut
from lut.table import SIMULATED, Grid, save_tables
from lut.technology import GENERIC180

# A small grid (2 L x 2 VSB, coarse sweeps: about a second to simulate) with its own cache key.
SMALL = Grid(length_m=(0.5e-6, 1e-6), vsb_v=(0.0, 0.3), vgs_sweep_v=(0.0, 1.8, 0.1), vds_sweep_v=(0.0, 1.8, 0.3))
# generic180's first sizings (Var per device), as the whole-grid interpolators of before gave them.
FIRST_SIZINGS = {
    "baseline": [731, 2527], "fig7": [1238, 3551, 2714, 2838, 2838], "fig8": [731, 3197, 2456, 2527, 6303, 2527, 6303],
    "fig9": [731, 570, 1242, 1242, 2527, 2527, 6303, 6303],
}


@pytest.fixture
def own_cache(data_dir: Path) -> Path:
    """This test's own LUT cache folder (not the session's shared one, which other tests read)."""
    (data_dir / "luts").unlink()
    (data_dir / "luts").mkdir()
    return data_dir / "luts"


def _as_json(meta: dict) -> dict:
    """Provenance as a header stores it (tuples become lists)."""
    return json.loads(json.dumps(meta))


def _mapped(values: np.ndarray) -> bool:
    while values is not None and not isinstance(values, np.memmap):
        values = values.base
    return values is not None


def test_cached_tables_are_read_only_maps_of_what_ngspice_simulated(own_cache: Path) -> None:
    condition = GENERIC180.at("tt")
    simulated = simulate_tables(condition, SMALL)  # a second, independent simulation of the same grid
    built = build_or_load(condition, SMALL)
    again = build_or_load(condition, SMALL)
    assert built.simulated and not again.simulated and again.path == built.path and again.path.suffix == ".npy"
    for device, table in again.tables.items():
        assert table.meta == _as_json(simulated[device].meta) and table.grid == SMALL
        for name in SIMULATED:
            values = table.data[name]
            assert _mapped(values) and not values.flags.writeable
            np.testing.assert_array_equal(values, simulated[device].data[name])


def test_an_older_versions_npz_cache_is_read_and_converted_not_simulated(own_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    condition = GENERIC180.at("tt")
    tables = simulate_tables(condition, SMALL)
    path = cache_path(provenance(condition, SMALL))
    save_tables(legacy_cache_path(path), tables)  # the file earlier versions wrote for this key

    def no_simulation(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("simulated although the older cache file holds the table")

    monkeypatch.setattr(lut.build, "simulate_tables", no_simulation)
    result = build_or_load(condition, SMALL)
    assert not result.simulated and result.path == path and path.is_file()
    for device, table in result.tables.items():
        assert _mapped(table.data["id"]) and table.meta == _as_json(tables[device].meta)
        for name in SIMULATED:
            np.testing.assert_array_equal(table.data[name], tables[device].data[name])


def _damage(path: Path, kind: str) -> None:
    header_path = path.with_suffix(".json")
    header = json.loads(header_path.read_text())
    if kind == "format":
        header_path.write_text(json.dumps({**header, "format": header["format"] - 1}))
    elif kind == "shape":
        header_path.write_text(json.dumps({**header, "shape": [header["shape"][0], *header["shape"][1:-1], header["shape"][-1] - 1]}))
    elif kind == "dtype":  # the same shape as float32: other numbers, the same header
        np.save(path, np.load(path).astype(np.float32))
    elif kind == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "no header":
        header_path.unlink()


@pytest.mark.parametrize("kind", ["format", "shape", "dtype", "truncated", "no header"])
def test_a_damaged_or_foreign_cache_file_is_rebuilt_never_read(own_cache: Path, kind: str) -> None:
    condition = GENERIC180.at("tt")
    built = build_or_load(condition, SMALL)
    expected = {device: {name: np.array(values) for name, values in table.data.items()} for device, table in built.tables.items()}
    del built  # its maps point at the file damaged next
    path = cache_path(provenance(condition, SMALL))
    _damage(path, kind)
    rebuilt = build_or_load(condition, SMALL)
    assert rebuilt.simulated
    for device, table in rebuilt.tables.items():
        for name in SIMULATED:
            np.testing.assert_array_equal(table.data[name], expected[device][name])
    assert not build_or_load(condition, SMALL).simulated  # and the rewritten file is read again


def _independent(values: np.ndarray, axes: tuple[np.ndarray, ...], points: np.ndarray) -> np.ndarray:
    """Multilinear interpolation of log(values) over the whole grid, by scipy (zeros elsewhere in
    the grid become -inf, never reached from the points asked)."""
    with np.errstate(divide="ignore"):
        return np.exp(RegularGridInterpolator(axes, np.log(values))(points))


@pytest.mark.parametrize("device", ["nmos", "pmos"])
def test_lookups_equal_an_independent_interpolation_of_the_logarithm(device: str) -> None:
    """Random points off every grid line (and more of them than one pass takes), where every
    grid value around them is positive: ID/W against VGS and against gm/ID within 1e-12;
    several quantities in one pass equal each looked up alone, and one point alone equals the
    same point among many to 1e-14 (the weighted sums run in another order)."""
    lut = load_lut(GENERIC180.at(), device)
    grid = lut.grid
    rng = np.random.default_rng(17)
    count = CHUNK_POINTS + 1000
    length = np.exp(rng.uniform(np.log(grid.length_m[0]), np.log(grid.length_m[-1]), count))
    vsb, vds = rng.uniform(0.0, grid.vsb_v[-1], count), rng.uniform(0.1, grid.vds[-1], count)
    log_axes = (np.log(grid.length_m), np.sqrt(TWO_PHI_F_V + np.asarray(grid.vsb_v)), grid.vds)
    position = np.stack([np.log(length), np.sqrt(TWO_PHI_F_V + vsb), vds], axis=-1)

    vgs = rng.uniform(0.6, grid.vgs[-1], count)  # above threshold: ID > 0 at every grid point around
    expected = _independent(lut.table.data["id"] / grid.width_m, (*log_axes, grid.vgs), np.column_stack([position, vgs]))
    np.testing.assert_allclose(lut.lookup("ID_W", vgs=vgs, L=length, VDS=vds, VSB=vsb), expected, rtol=1e-12)

    gm_id = rng.uniform(6.0, 12.0, count)  # covered at every grid curve with VDS >= 0.1 V
    resampled = lut._gm_id_components  # the re-sampled grid both interpolations start from
    expected = _independent(resampled["id"] / grid.width_m, (*log_axes, lut._gm_id_axis), np.column_stack([position, gm_id]))
    bias = {"gm_id": gm_id, "L": length, "VDS": vds, "VSB": vsb}
    np.testing.assert_allclose(lut.lookup("ID_W", **bias), expected, rtol=1e-12)

    together = lut.lookup_many(("ID_W", "VGS", "GDS_ID", "FT"), **bias)
    for name, values in together.items():
        np.testing.assert_array_equal(values, lut.lookup(name, **bias))
    scalar = {key: float(value[5]) for key, value in bias.items()}
    assert lut.lookup("GDS_ID", **scalar) == pytest.approx(together["GDS_ID"][5], rel=1e-14)  # summed in another order


@pytest.mark.parametrize("topology", sorted(FIRST_SIZINGS))
def test_first_sizings_are_the_widths_of_before(topology: str) -> None:
    from ota.sizing import first_sizing

    assert first_sizing(topology) == FIRST_SIZINGS[topology]
