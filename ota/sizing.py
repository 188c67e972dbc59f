"""gm/ID first sizing of an OTA from the look-up tables (the paper's Section 4.1, eq. 9).

The tail MN1 is fixed (16.6/1 um at VGS = VB - VSS), so the tail current is not a free choice:
it follows from the LUT once the tail's VDS is known, and that VDS follows from the input
devices' VGS. A short fixed-point iteration settles both. Then the input pair's gm/ID is chosen
so that Gm = B * gm_in meets the paper's target (~3.5 mS) with the output mirror ratio B = 1,
within a strong-to-moderate inversion window (linearity needs strong inversion, the paper's
conclusion); if the window is hit, B makes up the rest. Every other device gets the gm/ID of
its role and the current the topology data gives it (1 or B times an input device's current),
except a cascode stacked on a diode with its gate on a fixed bias: its VGS is not free, so its
gm/ID is read from the table at the VGS the bias leaves it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from gmopt import paper
from lut.lookup import load_lut, lookup, lookup_vgs
from lut.sizing import size_transistor
from lut.technology import Technology, get_technology
from ota.topology import get_topology

# gm/ID (S/A) by role: mirrors and their diode loads share a VGS, hence one gm/ID (their width
# ratio is then their current ratio); cascodes run in moderate inversion for a small VDSAT.
ROLE_GM_ID = {"load": 8.0, "mirror": 8.0, "cascode": 12.0}
INPUT_GM_ID_RANGE = (4.0, 16.0)     # strong to moderate inversion for the input pair
# Bias assumed for each role's look-up (magnitudes, V): diodes sit at VDS = VGS ~ 0.6 V;
# cascodes' sources sit about 0.4 V from their bulk.
ROLE_VDS_V = {"input_pair": 0.4, "load": 0.6, "mirror": 0.6, "cascode": 0.3}
ROLE_VSB_V = {"load": 0.0, "mirror": 0.0, "cascode": 0.4}
MIN_TAIL_VDS_V = 0.05
ITERATIONS = 30


@dataclass(frozen=True)
class SizedVariable:
    label: str
    role: str
    polarity: str
    gm_id_s_per_a: float
    id_a: float
    vgs_v: float
    width_um: float
    var: int


@dataclass(frozen=True)
class SizingPlan:
    """The first sizing with the choices behind it, for the docs and the CLI."""

    topology: str
    tail_current_a: float
    tail_vds_v: float
    mirror_ratio: float
    target_gm_s: float
    variables: tuple[SizedVariable, ...]

    @property
    def var(self) -> list[int]:
        return [v.var for v in self.variables]

    def to_dict(self) -> dict:
        return asdict(self) | {"var": self.var}


def plan_sizing(topology_name: str, technology: str = "generic180", corner: str = "tt", temp_c: float = 27.0) -> SizingPlan:
    """The gm/ID first sizing of ``topology_name`` with its tail current, input gm/ID and ratio B."""
    topology = get_topology(topology_name)
    tech = get_technology(technology)
    corner = tech.check_corner(corner)
    length_m = paper.OTA_LENGTH_M
    at = {"corner": corner, "temp_c": temp_c}
    tail_vgs_v = paper.BIAS_V["vb"] + paper.SUPPLY_V
    low, high = INPUT_GM_ID_RANGE
    tail_vds_v, gm_id_in, tail_current_a = 0.3, low, 0.0
    for _ in range(ITERATIONS):
        tail_current_a = float(lookup(tech, "nmos", "ID_W", vgs=tail_vgs_v, L=length_m, VDS=tail_vds_v, **at)) * paper.MN1_WIDTH_M
        gm_id_in = float(np.clip(paper.TARGET_GM_S / (tail_current_a / 2), low, high))
        vgs_in = float(lookup_vgs(tech, "nmos", gm_id=gm_id_in, L=length_m, VDS=ROLE_VDS_V["input_pair"], VSB=tail_vds_v, **at))
        # Input common mode 0 V: the tail node sits VGS_in below it, VSS = -SUPPLY_V.
        tail_vds_v = max(MIN_TAIL_VDS_V, 0.5 * tail_vds_v + 0.5 * (paper.SUPPLY_V - vgs_in))
    current_in_a = tail_current_a / 2
    mirror_ratio = paper.TARGET_GM_S / (gm_id_in * current_in_a)
    sized: dict[str, SizedVariable] = {}
    for variable in topology.variables:
        is_input = variable.role == "input_pair"
        device = "nmos" if variable.polarity == "n" else "pmos"
        vds_v = ROLE_VDS_V[variable.role]
        vsb_v = tail_vds_v if is_input else ROLE_VSB_V[variable.role]
        gm_id = gm_id_in if is_input else ROLE_GM_ID[variable.role]
        if variable.stacked_on is not None:
            # A cascode on a diode: the bias pin leaves it VGS = |V(gate) - rail| - VGS(diode).
            below_vgs_v = sized[variable.stacked_on].vgs_v
            rail_v = -paper.SUPPLY_V if variable.polarity == "n" else paper.SUPPLY_V
            vgs_v = abs(paper.BIAS_V[variable.gate] - rail_v) - below_vgs_v
            vsb_v = min(below_vgs_v, _max_vsb_v(tech, device, corner, temp_c))
            gm_id = float(lookup(tech, device, "GM_ID", vgs=vgs_v, L=length_m, VDS=vds_v, VSB=vsb_v, **at))
        current_a = current_in_a * (mirror_ratio if variable.current == "B" else float(variable.current))
        sizing = size_transistor(tech, device, gm_id, current_a, length_m, vds_v, vsb_v, paper.LAMBDA_M, corner, temp_c)
        var = int(np.clip(sizing.w_lambda, *paper.VAR_BOUNDS))
        sized[variable.label] = SizedVariable(
            label=variable.label, role=variable.role, polarity=variable.polarity, gm_id_s_per_a=gm_id,
            id_a=current_a, vgs_v=sizing.vgs_v, width_um=var * paper.LAMBDA_M * 1e6, var=var,
        )
    return SizingPlan(
        topology=topology.name, tail_current_a=tail_current_a, tail_vds_v=tail_vds_v, mirror_ratio=mirror_ratio,
        target_gm_s=paper.TARGET_GM_S, variables=tuple(sized.values()),
    )


def _max_vsb_v(tech: Technology, device: str, corner: str, temp_c: float) -> float:
    """The table's largest VSB: a cascode's body effect beyond it is taken at the edge."""
    return float(load_lut(tech, device, corner, temp_c).grid.axes()[1][-1])


def first_sizing(topology_name: str, technology: str = "generic180", corner: str = "tt", temp_c: float = 27.0) -> list[int]:
    """The gm/ID first sizing as the paper's integer Var values, clamped to [40, 8000]."""
    return plan_sizing(topology_name, technology, corner, temp_c).var
