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
from scipy.stats import qmc

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
# The gm/ID box the seeded population samples (S/A, log-uniform): strong inversion (4) to the
# edge of weak inversion (20) for the input pair, and mirrors and cascodes from moderate (6, 8)
# to weak-moderate (20). Wide on purpose: the paper's fixed bias voltages make the feasible
# region small, and its position in gm/ID depends on the technology.
VARIANT_GM_ID_BOX = {"input_pair": (4.0, 20.0), "mirror": (6.0, 20.0), "cascode": (8.0, 20.0)}
# ... and the Gm they aim at (S): from 0.25 to 1.25 times Table 1's 3.5 mS. Why below it: with
# a 1 pF load, gain >= 40 dB and BW >= 1 MHz ask for a GBW >= 100 MHz that large, capacitive
# devices cannot give; in generic180 the feasible fig7 designs we found sit at Gm 1.0-1.4 mS.
VARIANT_GM_TARGET_RANGE_S = (0.25 * paper.TARGET_GM_S, 1.25 * paper.TARGET_GM_S)


@dataclass(frozen=True)
class GmIdChoice:
    """The designer's gm/ID choices (S/A); ``input_pair`` None: chosen for the Gm target.

    Loads and mirrors share one value because a diode and the devices mirroring it share a VGS:
    one gm/ID makes their width ratio their current ratio (no systematic offset).
    """

    input_pair: float | None = None
    mirror: float = ROLE_GM_ID["mirror"]
    cascode: float = ROLE_GM_ID["cascode"]
    gm_target_s: float = paper.TARGET_GM_S

    def role_gm_id(self, role: str) -> float:
        return {"load": self.mirror, "mirror": self.mirror, "cascode": self.cascode}[role]


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


def plan_sizing(
    topology_name: str,
    technology: str = "generic180",
    corner: str = "tt",
    temp_c: float = 27.0,
    choice: GmIdChoice = GmIdChoice(),
) -> SizingPlan:
    """The gm/ID first sizing of ``topology_name`` with its tail current, input gm/ID and ratio B."""
    topology = get_topology(topology_name)
    tech = get_technology(technology)
    corner = tech.check_corner(corner)
    length_m = paper.OTA_LENGTH_M
    at = {"corner": corner, "temp_c": temp_c}
    tail_vgs_v = paper.BIAS_V["vb"] + paper.SUPPLY_V
    low, high = INPUT_GM_ID_RANGE if choice.input_pair is None else (choice.input_pair, choice.input_pair)
    tail_vds_v, gm_id_in, tail_current_a = 0.3, low, 0.0
    for _ in range(ITERATIONS):
        tail_current_a = float(lookup(tech, "nmos", "ID_W", vgs=tail_vgs_v, L=length_m, VDS=tail_vds_v, **at)) * paper.MN1_WIDTH_M
        gm_id_in = float(np.clip(choice.gm_target_s / (tail_current_a / 2), low, high))
        vgs_in = float(lookup_vgs(tech, "nmos", gm_id=gm_id_in, L=length_m, VDS=ROLE_VDS_V["input_pair"], VSB=tail_vds_v, **at))
        # Input common mode 0 V: the tail node sits VGS_in below it, VSS = -SUPPLY_V.
        tail_vds_v = max(MIN_TAIL_VDS_V, 0.5 * tail_vds_v + 0.5 * (paper.SUPPLY_V - vgs_in))
    current_in_a = tail_current_a / 2
    mirror_ratio = choice.gm_target_s / (gm_id_in * current_in_a)
    sized: dict[str, SizedVariable] = {}
    for variable in topology.variables:
        is_input = variable.role == "input_pair"
        device = "nmos" if variable.polarity == "n" else "pmos"
        vds_v = ROLE_VDS_V[variable.role]
        vsb_v = tail_vds_v if is_input else ROLE_VSB_V[variable.role]
        gm_id = gm_id_in if is_input else choice.role_gm_id(variable.role)
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
        target_gm_s=choice.gm_target_s, variables=tuple(sized.values()),
    )


def _max_vsb_v(tech: Technology, device: str, corner: str, temp_c: float) -> float:
    """The table's largest VSB: a cascode's body effect beyond it is taken at the edge."""
    return float(load_lut(tech, device, corner, temp_c).grid.axes()[1][-1])


def first_sizing(topology_name: str, technology: str = "generic180", corner: str = "tt", temp_c: float = 27.0) -> list[int]:
    """The gm/ID first sizing as the paper's integer Var values, clamped to [40, 8000]."""
    return plan_sizing(topology_name, technology, corner, temp_c).var


def gm_id_variants(
    topology_name: str, count: int, seed: int, technology: str = "generic180", corner: str = "tt", temp_c: float = 27.0
) -> list[list[int]]:
    """The first sizing, then ``count - 1`` gm/ID sizings over a Latin hypercube of gm/ID choices.

    Why not perturb the widths: a random width change breaks the bias consistency the gm/ID
    method builds in (a mirror ratio, a cascode's VGS), whereas every variant here is a complete
    gm/ID design: the designer's usual next step of trying other gm/ID targets, done in bulk.
    Duplicates (clamped widths) are kept; the caller de-duplicates.
    """
    rows = [first_sizing(topology_name, technology, corner, temp_c)]
    if count <= 1:
        return rows
    boxes = [*VARIANT_GM_ID_BOX.values(), VARIANT_GM_TARGET_RANGE_S]
    low, high = np.log([box[0] for box in boxes]), np.log([box[1] for box in boxes])
    samples = np.exp(qmc.scale(qmc.LatinHypercube(d=len(boxes), seed=seed).random(count - 1), low, high))
    for input_pair, mirror, cascode, gm_target_s in samples:
        choice = GmIdChoice(
            input_pair=float(input_pair), mirror=float(mirror), cascode=float(cascode), gm_target_s=float(gm_target_s)
        )
        rows.append(plan_sizing(topology_name, technology, corner, temp_c, choice).var)
    return rows
