"""The independent reference of the LUT tests: one transistor's operating point from a netlist
written here by hand (no ``Device.instance``, no ``Technology.include``, no table), simulated
directly by ngspice."""

from __future__ import annotations

from engine import open_engine
from spice_templates import model_path

# generic180's models and corners (sections named as the corners) and its two core devices.
MODELS = {"nmos": "nch", "pmos": "pch"}
OP_DECK = """one transistor, direct operating point
.lib "{library}" {corner}
.temp 27
vg g 0 dc {vg}
vd d 0 dc {vd}
vb b 0 dc {vb}
m1 d g 0 b {model} w={w} l={l} pd={w} ps={w} nrd=0 nrs=0
.save {saves}
"""


def direct_op(device: str, corner: str, w_m: float, l_m: float, vgs_v: float, vds_v: float, vsb_v: float,
              quantities: tuple[str, ...], backend: str = "shared") -> dict[str, float]:
    """Magnitudes of ``quantities`` with the bias given as magnitudes (negated for a PMOS).

    The instance carries what gmopt gives every plain MOSFET: diffusion perimeters PD = PS = W
    and NRD = NRS = 0 (``lut/technology.py`` explains both), so table and reference model the
    same transistor."""
    sign = 1 if device == "nmos" else -1
    deck = OP_DECK.format(
        library=model_path("generic180.lib"), corner=corner, vg=sign * vgs_v, vd=sign * vds_v, vb=-sign * vsb_v,
        model=MODELS[device], w=f"{w_m:.12g}", l=f"{l_m:.12g}", saves=" ".join(f"@m1[{q}]" for q in quantities),
    )
    with open_engine(backend) as engine:
        engine.load(deck)
        op = engine.run({"op": "op"})["op"]
    return {q: abs(float(op[f"@m1[{q}]"][0])) for q in quantities}
