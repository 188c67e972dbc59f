"""The independent reference of the LUT tests: one transistor's operating point from a
hand-written netlist, simulated directly by ngspice (no table involved)."""

from __future__ import annotations

from engine import open_engine
from lut.technology import GENERIC180

OP_DECK = """one transistor, direct operating point
{include}
.temp 27
vg g 0 dc {vg}
vd d 0 dc {vd}
vb b 0 dc {vb}
{instance}
.save {saves}
"""


def direct_op(device: str, corner: str, w_m: float, l_m: float, vgs_v: float, vds_v: float, vsb_v: float,
              quantities: tuple[str, ...], backend: str = "shared") -> dict[str, float]:
    """Magnitudes of ``quantities`` with the bias given as magnitudes (negated for a PMOS)."""
    sign = 1 if device == "nmos" else -1
    mos = GENERIC180.device(device)
    deck = OP_DECK.format(
        include=GENERIC180.include(corner), vg=sign * vgs_v, vd=sign * vds_v, vb=-sign * vsb_v,
        instance=mos.instance("1", "d", "g", "0", "b", w=f"{w_m:.12g}", l=f"{l_m:.12g}"),
        saves=" ".join(mos.vector("1", q) for q in quantities),
    )
    with open_engine(backend) as engine:
        engine.load(deck)
        op = engine.run({"op": "op"})["op"]
    return {q: abs(float(op[mos.vector("1", q)][0])) for q in quantities}
