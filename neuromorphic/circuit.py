"""What the emulator and the neuron decks share: the chosen OTA, rails, biases, inverter, areas.

Both decks put the memristor emulator (paper Fig. 6) into a circuit; ``Setup`` names which OTA
with which widths, in which technology, corner, temperature and supply, and renders the common
part of the deck (models, OTA subcircuit, rails, bias sources). One ngspice session is kept per
process (``engine()``), so worker pools create it in their initializer and never pickle it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from engine import Engine, open_engine
from gmopt import paper
from lut.technology import Condition, Technology, get_technology
from ota.netlist import instance_line, subcircuit
from ota.topology import get_topology

# The emulator's state capacitor when it stands alone (Fig. 6, Figure 17): the paper gives no
# value for it; 1 nF makes VB swing a few hundred mV at 100 kHz with the x1 inverter (our choice).
EMULATOR_CAPACITANCE_F = 1e-9
SUPPLY_SCALE_LIMITS = (0.5, 1.5)

_engine: Engine | None = None


def engine() -> Engine:
    """This process's ngspice session (created on first use; worker initializers call it)."""
    global _engine
    if _engine is None:
        _engine = open_engine("shared")
    return _engine


def default_var(topology_name: str) -> list[int]:
    """The widths used when none are given: the paper's Table 7 (NSGA-II) widths, else the
    topology's reference widths (the baseline OTA has no row in the paper's tables)."""
    topology = get_topology(topology_name)
    widths_um = paper.TABLE7_WIDTHS_UM.get(topology_name, topology.reference_widths_um)
    return topology.var_from_um(widths_um)


def resolve_var(topology_name: str, var: Sequence[int] | None = None, widths_um: Sequence[float] | None = None) -> list[int]:
    """Widths as integer multiples of lambda from either form (never both), or the default."""
    topology = get_topology(topology_name)
    if var is not None and widths_um is not None:
        raise ValueError("give the widths either in units of lambda or in micrometres, not both")
    if widths_um is not None:
        return topology.var_from_um(list(widths_um))
    if var is not None:
        return topology.check_var(list(var))
    return default_var(topology_name)


@dataclass(frozen=True)
class Setup:
    """One OTA in one technology, corner, temperature and supply, with the emulator's inverter."""

    topology: str
    var: tuple[int, ...]
    technology: str = "generic180"
    corner: str = "tt"
    temp_c: float = 27.0
    supply_scale: float = 1.0
    inverter_scale: float = 1.0
    tech: Technology = field(init=False, repr=False, compare=False)
    condition: Condition = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "var", tuple(get_topology(self.topology).check_var(list(self.var))))
        condition = get_technology(self.technology).at(self.corner, self.temp_c)
        for name, value in (("condition", condition), ("tech", condition.technology), ("corner", condition.corner), ("temp_c", condition.temp_c)):
            object.__setattr__(self, name, value)
        low, high = SUPPLY_SCALE_LIMITS
        if not low <= self.supply_scale <= high:
            raise ValueError(f"supply scale {self.supply_scale} is outside [{low}, {high}] (1.0 = the paper's +-0.9 V)")
        if not 0.01 <= self.inverter_scale <= 1000:
            raise ValueError(f"inverter scale {self.inverter_scale} is outside [0.01, 1000] (the paper uses 1 and 100)")

    @property
    def vdd_v(self) -> float:
        return paper.SUPPLY_V * self.supply_scale

    @property
    def widths_um(self) -> list[float]:
        return [value * paper.LAMBDA_M * 1e6 for value in self.var]

    def describe(self) -> dict:
        return {
            "topology": self.topology, "var": list(self.var), "widths_um": self.widths_um, "technology": self.technology,
            "corner": self.corner, "temp_c": self.temp_c, "supply_scale": self.supply_scale, "vdd_v": self.vdd_v,
            "inverter_scale": self.inverter_scale,
        }

    def template_values(self, terminal: str, control: str, inn: str | None = None) -> dict:
        """Values of ``_common.cir.j2`` and ``_emulator.cir.j2`` for an emulator between ``terminal``
        and ground whose OTA bias pin VB is the node ``control``; ``inn`` puts the OTA's inverting
        input on another node (to break the follower loop for a loop-gain analysis)."""
        topology = get_topology(self.topology)
        nodes = ("0", inn or terminal, terminal, "vdd", "vss", control, "vbn", "vb1", "vb2", "vb3", "vbp")
        inverter_l = f"{paper.INVERTER_LENGTH_M:g}"
        return {
            "include": self.condition.include(),
            "temp_c": self.temp_c,
            "ota_subckt": subcircuit(self.topology, self.tech),
            "params": [(v.name, value) for v, value in zip(topology.variables, self.var)],
            "lambda_m": paper.LAMBDA_M,
            "vdd_v": self.vdd_v,
            "vss_v": -self.vdd_v,
            "bias": sorted((pin, volts) for pin, volts in paper.BIAS_V.items() if pin != "vb"),
            "ota_instance": instance_line(self.topology, nodes=nodes),
            "inverter_p": self.tech.pmos.instance(
                "invp", control, terminal, "vdd", "vdd", w=f"{paper.INVERTER_WP_M * self.inverter_scale:.6g}", l=inverter_l),
            "inverter_n": self.tech.nmos.instance(
                "invn", control, terminal, "vss", "vss", w=f"{paper.INVERTER_WN_M * self.inverter_scale:.6g}", l=inverter_l),
            "control": control,
        }


def ota_area_um2(topology_name: str, var: Sequence[int]) -> float:
    """Sum of W*L over the OTA's devices (the fixed MN1 included), as Table 10 counts it."""
    topology = get_topology(topology_name)
    length_um = paper.OTA_LENGTH_M * 1e6
    fixed = sum(device.width_m * 1e6 * length_um for device in topology.fixed)
    variable = sum(len(v.devices) * value * paper.LAMBDA_M * 1e6 * length_um for v, value in zip(topology.variables, var))
    return fixed + variable


def inverter_area_um2(scale: float) -> float:
    """The emulator's inverter: (WN + WP) * L, times the width scale (Section 3 and 5)."""
    return scale * (paper.INVERTER_WN_M + paper.INVERTER_WP_M) * paper.INVERTER_LENGTH_M * 1e12


def make_setup(
    topology: str,
    var: Sequence[int] | None = None,
    technology: str = "generic180",
    corner: str = "tt",
    temp_c: float = 27.0,
    *,
    widths_um: Sequence[float] | None = None,
    inverter_scale: float = 1.0,
    supply_scale: float = 1.0,
) -> Setup:
    """A setup from plain arguments, as the CLI, the API and the parallel runs give them (default
    widths: Table 7, or the baseline's reference)."""
    return Setup(topology, tuple(resolve_var(topology, var, widths_um)), technology, corner, temp_c,
                 supply_scale=supply_scale, inverter_scale=inverter_scale)
