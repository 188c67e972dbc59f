"""OTA netlists: the subcircuit of each topology, its instance line, and the testbench deck.

The subcircuit has the same ports for every topology, so the testbench, the memristor emulator
and the neuron wire any OTA the same way; widths come from subcircuit parameters ``var1..varN``.
"""

from __future__ import annotations

from collections.abc import Sequence

from gmopt import paper
from lut.technology import Technology, get_technology
from ota.topology import PORTS, Topology, get_topology
from spice_templates import render

INSTANCE = "xota"
DC_STEP_V = 0.01                    # 41 points over the paper's -0.2..0.2 V sweep
AC_START_HZ, AC_STOP_HZ, AC_POINTS_PER_DECADE = 1.0, 1e10, 10  # log interpolation: < 0.2 % on BW and UGF
HOLD_INDUCTANCE_H = 1e12            # 6e12 ohm at 1 Hz: open for AC, a short at DC
ANALYSES = {  # no op: the dc sweep passes through Vin = 0 (ota.measure.measure_testbench)
    "dc": f"dc vid {paper.DC_SWEEP_V[0]:g} {paper.DC_SWEEP_V[1]:g} {DC_STEP_V:g}",
    "ac": f"ac dec {AC_POINTS_PER_DECADE} {AC_START_HZ:g} {AC_STOP_HZ:g}",
}
DEVICE_QUANTITIES = ("vds", "vdsat")
SAVED_NODES = ("v(out)", "i(vhold)", "i(vdd)", "i(vss)")


def _technology(technology: str | Technology) -> Technology:
    return technology if isinstance(technology, Technology) else get_technology(technology)


def device_instance(technology: Technology, device: str) -> str:
    """Instance name inside the subcircuit: ``MN2`` -> ``mn2`` (``xn2`` for a PDK subcircuit device)."""
    return technology.device(device[1].lower()).prefix + device[1:].lower()


def device_vector(technology: Technology, device: str, quantity: str, instance: str = INSTANCE) -> str:
    """ngspice's vector of a device quantity inside the OTA instance, e.g. ``@m.xota.mn2[vdsat]``."""
    kind = technology.device(device[1].lower())
    inner = f".{kind.inner}" if kind.prefix == "x" else ""
    return f"@m.{instance}.{device_instance(technology, device)}{inner}[{quantity}]".lower()


def subcircuit(topology_name: str, technology: str | Technology = "generic180") -> str:
    """The ``.subckt ota_<name> inp inn out vdd vss vb vbn vb1 vb2 vb3 vbp ... .ends`` text."""
    topology = get_topology(topology_name)
    tech = _technology(technology)
    written: list[str] = []

    def dev(device: str, drain: str, gate: str, source: str) -> str:
        polarity = topology.polarity(device)
        width = topology.width_expression(device)
        written.append(device)
        return tech.device(polarity).instance(
            device_instance(tech, device)[1:], drain, gate, source,
            "vss" if polarity == "n" else "vdd", w=width, l=f"{paper.OTA_LENGTH_M:g}",
        )

    text = render(
        topology.template, dev=dev, ota_name=topology.name, title=topology.title, ports=PORTS,
        variables=[v.name for v in topology.variables], defaults=topology.var_from_um(topology.reference_widths_um),
        lambda_m=paper.LAMBDA_M,
    )
    if sorted(written) != sorted(topology.devices):
        raise ValueError(
            f"template {topology.template} writes devices {sorted(written)} but the topology data lists {sorted(topology.devices)}"
        )
    return text


def instance_line(topology_name: str, name: str = INSTANCE, nodes: Sequence[str] = PORTS) -> str:
    """``xota inp inn ... ota_<name> var1={var1} ... lambda={lambda}``: sizes come from top-level .params."""
    topology = get_topology(topology_name)
    if len(nodes) != len(PORTS):
        raise ValueError(f"an OTA instance takes {len(PORTS)} nodes ({' '.join(PORTS)}); got {len(nodes)}")
    params = " ".join(f"{v.name}={{{v.name}}}" for v in topology.variables)
    return f"{name} {' '.join(nodes)} ota_{topology.name} {params} lambda={{lambda}}"


def testbench_netlist(
    topology_name: str,
    var: Sequence[int],
    technology: str | Technology = "generic180",
    corner: str = "tt",
    temp_c: float = 27.0,
    with_control: bool = False,
    device_saves: Sequence[str] = (),
) -> str:
    """The open-loop testbench (see the template's header); ``with_control`` adds the dc and ac analyses for ``ngspice -b``;
    ``device_saves``: more quantities of every device to save (a Monte Carlo reads ``delvto`` and ``mulu0``)."""
    topology = get_topology(topology_name)
    tech = _technology(technology)
    checked = topology.check_var(var)
    quantities = (*DEVICE_QUANTITIES, *device_saves)
    saves = [*SAVED_NODES, *(device_vector(tech, device, q) for device in topology.devices for q in quantities)]
    return render(
        "testbenches/ota_open_loop.cir.j2",
        title=topology.title, tech=tech.name, corner=tech.check_corner(corner), temp_c=temp_c,
        include=tech.include(corner), subckt=subcircuit(topology_name, tech),
        lambda_m=paper.LAMBDA_M, params=[(v.name, value) for v, value in zip(topology.variables, checked)],
        vdd_v=paper.SUPPLY_V, vss_v=-paper.SUPPLY_V, bias=sorted(paper.BIAS_V.items()),
        instance=instance_line(topology_name), cl_f=paper.LOAD_CAPACITANCE_F, hold_h=HOLD_INDUCTANCE_H,
        saves=saves, analyses=list(ANALYSES.values()) if with_control else [], f_start_hz=AC_START_HZ,
    )


def standalone_netlist(
    topology_name: str,
    var: Sequence[int],
    technology: str | Technology = "generic180",
    corner: str = "tt",
    temp_c: float = 27.0,
) -> str:
    """A self-contained deck (models by absolute path) that ``ngspice -b`` or any SPICE tool runs as is."""
    return testbench_netlist(topology_name, var, technology, corner, temp_c, with_control=True)
