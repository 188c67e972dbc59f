"""LUT figures: cold build time of generic180's two tables, look-up throughput, and one small
circuit re-simulated in the persistent ngspice session against a fresh ``ngspice -b`` per run."""

from __future__ import annotations

import time

import numpy as np

from engine import open_engine
from lut.build import default_grid, simulate_tables
from lut.lookup import Lut
from lut.sizing import size_transistor
from lut.technology import GENERIC180

LOOKUP_POINTS = 1_000_000
GM_ID_POINTS = 200_000
RERUNS = 40
SIZINGS = 40
AMPLIFIER = """common-source stage re-simulated with new parameters
.param rload=20k wn=10u
{include}
vdd vdd 0 1.8
vin in 0 dc 0.6 ac 1
rl vdd out {{rload}}
m1 out in 0 0 nch w={{wn}} l=1u
cl out 0 1p
"""


def _random_bias(lut: Lut, rng: np.random.Generator, count: int) -> dict[str, np.ndarray]:
    grid = lut.grid
    return {
        "L": np.exp(rng.uniform(np.log(grid.length_m[0]), np.log(grid.length_m[-1]), count)),
        "VDS": rng.uniform(0.2, grid.vds[-1], count),
        "VSB": rng.uniform(grid.vsb_v[0], grid.vsb_v[-1], count),
    }


def _points_per_second(call, count: int) -> float:
    started = time.perf_counter()
    call()
    return count / (time.perf_counter() - started)


def _rerun_seconds(backend: str) -> float:
    """Mean time of one parameter change plus op and ac analyses."""
    with open_engine(backend) as engine:
        engine.load(AMPLIFIER.format(include=GENERIC180.include("tt")))
        engine.run({"op": "op"})
        started = time.perf_counter()
        for index in range(RERUNS):
            engine.set_params({"rload": 10e3 + 1e3 * index, "wn": 5e-6 + 0.5e-6 * index})
            engine.run({"op": "op", "ac": "ac dec 10 1k 1g"})
        return (time.perf_counter() - started) / RERUNS


def _sizing_ms(check: bool) -> float:
    """Mean time of one ``size_transistor`` on generic180 (random narrow to wide devices), with or
    without the direct ngspice check; the check's session is loaded before timing."""
    rng = np.random.default_rng(1)
    cases = [(rng.uniform(6, 18), float(np.exp(rng.uniform(np.log(2e-6), np.log(200e-6)))), float(rng.uniform(0.2e-6, 2e-6)))
             for _ in range(SIZINGS)]
    size_transistor(GENERIC180, "nmos", 12, 50e-6, 1e-6, 0.9, check=check)
    started = time.perf_counter()
    for gm_id, current_a, length_m in cases:
        size_transistor(GENERIC180, "nmos", gm_id, current_a, length_m, 0.9, check=check)
    return (time.perf_counter() - started) / SIZINGS * 1e3


def main() -> dict:
    grid = default_grid(GENERIC180)
    started = time.perf_counter()
    tables = simulate_tables(GENERIC180.at("tt", 27.0), grid)
    build_s = time.perf_counter() - started
    sweeps = len(grid.length_m) * len(grid.vsb_v)

    lut = Lut(tables["nmos"])
    rng = np.random.default_rng(0)
    bias = _random_bias(lut, rng, LOOKUP_POINTS)
    vgs = rng.uniform(0.0, 1.8, LOOKUP_POINTS)
    lut.lookup("ID_W", vgs=0.8, L=1e-6, VDS=0.9)  # build the interpolator once
    vgs_rate = _points_per_second(lambda: lut.lookup("ID_W", vgs=vgs, **bias), LOOKUP_POINTS)
    started = time.perf_counter()
    lut.lookup("ID_W", gm_id=10.0, L=1e-6, VDS=0.9)  # one-time re-sampling on the gm/ID axis
    gm_id_setup_s = time.perf_counter() - started
    small = {key: values[:GM_ID_POINTS] for key, values in bias.items()}
    gm_id = rng.uniform(5.0, 20.0, GM_ID_POINTS)
    gm_id_rate = _points_per_second(lambda: lut.lookup("ID_W", gm_id=gm_id, **small), GM_ID_POINTS)

    shared_s, batch_s = _rerun_seconds("shared"), _rerun_seconds("batch")
    table_ms, checked_ms = _sizing_ms(False), _sizing_ms(True)
    figures = {
        "lut_build_s": build_s, "lut_sweeps": sweeps, "lut_points_per_device": int(np.prod(grid.shape)),
        "lookup_vs_vgs_points_per_s": vgs_rate, "lookup_vs_gm_id_points_per_s": gm_id_rate,
        "gm_id_domain_setup_s": gm_id_setup_s,
        "rerun_shared_ms": shared_s * 1e3, "rerun_batch_ms": batch_s * 1e3, "batch_over_shared": batch_s / shared_s,
        "sizing_table_ms": table_ms, "sizing_checked_ms": checked_ms, "checked_over_table": checked_ms / table_ms,
    }
    print(f"   LUT build, both devices, {sweeps} nested dc sweeps: {build_s:.2f} s")
    print(f"   look-up against VGS: {vgs_rate:,.0f} points/s; against gm/ID: {gm_id_rate:,.0f} points/s "
          f"(+ {gm_id_setup_s:.2f} s once per table to re-sample it on the gm/ID axis)")
    print(f"   CS stage re-run: shared session {shared_s * 1e3:.2f} ms, fresh ngspice -b {batch_s * 1e3:.2f} ms "
          f"({batch_s / shared_s:.1f}x)")
    print(f"   size_transistor: table {table_ms:.2f} ms, checked in ngspice {checked_ms:.2f} ms ({checked_ms / table_ms:.1f}x)")
    return figures


if __name__ == "__main__":
    main()
