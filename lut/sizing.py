"""gm/ID sizing of one transistor: from (gm/ID, ID, L, VDS) to its width and bias.

W = ID / (ID/W)(gm/ID, L, VDS, VSB) from the table, at the table's reference width (10 um). A
device's current per width is not quite width-independent (narrow-width effects: on generic180,
W = 0.92 um carries 28 % more per width than the table's 10 um), so ``check=True`` simulates the
sized device once, directly (``lut.direct``, a persistent ngspice session), and corrects W and VGS
until ID and gm/ID are within ``check_tolerance`` of the targets (docs/lut.md says why this and not
a width axis). The layout grid then rounds W to a whole number of lambda, and the rounded device,
biased at the same VGS, carries ID scaled by W_rounded / W.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from lut.direct import direct_session
from lut.lookup import Lut, load_lut
from lut.technology import Condition, Technology, resolve_condition

CHECK_TOLERANCE = 0.005  # the corrected device's ID and gm/ID within 0.5 % of the targets
MAX_ERROR = 0.02  # a check that cannot get within 2 % is an error, never a silent wrong width
MAX_CHECK_RUNS = 12
MAX_VGS_STEP_V = 0.1
MAX_LOG_WIDTH_STEP = math.log(2.0)  # at most a factor 2 in W per step
_SLOPE_STEP_V = 0.01


@dataclass(frozen=True)
class Sizing:
    """A sized transistor; voltages are magnitudes (VSG, VSD of a PMOS); small-signal values at ID.

    ``checked``: W and VGS were corrected against a direct ngspice run of the device, whose ID and
    gm/ID then differ from the targets by ``checked_id_error`` and ``checked_gm_id_error``
    (fractions), after ``check_runs`` operating points; ``table_id_error`` and
    ``table_gm_id_error`` are those of the table's own W and VGS, before the correction. Unchecked
    (the default of ``size_transistor``, as the OTA first sizing calls it), the four are None.
    """

    device: str
    gm_id_s_per_a: float
    id_a: float
    l_m: float
    vds_v: float
    vsb_v: float
    w_m: float
    w_lambda: int
    w_rounded_m: float
    id_rounded_a: float
    vgs_v: float
    gm_s: float
    gds_s: float
    intrinsic_gain: float
    ft_hz: float
    vdsat_v: float
    vth_v: float
    checked: bool = False
    checked_id_error: float | None = None
    checked_gm_id_error: float | None = None
    table_id_error: float | None = None
    table_gm_id_error: float | None = None
    check_runs: int = 0

    def to_json(self) -> dict:
        return asdict(self)


def size_transistor(
    tech: Condition | Technology | str | None,
    device: str,
    gm_id: float,
    id: float,  # noqa: A002 - the designer's name for the drain current
    L: float,
    vds: float,
    vsb: float = 0.0,
    lam: float | None = None,
    corner: str | None = None,
    temp_c: float | None = None,
    *,
    check: bool = False,
    check_tolerance: float = CHECK_TOLERANCE,
) -> Sizing:
    """Size ``device`` for ``gm_id`` (S/A) at drain current ``id`` (A); the unrounded W meets ID
    (exactly in the table; with ``check``, within ``check_tolerance`` in a direct ngspice run).
    ``tech``: a ``Condition``, or a technology (name) at ``corner`` and ``temp_c`` (None: its
    default corner, 27 degC)."""
    if not id > 0:
        raise ValueError(f"drain current {id!r} A must be positive")
    if not 0 < check_tolerance <= MAX_ERROR:
        raise ValueError(f"check tolerance {check_tolerance!r} must lie in (0, {MAX_ERROR}]")
    condition = resolve_condition(tech, corner, temp_c)
    technology = condition.technology
    lam = technology.lambda_m if lam is None else lam  # the width unit: the technology's lambda unless given
    if not lam > 0:
        raise ValueError(f"lambda {lam!r} m must be positive")
    lut = load_lut(condition, device)
    # one pass for the six quantities at this bias (an OTA's first sizing sizes 5-6 devices per seed)
    table = {name: float(value) for name, value in lut.lookup_many(
        ("ID_W", "VGS", "GDS_ID", "FT", "VDSAT", "VTH"), gm_id=gm_id, L=L, VDS=vds, VSB=vsb).items()}
    id_per_w = table["ID_W"]
    width_m = id / id_per_w
    vgs_v = table["VGS"]
    if check:
        return _checked(condition, lut, gm_id, id, L, vds, vsb, lam, width_m, vgs_v, check_tolerance)
    w_lambda = max(1, round(width_m / lam))
    gds_per_id = table["GDS_ID"]
    return Sizing(
        device=lut.device, gm_id_s_per_a=float(gm_id), id_a=float(id), l_m=float(L), vds_v=float(vds),
        vsb_v=float(vsb), w_m=width_m, w_lambda=w_lambda, w_rounded_m=w_lambda * lam,
        id_rounded_a=id_per_w * w_lambda * lam, vgs_v=vgs_v, gm_s=gm_id * id,
        gds_s=gds_per_id * id, intrinsic_gain=gm_id / gds_per_id, ft_hz=table["FT"],
        vdsat_v=table["VDSAT"], vth_v=table["VTH"],
    )


def _checked(
    condition: Condition, lut: Lut, gm_id: float, id_a: float, L: float, vds: float, vsb: float, lam: float,
    width_m: float, vgs_v: float, tolerance: float,
) -> Sizing:
    """Correct the table's W and VGS by quasi-Newton (Broyden) steps on direct operating points.

    Unknowns x = (ln W, VGS), results r = (ln ID, ln gm/ID). The first Jacobian needs no extra
    run: d ln ID / d ln W = 1, d ln ID / dVGS = gm/ID (exactly, at fixed W), d ln(gm/ID) / d ln W
    = 0 and d ln(gm/ID) / dVGS from the table. Narrow devices break the W column (sky130's pfet
    carried 0.30 A/m at W = 0.86 um and 0.18 A/m at 1.7 um, with another gm/ID), so each run
    updates the Jacobian (Broyden's rank-one update) instead of paying two more runs for a
    finite-difference one (as scipy.optimize.root's hybr would). Steps are capped so that a wrong
    slope cannot throw the device out of saturation."""
    tech = condition.technology
    session = direct_session(condition)
    table_width_m = width_m
    jacobian: np.ndarray | None = None
    target = np.log([id_a, gm_id])
    x = np.array([math.log(width_m), vgs_v])
    first: tuple[float, float] | None = None
    previous: tuple[np.ndarray, np.ndarray] | None = None
    for run in range(1, MAX_CHECK_RUNS + 1):
        simulated = x.copy()
        point = session.operating_point(lut.device, math.exp(x[0]), L, x[1], vds, vsb)
        errors = (point["id"] / id_a - 1, point.gm_id / gm_id - 1)
        first = first or errors
        if max(map(abs, errors)) <= tolerance:
            break
        result = np.log([point["id"], point.gm_id])
        if jacobian is None:
            jacobian = np.array([[1.0, point.gm_id], [0.0, _log_gm_id_slope(lut, x[1], L, vds, vsb)]])
        elif previous is not None:
            dx, dr = x - previous[0], result - previous[1]
            jacobian += np.outer(dr - jacobian @ dx, dx) / float(dx @ dx)
        previous = (x.copy(), result)
        try:
            step = np.linalg.solve(jacobian, target - result)
        except np.linalg.LinAlgError:
            step = np.array([target[0] - result[0], 0.0])
        step *= min(1.0, MAX_LOG_WIDTH_STEP / max(abs(step[0]), 1e-12), MAX_VGS_STEP_V / max(abs(step[1]), 1e-12))
        x = x + step
        x[0] = max(x[0], math.log(tech.wmin_m))
        x[1] = float(np.clip(x[1], 1e-3, tech.supply_v))
    width_m, vgs_v = math.exp(simulated[0]), float(simulated[1])
    if max(map(abs, errors)) > MAX_ERROR:
        if width_m <= tech.wmin_m * (1 + 1e-9):
            raise ValueError(
                f"the {lut.device} for gm/ID {gm_id:g} S/A at ID {id_a:g} A, L {L:g} m needs a W below "
                f"{tech.name}'s minimum width {tech.wmin_m:g} m (the table's W is {table_width_m:g} m): "
                "raise ID, or lower gm/ID or L"
            )
        raise ValueError(
            f"the {lut.device} sized for gm/ID {gm_id:g} S/A at ID {id_a:g} A, L {L:g} m, VDS {vds:g} V, VSB {vsb:g} V "
            f"misses its targets in a direct ngspice run by {errors[0]:+.1%} in ID and {errors[1]:+.1%} in gm/ID "
            f"after {run} corrections (W {width_m:g} m, VGS {vgs_v:g} V): this gm/ID may lie outside what the "
            "device reaches there"
        )
    w_lambda = max(1, round(width_m / lam))
    return Sizing(
        device=lut.device, gm_id_s_per_a=float(gm_id), id_a=float(id_a), l_m=float(L), vds_v=float(vds),
        vsb_v=float(vsb), w_m=width_m, w_lambda=w_lambda, w_rounded_m=w_lambda * lam,
        id_rounded_a=point["id"] * w_lambda * lam / width_m, vgs_v=vgs_v, gm_s=point["gm"], gds_s=point["gds"],
        intrinsic_gain=point["gm"] / point["gds"], ft_hz=point["gm"] / (2 * math.pi * point["cgg"]),
        vdsat_v=point["vdsat"], vth_v=point["vth"], checked=True, checked_id_error=errors[0],
        checked_gm_id_error=errors[1], table_id_error=first[0], table_gm_id_error=first[1], check_runs=run,
    )


def _log_gm_id_slope(lut: Lut, vgs_v: float, L: float, vds: float, vsb: float) -> float:
    """d ln(gm/ID) / dVGS (1/V) from the table around ``vgs_v``: negative in strong inversion;
    where the table says otherwise (the weak-inversion top), -0.1 / V (the step cap then holds)."""
    low, high = (max(vgs_v - _SLOPE_STEP_V, 0.0), min(vgs_v + _SLOPE_STEP_V, lut.grid.vgs[-1]))
    ratios = lut.lookup("GM_ID", vgs=np.array([low, high]), L=L, VDS=vds, VSB=vsb)
    slope = float(np.log(ratios[1] / ratios[0]) / (high - low))
    return slope if math.isfinite(slope) and slope < -0.1 else -0.1
