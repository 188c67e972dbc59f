"""gm/ID sizing of one transistor: from (gm/ID, ID, L, VDS) to its width and bias.

W = ID / (ID/W)(gm/ID, L, VDS, VSB); the layout grid then rounds W to a whole number of lambda,
and the rounded device, biased at the same VGS, carries ID scaled by W_rounded / W.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from gmopt.paper import LAMBDA_M
from lut.lookup import load_lut
from lut.technology import Technology


@dataclass(frozen=True)
class Sizing:
    """A sized transistor; voltages are magnitudes (VSG, VSD of a PMOS); small-signal values at ID."""

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

    def to_json(self) -> dict:
        return asdict(self)


def size_transistor(
    tech: Technology | str | None,
    device: str,
    gm_id: float,
    id: float,  # noqa: A002 - the designer's name for the drain current
    L: float,
    vds: float,
    vsb: float = 0.0,
    lam: float = LAMBDA_M,
    corner: str | None = None,
    temp_c: float = 27.0,
) -> Sizing:
    """Size ``device`` for ``gm_id`` (S/A) at drain current ``id`` (A); the unrounded W meets ID exactly."""
    if not id > 0:
        raise ValueError(f"drain current {id!r} A must be positive")
    if not lam > 0:
        raise ValueError(f"lambda {lam!r} m must be positive")
    lut = load_lut(tech, device, corner, temp_c)
    at = {"gm_id": gm_id, "L": L, "VDS": vds, "VSB": vsb}
    id_per_w = float(lut.lookup("ID_W", **at))
    width_m = id / id_per_w
    w_lambda = max(1, round(width_m / lam))
    gds_per_id = float(lut.lookup("GDS_ID", **at))
    return Sizing(
        device=lut.device, gm_id_s_per_a=float(gm_id), id_a=float(id), l_m=float(L), vds_v=float(vds),
        vsb_v=float(vsb), w_m=width_m, w_lambda=w_lambda, w_rounded_m=w_lambda * lam,
        id_rounded_a=id_per_w * w_lambda * lam, vgs_v=float(lut.lookup_vgs(**at)), gm_s=gm_id * id,
        gds_s=gds_per_id * id, intrinsic_gain=gm_id / gds_per_id, ft_hz=float(lut.lookup("FT", **at)),
        vdsat_v=float(lut.lookup("VDSAT", **at)), vth_v=float(lut.lookup("VTH", **at)),
    )
