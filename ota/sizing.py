"""gm/ID first sizing of an OTA from the look-up tables (the paper's Section 4.1, eq. 9).

The tail MN1 is fixed (16.6/1 um at VGS = VB - VSS), so the tail current is not a free choice:
it follows from the LUT once the tail's VDS is known, and that VDS follows from the input
devices' VGS. A short fixed-point iteration settles both. Then the input pair's gm/ID is chosen
so that the OTA's Gm meets the paper's target (~3.5 mS) with the output mirror ratio B = 1,
within a strong-to-moderate inversion window (linearity needs strong inversion, the paper's
conclusion); if the window is hit, B makes up the rest. Every other device gets the gm/ID of
its role and the current the topology data gives it (1 or B times an input device's current).

A cascode stacked on a diode with its gate on a fixed bias (``stacked_on`` + ``gate``: fig7's
MN6 on MN4 at VBN) is not a diode load but a current source: VGS(diode) + VGS(cascode, at
VSB = VGS(diode)) = V(gate) - rail fixes the stack's current per width, whatever its drain
does. So the stack must be sized to carry B * I_in at that budget, within a few per cent, or
node c (its drain, a high-impedance node) runs to a rail and MP4 or MN6 leaves saturation (the
paper's Table 6 offsets of 300+ mV show its circuit has the same property). We take the
cascode's gm/ID (None: the split that needs the least total width), solve for the diode's VGS
(scipy's brentq) with each device read at the bias it sees, and keep the split where both
widths fit the Var bounds; if no split can carry B * I_in there, B is lowered to what can.

Small-signal, the stack is no diode either: the impedance into its drain is about
ro_c * (1 + (gm_c + gmb_c) / gm_d), comparable to the ro of the device that feeds it
(``fed_by``: fig7's MP4). Side b's mirrored signal current splits between the two, and only the
fraction f = Z_feed / (Z_feed + Z_stack) reaches the output through MN4/MN5:
Gm = B * gm_in * (1 + f) / 2, not B * gm_in (about 0.6x in generic180). The plan uses that Gm
(from the LUT's gm, gmb and gds) to choose gm_in and B, and reports it as ``planned_gm_s``.
Topologies without ``fed_by`` (fig8 feeds its stack through the PMOS cascode MP8, whose
impedance is gm*ro times larger) keep Gm = B * gm_in.

Bias voltages. generic180 has the paper's fixed biases, and the sizing works around them as
above. A technology without fixed biases (sky130, gf180mcu, a user's models: the paper's
VB = 0.55 V or VBN = 0.3 V mean nothing under other thresholds and rails) gets them derived
from the tables, by the rules each topology's data gives per pin: the input pair's gm/ID and the
Gm target set the tail current, and VB is the VGS that makes the fixed tail MN1 carry it; a
stacked cascode's gate sits at its diode's plus its own VGS at their gm/ID; any other cascode's
gate leaves the device under it VDSAT + ``SATURATION_HEADROOM_V``. The plan records the biases it
used (``SizingPlan.bias_v``); a run derives them once and keeps them for every candidate.
"""

from __future__ import annotations

import math

from collections.abc import Callable, Mapping
from typing import Any
from dataclasses import asdict, dataclass, replace

import numpy as np
from pymoo.operators.sampling.lhs import sampling_lhs
from scipy.optimize import brentq, minimize_scalar

from gmopt import paper
from lut.lookup import load_lut, lookup, lookup_vgs, model_files_checked_once
from lut.sizing import size_transistor
from lut.technology import Condition, Technology, resolve_condition
from ota.topology import BiasRule, Topology, Variable, get_topology

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
# Derived biases: the input pair's gm/ID when the designer gives none (moderate inversion, the
# usual compromise of gm/ID and fT), and the VDS beyond VDSAT a cascode leaves the device under it.
DERIVED_INPUT_GM_ID = 10.0
SATURATION_HEADROOM_V = 0.1
# ... and a stacked cascode's gm/ID, where the designer gives none: its twin on the output side
# (fig7's MN7, the same W3) stands between the output's 0 V and its source, so a small VDSAT
# matters. At 12 S/A sky130's MN7 kept 20 mV too little; at 16 every technology's is saturated.
# On sky130 the 16 S/A sets the budget (VBN) but not the split: the budget takes the diode at the
# mirror gm/ID (0.82 V at 8 S/A), beyond the table's largest VSB (0.6 V), so the split stops at a
# 0.6 V diode (about 21 S/A) and the cascode takes the rest at about 6 S/A. Measured at L = 0.7 um,
# that beats a budget split as derived (the cascode really at 16 S/A, 9x wider, loading its source
# and drain nodes): 41.6 dB / 1.10 MHz / 55.4 deg, MN7 33 mV saturated, against 44.3 dB / 0.83 MHz /
# 52.6 deg, MN7 190 mV.
DERIVED_STACK_CASCODE_GM_ID = 16.0
DERIVED_MIRROR_GM_IDS = (8.0, 10.0, 12.0, 14.0, 16.0, 18.0, 20.0)  # S/A, tried in turn for headroom
# The gm/ID box the seeded population samples (S/A, log-uniform): strong inversion (4) to the
# edge of weak inversion (20) for the input pair, and mirrors and cascodes from moderate (6, 8)
# to weak-moderate (20). Wide on purpose: the paper's fixed bias voltages make the feasible
# region small, and its position in gm/ID depends on the technology. A cascode stacked on a
# diode (fig7, fig8) samples 12-22: below about 12 its diode would need more than 8000 lambda (the
# split is then clipped to the width bounds anyway), above 22 it is in weak inversion itself.
VARIANT_GM_ID_BOX = {
    "input_pair": (4.0, 20.0), "mirror": (6.0, 20.0), "cascode": (8.0, 20.0), "stack_cascode": (12.0, 22.0),
}
# ... and the Gm they aim at, in multiples of the Gm the spec's gain-bandwidth asks for with the
# load alone (spec_gm_range_s). Not Table 1's 3.5 mS: with a 1 pF load, gain >= 40 dB and BW >= 1 MHz
# ask for GBW >= 100 MHz, i.e. Gm >= 0.63 mS, and a larger Gm (wider, more capacitive devices at
# the same currents) moves the mirror poles under the UGF: the phase margin goes first. Up to 2.5x
# leaves room for the output node's own capacitance. Measured on fig7 (generic180, 100 variants,
# eq. 11 constraints): within 0.1 of feasible 5/100 with 0.25-1.25 x 3.5 mS, 15/100 with this span.
VARIANT_GBW_GM_SPAN = (1.0, 2.5)


@dataclass(frozen=True)
class GmIdChoice:
    """The designer's gm/ID choices (S/A); ``input_pair`` None: chosen for the Gm target.

    Loads and mirrors share one value because a diode and the devices mirroring it share a VGS:
    one gm/ID makes their width ratio their current ratio (no systematic offset). A cascode
    stacked on a diode (``stack_cascode``) has its own: the bias budget sets its diode's gm/ID
    from it, so the ``mirror`` value does not apply there; None: the least total stack width.
    """

    input_pair: float | None = None
    mirror: float = ROLE_GM_ID["mirror"]
    cascode: float = ROLE_GM_ID["cascode"]
    stack_cascode: float | None = None
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
    """The first sizing with the choices behind it, for the docs and the CLI.

    ``planned_gm_s`` is the Gm the sizing predicts (the target unless the width bounds lowered B).
    """

    topology: str
    tail_current_a: float
    tail_vds_v: float
    mirror_ratio: float
    target_gm_s: float
    planned_gm_s: float
    variables: tuple[SizedVariable, ...]
    bias_v: dict[str, float]
    bias_derived: bool
    notes: tuple[str, ...] = ()

    @property
    def var(self) -> list[int]:
        return [v.var for v in self.variables]

    def to_dict(self) -> dict:
        return asdict(self) | {"var": self.var}


@dataclass(frozen=True)
class _Stack:
    """A cascode with its gate on a fixed bias, stacked on a diode. One unknown, the diode's VGS
    (V), splits the budget |V(gate) - rail| between the two; every quantity of both follows
    from it by LUT look-ups at the bias each device sees. Quantities are per device width or
    per ampere (ID_W, GM_ID, GDS_ID ...), so the split does not depend on the current."""

    condition: Condition
    device: str
    budget_v: float
    feed_vds_v: float | None

    @property
    def tech(self) -> Technology:
        return self.condition.technology

    def diode(self, quantity: str, diode_vgs_v: float) -> float:
        return float(lookup(self.condition, self.device, quantity, vgs=diode_vgs_v, L=self.tech.length_m, VDS=diode_vgs_v))

    def cascode(self, quantity: str, diode_vgs_v: float) -> float:
        return float(lookup(
            self.condition, self.device, quantity, vgs=self.budget_v - diode_vgs_v, L=self.tech.length_m,
            VDS=self.cascode_vds_v(diode_vgs_v), VSB=self.cascode_vsb_v(diode_vgs_v),
        ))

    def cascode_vds_v(self, diode_vgs_v: float) -> float:
        """The feed at its VDS (``_feed_vds_v``) leaves the cascode the rest of the supply; without
        a feed in the data, the role's assumed VDS."""
        if self.feed_vds_v is None:
            return ROLE_VDS_V["cascode"]
        return self.tech.supply_v - self.feed_vds_v - diode_vgs_v

    def cascode_vsb_v(self, diode_vgs_v: float) -> float:
        return min(diode_vgs_v, _max_vsb_v(self.condition, self.device))

    @property
    def bracket_v(self) -> tuple[float, float]:
        """Diode VGS from a quarter of the budget (deep weak inversion) to three quarters or the
        table's largest VSB (the cascode then in weak inversion): the split lies well inside."""
        return 0.25 * self.budget_v, min(0.75 * self.budget_v, _max_vsb_v(self.condition, self.device))

    def total_width_per_a(self, diode_vgs_v: float) -> float:
        """Width of diode plus cascode per ampere of stack current (m/A)."""
        return 1 / self.diode("ID_W", diode_vgs_v) + 1 / self.cascode("ID_W", diode_vgs_v)

    def max_current_a(self, max_width_m: float) -> float:
        """The most the stack carries with both widths at most ``max_width_m``: where their
        current densities are equal (the diode's rises with its VGS, the cascode's falls)."""
        balanced_v = _root_or_edge(lambda v: self.diode("ID_W", v) - self.cascode("ID_W", v), self.bracket_v)
        return max_width_m * self.diode("ID_W", balanced_v)

    def preferred_diode_vgs_v(self, cascode_gm_id: float | None) -> float:
        """The split for the cascode's gm/ID (S/A), or the least total width when None."""
        if cascode_gm_id is None:
            return float(minimize_scalar(self.total_width_per_a, bounds=self.bracket_v, method="bounded").x)
        return _root_or_edge(lambda v: self.cascode("GM_ID", v) - cascode_gm_id, self.bracket_v)

    def width_window_v(self, current_a: float, max_width_m: float) -> tuple[float, float]:
        """Diode VGS span (V) where both devices carry ``current_a`` within ``max_width_m``."""
        density = current_a / max_width_m
        low = _root_or_edge(lambda v: self.diode("ID_W", v) - density, self.bracket_v)
        high = _root_or_edge(lambda v: density - self.cascode("ID_W", v), self.bracket_v)
        return low, high

    def output_share(self, diode_vgs_v: float, feed_gds_per_a: float) -> float:
        """(1 + f) / 2: Gm over B * gm_in when side b's mirrored current splits between the feed's
        output conductance and the stack, f = Z_feed / (Z_feed + Z_stack). Impedances are per
        ampere of the (common) current: all of them scale as 1 / I."""
        gm_d, gds_d = self.diode("GM_ID", diode_vgs_v), self.diode("GDS_ID", diode_vgs_v)
        gm_c, gmb_c, gds_c = (self.cascode(q, diode_vgs_v) for q in ("GM_ID", "GMBS_ID", "GDS_ID"))
        stack_ohm_a = 1 / gds_c + (1 + (gm_c + gmb_c) / gds_c) / (gm_d + gds_d)
        feed_ohm_a = 1 / feed_gds_per_a
        return (1 + feed_ohm_a / (feed_ohm_a + stack_ohm_a)) / 2


def _root_or_edge(func: Callable[[float], float], bracket: tuple[float, float]) -> float:
    """The root of an increasing ``func`` in ``bracket`` (brentq), or the bracket end nearest it."""
    low, high = bracket
    if func(low) >= 0:
        return low
    if func(high) <= 0:
        return high
    return float(brentq(func, low, high, xtol=1e-6))


def plan_sizing(
    topology_name: str,
    technology: Condition | Technology | str = "generic180",
    corner: str | None = None,
    temp_c: float | None = None,
    choice: GmIdChoice = GmIdChoice(),
    bias_v: Mapping[str, float] | None = None,
) -> SizingPlan:
    """The gm/ID first sizing of ``topology_name`` with its tail current, input gm/ID, ratio B
    and bias voltages: ``bias_v`` (V by pin) or the technology's fixed ones when given, else
    derived from the tables (see the module's docstring). ``technology``: a ``Condition``, or a
    technology (name) at ``corner`` and ``temp_c`` (None: its default corner, 27 degC)."""
    topology = get_topology(topology_name)
    condition = resolve_condition(technology, corner, temp_c)
    with model_files_checked_once():  # a plan makes about 130 look-ups: one check of the model files
        choice, moved = _covered_choice(condition, choice)
        plan = _plan_at(topology, condition, choice, bias_v)
    return replace(plan, notes=moved + plan.notes)


def _covered_choice(condition: Condition, choice: GmIdChoice) -> tuple[GmIdChoice, tuple[str, ...]]:
    """The choice with every gm/ID moved into what both tables cover (at the default L, VSB = 0,
    |VDS| = supply / 3, with 5 % to spare for the body effect and other biases), and notes saying
    which moved: a run's seeded start never stops on a gm/ID a technology cannot reach."""
    tech = condition.technology
    ranges = [load_lut(condition, device).gm_id_range(L=tech.length_m, VDS=tech.supply_v / 3) for device in ("nmos", "pmos")]
    low, high = max(r[0] for r in ranges), 0.95 * min(r[1] for r in ranges)
    moved, changes = [], {}
    for name in ("input_pair", "mirror", "cascode", "stack_cascode"):
        value = getattr(choice, name)
        if value is not None and not low <= value <= high:
            changes[name] = float(np.clip(value, low, high))
            moved.append(f"{name} gm/ID {value:.3g} S/A is outside the {low:.3g}-{high:.3g} S/A both tables cover; moved to {changes[name]:.3g}")
    return replace(choice, **changes), tuple(moved)


def _plan_at(topology: Topology, condition: Condition, choice: GmIdChoice, bias_v: Mapping[str, float] | None) -> SizingPlan:
    """``plan_sizing`` once the choice is within the tables."""
    tech = condition.technology
    fixed_v = dict(bias_v) if bias_v is not None else tech.bias_v
    if fixed_v is not None and not set(topology.bias_pins) <= set(fixed_v):
        raise ValueError(f"bias voltages {sorted(fixed_v)} lack pins {sorted(set(topology.bias_pins) - set(fixed_v))} of {topology.name!r}")
    derive = fixed_v is None
    if not derive:
        return _plan(topology, condition, choice, fixed_v)
    if not topology.bias_rules:
        raise ValueError(f"topology {topology.name!r} has no bias rules: give its bias voltages ({', '.join(topology.bias_pins)})")
    # Free biases: a mirror gm/ID that leaves a stacked cascode no VDS (sky130's PMOS needs
    # VSG = 1.24 V at gm/ID 8, leaving fig7's MN6 7 mV of a 1.8 V supply) moves up until it fits.
    problems = []
    for mirror in sorted({choice.mirror, *DERIVED_MIRROR_GM_IDS}):
        if mirror < choice.mirror:
            continue
        try:
            plan = _plan(topology, condition, replace(choice, mirror=mirror), None)
        except ValueError as exc:
            problems.append(f"mirror gm/ID {mirror:g} S/A: {exc}")
            continue
        notes = (f"mirror/load gm/ID raised from {choice.mirror:g} to {mirror:g} S/A for headroom ({problems[-1]})",) if problems else ()
        return replace(plan, notes=notes + plan.notes)
    raise ValueError(f"{topology.name!r} cannot be sized in {tech.name!r} with derived biases: " + "; ".join(problems))


def _plan(topology: Topology, condition: Condition, choice: GmIdChoice, fixed_v: Mapping[str, float] | None) -> SizingPlan:
    """One sizing at one gm/ID choice; ``fixed_v`` None derives the biases."""
    tech = condition.technology
    derive = fixed_v is None
    length_m = tech.length_m
    max_width_m = tech.var_bounds[1] * tech.lambda_m
    by_label = {variable.label: variable for variable in topology.variables}
    budgets = {v.label: _derived_budget(condition, v, choice) if derive else (_fixed_budget_v(tech, v, fixed_v), _fixed_feed_room_v(condition, v, choice))
               for v in topology.variables if v.stacked_on}
    budgets_v = {label: budget_v for label, (budget_v, _) in budgets.items()}
    stacks = {label: _stack(condition, by_label[label], by_label, choice, *budget) for label, budget in budgets.items()}
    # derived biases were set for the cascode at its gm/ID: split the budget there, as derived
    stack_gm_id = choice.stack_cascode or DERIVED_STACK_CASCODE_GM_ID if derive else choice.stack_cascode
    preferred_v = {label: stack.preferred_diode_vgs_v(stack_gm_id) for label, stack in stacks.items()}
    fed = next((v for v in topology.variables if v.fed_by), None)

    def share(diode_vgs_v: dict[str, float]) -> float:
        if fed is None:
            return 1.0
        stack = stacks[fed.label]
        feed_gds = _feed_gds_per_a(condition, by_label[fed.fed_by], choice, stack.feed_vds_v)
        return stack.output_share(diode_vgs_v[fed.label], feed_gds)

    # The stack's Gm share at its preferred split sets what gm_in * B must be.
    target_gain_s = choice.gm_target_s / share(preferred_v)
    tail_width_m = next(f.width_m for f in topology.fixed if f.role == "tail")
    if derive:
        gm_id_in = choice.input_pair or DERIVED_INPUT_GM_ID
        tail_current_a = 2 * target_gain_s / gm_id_in
        tail_vds_v = 0.3
        for _ in range(ITERATIONS):
            vgs_in = float(lookup_vgs(condition, "nmos", gm_id=gm_id_in, L=length_m, VDS=ROLE_VDS_V["input_pair"], VSB=tail_vds_v))
            tail_vds_v = max(MIN_TAIL_VDS_V, 0.5 * tail_vds_v + 0.5 * (tech.input_cm_v - vgs_in - tech.vss_v))
        tail_vgs_v = _vgs_for_density(condition, "nmos", tail_current_a / tail_width_m, length_m, tail_vds_v)
    else:
        tail_vgs_v = fixed_v["vb"] - tech.vss_v
        low, high = INPUT_GM_ID_RANGE if choice.input_pair is None else (choice.input_pair, choice.input_pair)
        tail_vds_v, gm_id_in, tail_current_a = 0.3, low, 0.0
        for _ in range(ITERATIONS):
            tail_current_a = float(lookup(condition, "nmos", "ID_W", vgs=tail_vgs_v, L=length_m, VDS=tail_vds_v)) * tail_width_m
            gm_id_in = float(np.clip(target_gain_s / (tail_current_a / 2), low, high))
            vgs_in = float(lookup_vgs(condition, "nmos", gm_id=gm_id_in, L=length_m, VDS=ROLE_VDS_V["input_pair"], VSB=tail_vds_v))
            tail_vds_v = max(MIN_TAIL_VDS_V, 0.5 * tail_vds_v + 0.5 * (tech.input_cm_v - vgs_in - tech.vss_v))
    current_in_a = tail_current_a / 2
    # A stack that cannot carry B * I_in within the width bounds lowers B to what it can carry.
    mirror_ratio = min([target_gain_s / (gm_id_in * current_in_a)] + [s.max_current_a(max_width_m) / current_in_a for s in stacks.values()])
    diode_vgs_v = {
        label: float(np.clip(preferred_v[label], *stack.width_window_v(mirror_ratio * current_in_a, max_width_m)))
        for label, stack in stacks.items()
    }
    for label, stack in stacks.items():
        headroom_v = stack.cascode_vds_v(diode_vgs_v[label]) - stack.cascode("VDSAT", diode_vgs_v[label])
        if derive and headroom_v < SATURATION_HEADROOM_V / 2:
            raise ValueError(f"the stacked cascode {label} keeps {headroom_v * 1e3:.0f} mV beyond VDSAT")
        feed = by_label[by_label[label].fed_by] if by_label[label].fed_by else None
        if derive and feed is not None:
            feed_vdsat_v = float(lookup(condition, _device(feed), "VDSAT", gm_id=choice.role_gm_id(feed.role), L=length_m,
                                        VDS=stack.feed_vds_v))
            if stack.feed_vds_v - feed_vdsat_v < SATURATION_HEADROOM_V / 2:
                raise ValueError(f"the feed {feed.label} of stack {label} keeps {(stack.feed_vds_v - feed_vdsat_v) * 1e3:.0f} mV beyond VDSAT")
    diode_of = {variable.stacked_on: label for label, variable in by_label.items() if variable.stacked_on}
    sized: dict[str, SizedVariable] = {}
    notes: list[str] = []
    biased: dict[str, tuple[float, float, float]] = {}  # label: (gm/ID, VDS, VSB) the device was sized at
    for variable in topology.variables:
        is_input = variable.role == "input_pair"
        device = _device(variable)
        vds_v = ROLE_VDS_V[variable.role]
        vsb_v = tail_vds_v if is_input else ROLE_VSB_V[variable.role]
        gm_id = gm_id_in if is_input else choice.role_gm_id(variable.role)
        if variable.label in diode_of:
            stack, split_v = stacks[diode_of[variable.label]], diode_vgs_v[diode_of[variable.label]]
            gm_id, vds_v, vsb_v = stack.diode("GM_ID", split_v), split_v, 0.0
        elif variable.stacked_on is not None:
            stack, split_v = stacks[variable.label], diode_vgs_v[variable.label]
            gm_id, vds_v, vsb_v = stack.cascode("GM_ID", split_v), stack.cascode_vds_v(split_v), stack.cascode_vsb_v(split_v)
        current_a = current_in_a * (mirror_ratio if variable.current == "B" else float(variable.current))
        gm_id = _covered_gm_id(condition, device, variable.label, gm_id, vds_v, vsb_v, notes)
        sizing = size_transistor(condition, device, gm_id, current_a, length_m, vds_v, vsb_v, tech.lambda_m)
        var = int(np.clip(sizing.w_lambda, *tech.var_bounds))
        biased[variable.label] = (gm_id, vds_v, vsb_v)
        sized[variable.label] = SizedVariable(
            label=variable.label, role=variable.role, polarity=variable.polarity, gm_id_s_per_a=gm_id,
            id_a=current_a, vgs_v=sizing.vgs_v, width_um=var * tech.lambda_m * 1e6, var=var,
        )
    if derive:
        rails = _DerivedBias(condition, by_label, biased, budgets_v, tail_vgs_v, tail_vds_v)
        bias_used = {rule.pin: rails.pin_v(rule) for rule in topology.bias_rules}
    else:
        bias_used = {pin: float(fixed_v[pin]) for pin in topology.bias_pins}
    return SizingPlan(
        topology=topology.name, tail_current_a=tail_current_a, tail_vds_v=tail_vds_v, mirror_ratio=mirror_ratio,
        target_gm_s=choice.gm_target_s, planned_gm_s=mirror_ratio * gm_id_in * current_in_a * share(diode_vgs_v),
        variables=tuple(sized.values()), bias_v=bias_used, bias_derived=derive, notes=tuple(notes),
    )


def _covered_gm_id(condition: Condition, device: str, label: str, gm_id: float, vds_v: float, vsb_v: float,
                   notes: list[str]) -> float:
    """``gm_id`` moved to the nearest value the table covers at this bias, with a note saying so:
    a gm/ID choice beyond a technology's weak-inversion limit (or below its strong-inversion
    end) is a request to go as far as the device goes, not a reason to stop a run."""
    low, high = load_lut(condition, device).gm_id_range(L=condition.technology.length_m, VDS=vds_v, VSB=vsb_v)
    if not math.isfinite(low):
        raise ValueError(f"the {device} table has no drain current for {label} at VDS = {vds_v:.3g} V, VSB = {vsb_v:.3g} V")
    covered = float(np.clip(gm_id, low, high))
    if covered != gm_id:
        notes.append(f"{label}: gm/ID {gm_id:.3g} S/A is outside the {device} table's {low:.3g}-{high:.3g} S/A there; sized at {covered:.3g}")
    return covered


def derive_bias_v(topology_name: str, condition: Condition, choice: GmIdChoice = GmIdChoice()) -> dict[str, float]:
    """The bias voltages (V by pin) of the default first sizing, derived from the tables even
    where the technology has fixed ones (generic180's option to leave the paper's biases)."""
    topology = get_topology(topology_name)
    if condition.technology.bias_v is not None:  # the same corner and temperature: still checked
        condition = replace(condition, technology=replace(condition.technology, bias_v=None))
    return plan_sizing(topology.name, condition, choice=choice).bias_v


def evaluation_bias_v(topology_name: str, condition: Condition, given: Mapping[str, float] | None = None) -> dict[str, float]:
    """The bias voltages one evaluation runs at: ``given``, else the technology's fixed ones, else
    those the default first sizing derives (sky130, gf180mcu, a user's models)."""
    if given:
        return dict(given)
    if condition.technology.bias_v is not None:
        return dict(condition.technology.bias_v)
    return derive_bias_v(topology_name, condition)


@dataclass(frozen=True)
class _DerivedBias:
    """Each bias pin's voltage from what the sizing chose (see topologies.yaml's ``bias`` rules)."""

    condition: Condition
    by_label: dict[str, Variable]
    biased: dict[str, tuple[float, float, float]]
    budgets_v: dict[str, float]
    tail_vgs_v: float
    tail_vds_v: float

    def pin_v(self, rule: BiasRule) -> float:
        tech = self.condition.technology
        if rule.kind == "tail":
            return tech.vss_v + self.tail_vgs_v
        if rule.kind == "leg":
            return tech.vss_v + self._vgs("nmos", rule.gm_id, self.tail_vds_v, 0.0)
        cascode = self.by_label[rule.variable]
        sign = 1.0 if cascode.polarity == "n" else -1.0
        rail_v = tech.vss_v if cascode.polarity == "n" else tech.vdd_v
        if rule.kind == "stack":
            return rail_v + sign * self.budgets_v[rule.variable]
        # a cascode on top of another device: its source sits where that device keeps VDSAT + headroom
        under = self.by_label[rule.over]
        gm_id_u, vds_u, vsb_u = self.biased[under.label]
        vdsat_u = float(lookup(self.condition, _device(under), "VDSAT", gm_id=gm_id_u, L=tech.length_m, VDS=vds_u, VSB=vsb_u))
        if under.role == "input_pair":
            source_v = tech.input_cm_v - self._vgs("nmos", gm_id_u, vds_u, vsb_u) + vdsat_u + SATURATION_HEADROOM_V
        else:
            source_v = rail_v + sign * (vdsat_u + SATURATION_HEADROOM_V)
        gm_id_c, vds_c, _ = self.biased[cascode.label]
        vsb_c = min(abs(source_v - rail_v), _max_vsb_v(self.condition, _device(cascode)))
        return source_v + sign * self._vgs(_device(cascode), gm_id_c, vds_c, vsb_c)

    def _vgs(self, device: str, gm_id: float, vds_v: float, vsb_v: float) -> float:
        return float(lookup_vgs(self.condition, device, gm_id=gm_id, L=self.condition.technology.length_m, VDS=vds_v, VSB=vsb_v))


def _vgs_for_density(condition: Condition, device: str, density_a_per_m: float, length_m: float, vds_v: float) -> float:
    """The VGS (V) at which ID/W is ``density_a_per_m``: ID/W rises with VGS, so brentq finds it."""
    tech = condition.technology

    def excess(vgs_v: float) -> float:
        return float(lookup(condition, device, "ID_W", vgs=vgs_v, L=length_m, VDS=vds_v)) - density_a_per_m

    low, high = 0.05, tech.supply_v
    if excess(high) < 0:
        raise ValueError(
            f"the tail cannot carry {density_a_per_m:.3g} A/m at VGS up to {high:g} V in {tech.name!r}: "
            "aim at a smaller Gm or a larger input gm/ID"
        )
    return float(brentq(excess, low, high, xtol=1e-5))


def _fixed_budget_v(tech: Technology, variable: Variable, bias_v: Mapping[str, float]) -> float:
    """A stack's |V(gate) - rail| (V) under fixed bias voltages."""
    rail_v = tech.vss_v if variable.polarity == "n" else tech.vdd_v
    return abs(bias_v[variable.gate] - rail_v)


def _derived_budget(condition: Condition, variable: Variable, choice: GmIdChoice) -> tuple[float, float]:
    """A stack's budget (V) when its gate is free: the diode's VGS at the mirror gm/ID (at VDS = its
    own VGS) plus the cascode's VGS at its gm/ID, standing on the diode (VSB = the diode's VGS);
    and the most the cascode's feed may take of the supply (V): the rest after the diode and the
    cascode's VDSAT + ``SATURATION_HEADROOM_V``."""
    tech = condition.technology
    device, at = _device(variable), {"L": tech.length_m}
    diode_v = 0.6 * tech.supply_v / 1.8  # a start in proportion to the supply; three passes settle VDS = VGS
    for _ in range(3):
        diode_v = float(lookup_vgs(condition, device, gm_id=choice.mirror, VDS=diode_v, **at))
    cascode_gm_id = choice.stack_cascode or DERIVED_STACK_CASCODE_GM_ID
    vsb_v = min(diode_v, _max_vsb_v(condition, device))
    cascode = {"gm_id": cascode_gm_id, "VDS": ROLE_VDS_V["cascode"], "VSB": vsb_v, **at}
    vdsat_v = float(lookup(condition, device, "VDSAT", **cascode))
    return diode_v + float(lookup_vgs(condition, device, **cascode)), tech.supply_v - diode_v - vdsat_v - SATURATION_HEADROOM_V


def _fixed_feed_room_v(condition: Condition, variable: Variable, choice: GmIdChoice) -> float | None:
    """The most a stack's feed may take of the supply under given bias voltages (V): None (it sits
    at its diode's VDS) for a technology with fixed biases of its own (generic180: the paper's
    circuit); else the room ``_derived_budget`` leaves, because the given biases are then a run's
    derived ones, and its gm/ID variants are sized as the biases were: on sky130 a PMOS feed at its
    diode's VSG (1.24 V at gm/ID 8) left the cascode 8 mV, and half a run's seeds could not be sized."""
    if condition.technology.bias_v is not None:
        return None
    return _derived_budget(condition, variable, choice)[1]


def _stack(condition: Condition, variable: Variable, by_label: dict[str, Variable], choice: GmIdChoice,
           budget_v: float, feed_room_v: float | None) -> _Stack:
    """The stack of ``variable`` (a stacked cascode) with its bias budget and its feed's VDS.

    Under fixed biases the feed sits at the VDS of its own diode, so it mirrors exactly (the
    paper's circuit). With derived biases it may sit lower, down to ``feed_room_v``: sky130's
    PMOS feed needs VSG = 1.24 V at gm/ID 8, which would leave fig7's MN6 7 mV of a 1.8 V supply,
    while at VSD = 0.4 V it still runs saturated (a percent of mirror error at L = 1 um)."""
    feed = by_label[variable.fed_by] if variable.fed_by else None
    feed_vds_v = None
    if feed is not None:
        feed_vds_v = _feed_vgs_v(condition, feed, choice)
        if feed_room_v is not None:
            feed_vds_v = min(feed_vds_v, feed_room_v)
    return _Stack(condition=condition, device=_device(variable), budget_v=budget_v, feed_vds_v=feed_vds_v)


def _feed_vgs_v(condition: Condition, feed: Variable, choice: GmIdChoice) -> float:
    """The feed mirrors its diode: the VGS of its role's gm/ID."""
    return float(lookup_vgs(
        condition, _device(feed), gm_id=choice.role_gm_id(feed.role), L=condition.technology.length_m, VDS=ROLE_VDS_V[feed.role],
    ))


def _feed_gds_per_a(condition: Condition, feed: Variable, choice: GmIdChoice, vds_v: float) -> float:
    """The feed's gds / ID (S/A) at its VDS (``_stack``)."""
    return float(lookup(
        condition, _device(feed), "GDS_ID", gm_id=choice.role_gm_id(feed.role), L=condition.technology.length_m, VDS=vds_v,
    ))


def _device(variable: Variable) -> str:
    return "nmos" if variable.polarity == "n" else "pmos"


def _max_vsb_v(condition: Condition, device: str) -> float:
    """The table's largest VSB: a cascode's body effect beyond it is taken at the edge."""
    return float(load_lut(condition, device).grid.axes()[1][-1])


def first_sizing(topology_name: str, technology: Condition | Technology | str = "generic180", corner: str | None = None,
                 temp_c: float | None = None) -> list[int]:
    """The gm/ID first sizing as integer Var values, clamped to the technology's Var bounds."""
    return plan_sizing(topology_name, technology, corner, temp_c).var


def spec_gm_range_s(
    gain_min_db: float = paper.GAIN_MIN_DB,
    bandwidth_min_hz: float = paper.BANDWIDTH_MIN_HZ,
    gm_min_s: float | None = None,
    gm_max_s: float | None = None,
    load_f: float = paper.LOAD_CAPACITANCE_F,
) -> tuple[float, float]:
    """The Gm range (S) the variants aim at: ``VARIANT_GBW_GM_SPAN`` times the Gm that gives the
    spec's gain-bandwidth into the load, Gm = 2 pi CL A_min BW_min, within the spec's own Gm limits."""
    gbw_gm_s = 2 * np.pi * load_f * 10 ** (gain_min_db / 20) * bandwidth_min_hz
    window = (gm_min_s or 0.0, gm_max_s or np.inf)
    low, high = (float(np.clip(factor * gbw_gm_s, *window)) for factor in VARIANT_GBW_GM_SPAN)
    return low, high


def gm_id_variants(
    topology_name: str,
    count: int,
    seed: int,
    technology: Condition | Technology | str = "generic180",
    corner: str | None = None,
    temp_c: float | None = None,
    gm_range_s: tuple[float, float] | None = None,
    bias_v: Mapping[str, float] | None = None,
) -> tuple[list[list[int]], list[str]]:
    """The first sizing, then ``count - 1`` gm/ID sizings over a Latin hypercube of gm/ID choices.

    Why not perturb the widths: a random width change breaks the bias consistency the gm/ID
    method builds in (a mirror ratio, a cascode's VGS), whereas every variant here is a complete
    gm/ID design: the designer's usual next step of trying other gm/ID targets, done in bulk.
    Duplicates (clamped widths) are kept; the caller de-duplicates. ``gm_range_s``: the Gm the
    variants aim at (S); None: ``spec_gm_range_s()`` of eq. 11. ``bias_v``: the run's bias
    voltages (every variant is sized under the same biases, as the run simulates them).
    A choice the tables cannot size there (a gm/ID outside what they cover at that bias, a stack
    without headroom) is left out and its reason returned: the run starts from the rest.
    All are sized under one check of the model files (``model_files_checked_once``), in the
    main process before a run's first simulation: 100 fig7 variants on generic180 take 0.38 s
    (1.3 s before one-point look-ups had their own path).
    """
    sizings, problems = [], []
    condition = resolve_condition(technology, corner, temp_c)
    with model_files_checked_once():  # and one for all the variants
        for choice in variant_choices(count, seed, gm_range_s or spec_gm_range_s()):
            try:
                sizings.append(plan_sizing(topology_name, condition, choice=choice, bias_v=bias_v).var)
            except ValueError as exc:
                problems.append(str(exc))
    return sizings, problems


def variant_choices(count: int, seed: int, gm_range_s: tuple[float, float]) -> list[GmIdChoice]:
    """The default choice, then ``count - 1`` choices over a log-uniform Latin hypercube of the boxes."""
    if count <= 1:
        return [GmIdChoice()]
    boxes = [*VARIANT_GM_ID_BOX.values(), gm_range_s]
    low, high = np.log([box[0] for box in boxes]), np.log([box[1] for box in boxes])
    # pymoo's maximin Latin hypercube: scipy.stats.qmc would cost a second of import per run
    samples = np.exp(sampling_lhs(count - 1, len(boxes), xl=low, xu=high, random_state=np.random.default_rng(seed)))
    return [GmIdChoice()] + [
        GmIdChoice(**dict(zip(VARIANT_GM_ID_BOX, map(float, sample[:-1]))), gm_target_s=float(sample[-1])) for sample in samples
    ]


# The first sizing's promise, checked by simulation (tests/test_first_sizing.py): every checked
# device saturated, and the simulated Gm within 25 % of the planned one.
GM_PLAN_TOLERANCE = 0.25


def checked_first_sizing(topology_name: str, technology: Condition | Technology | str, corner: str | None = None,
                         temp_c: float | None = None, choice: GmIdChoice = GmIdChoice()) -> tuple[SizingPlan, Any, list[str]]:
    """The first sizing, its simulated result, and what breaks the sizing's promise (empty when
    none): devices out of saturation by how much, a Gm off its plan, a deck that does not run."""
    from ota.testbench import OtaTestbench  # the sizing itself needs no simulator

    condition = resolve_condition(technology, corner, temp_c)
    plan = plan_sizing(topology_name, condition, choice=choice)
    with OtaTestbench(topology_name, condition, bias_v=plan.bias_v) as bench:
        result = bench.evaluate(plan.var)
    if not result.converged:
        return plan, result, [f"the sized circuit does not simulate: {result.error}"]
    checked = set(bench.topology.saturation_devices)
    out = {device: margin for device, margin in result.margins_v.items() if device in checked and margin < 0}
    problems = [f"{device} is {-margin * 1e3:.0f} mV out of saturation" for device, margin in sorted(out.items())]
    ratio = result.gm_s / plan.planned_gm_s
    if abs(ratio - 1) > GM_PLAN_TOLERANCE:
        problems.append(f"Gm is {result.gm_s * 1e3:.3g} mS, {ratio:.2f} of the planned {plan.planned_gm_s * 1e3:.3g} mS")
    return plan, result, problems
