"""OTA netlists: the subcircuit of each topology, its instance line, and the testbench deck.

The subcircuit has the same ports for every topology, so the testbench, the memristor emulator
and the neuron wire any OTA the same way; widths come from subcircuit parameters ``var1..varN``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from gmopt import paper
from lut.technology import Condition, Technology, get_technology, resolve_condition
from ota.topology import BIAS_PINS, PORTS, Topology, get_topology
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
    return technology.device(device[1].lower()).vector(device[1:], quantity, within=instance)


def length_parameter(topology: Topology, label: str) -> str:
    """The subcircuit parameter of a free channel length: ``len3`` for W3 (beside ``var3``)."""
    index = [v.label for v in topology.variables].index(label) + 1
    return f"len{index}"


def subcircuit(topology_name: str, technology: str | Technology = "generic180", length_labels: Sequence[str] = ()) -> str:
    """The ``.subckt ota_<name> inp inn out vdd vss vb vbn vb1 vb2 vb3 vbp ... .ends`` text.

    Devices of the variables in ``length_labels`` take their L from a parameter (``len3`` for W3,
    default the technology's L) that ``alterparam`` changes per candidate; every other L is a number.
    """
    topology = get_topology(topology_name)
    tech = _technology(technology)
    written: list[str] = []
    free_length = {
        device: f"{{{length_parameter(topology, v.label)}}}" for v in topology.variables if v.label in length_labels for device in v.devices
    }

    def dev(device: str, drain: str, gate: str, source: str) -> str:
        polarity = topology.polarity(device)
        width = topology.width_expression(device)
        written.append(device)
        return tech.device(polarity).instance(
            device_instance(tech, device)[1:], drain, gate, source,
            "vss" if polarity == "n" else "vdd", w=width, l=free_length.get(device, f"{tech.length_m:g}"),
        )

    lengths = [length_parameter(topology, label) for label in length_labels]
    text = render(
        topology.template, dev=dev, ota_name=topology.name, title=topology.title, ports=PORTS,
        variables=[v.name for v in topology.variables] + lengths, defaults=topology.reference_var(tech) + [tech.length_m] * len(lengths),
        lambda_m=tech.lambda_m,
    )
    if sorted(written) != sorted(topology.devices):
        raise ValueError(
            f"template {topology.template} writes devices {sorted(written)} but the topology data lists {sorted(topology.devices)}"
        )
    return text


def instance_line(topology_name: str, name: str = INSTANCE, nodes: Sequence[str] = PORTS, length_labels: Sequence[str] = ()) -> str:
    """``xota inp inn ... ota_<name> var1={var1} ... lambda={lambda}``: sizes come from top-level .params."""
    topology = get_topology(topology_name)
    if len(nodes) != len(PORTS):
        raise ValueError(f"an OTA instance takes {len(PORTS)} nodes ({' '.join(PORTS)}); got {len(nodes)}")
    names = [v.name for v in topology.variables] + [length_parameter(topology, label) for label in length_labels]
    params = " ".join(f"{name_}={{{name_}}}" for name_ in names)
    return f"{name} {' '.join(nodes)} ota_{topology.name} {params} lambda={{lambda}}"


def testbench_netlist(
    topology_name: str,
    var: Sequence[int],
    condition: Condition,
    with_control: bool = False,
    bias_v: Mapping[str, float] | None = None,
    lengths_m: Mapping[str, float] | None = None,
    device_saves: Sequence[str] = (),
) -> str:
    """The open-loop testbench at ``condition`` (see the template's header); ``with_control`` adds
    the dc and ac analyses for ``ngspice -b``.

    ``bias_v``: the OTA's bias voltages by pin (None: the technology's own, which only technologies
    with fixed biases have; others get theirs from the first sizing, ``ota.sizing.plan_sizing``).
    ``lengths_m``: free channel lengths (m) by variable label (see ``subcircuit``).
    ``device_saves``: more quantities of every device to save (a Monte Carlo reads ``delvto`` and ``mulu0``).
    """
    topology = get_topology(topology_name)
    tech = condition.technology
    checked = topology.check_var(var, tech)
    lengths = dict(lengths_m or {})
    for label, length in lengths.items():
        if not tech.lmin_m * (1 - 1e-9) <= length <= tech.lmax_m * (1 + 1e-9):
            raise ValueError(f"L({label}) = {length:g} m is outside {tech.name}'s [{tech.lmin_m:g}, {tech.lmax_m:g}] m")
    quantities = (*DEVICE_QUANTITIES, *device_saves)
    saves = [*SAVED_NODES, *(device_vector(tech, device, q) for device in topology.devices for q in quantities)]
    params = [(v.name, value) for v, value in zip(topology.variables, checked)]
    params += [(length_parameter(topology, label), length) for label, length in lengths.items()]
    return render(
        "testbenches/ota_open_loop.cir.j2",
        title=topology.title, tech=tech.name, corner=condition.corner, temp_c=condition.temp_c,
        include=condition.include(), subckt=subcircuit(topology_name, tech, tuple(lengths)),
        lambda_m=tech.lambda_m, params=params,
        vdd_v=tech.vdd_v, vss_v=tech.vss_v, bias=bias_sources(topology, tech, bias_v), input_cm_v=tech.input_cm_v,
        instance=instance_line(topology_name, length_labels=tuple(lengths)), cl_f=paper.LOAD_CAPACITANCE_F, hold_h=HOLD_INDUCTANCE_H,
        saves=saves, analyses=list(ANALYSES.values()) if with_control else [], f_start_hz=AC_START_HZ,
    )


def bias_sources(topology: Topology, tech: Technology, bias_v: Mapping[str, float] | None) -> list[tuple[str, float]]:
    """Every bias pin's source voltage (V), sorted by pin: the OTA's own pins from ``bias_v`` (or
    the technology's fixed values); pins the OTA does not use are tied to 0 V, or keep the
    technology's value where it has one (generic180's decks stay the paper's)."""
    given = dict(tech.bias_v or {}) | dict(bias_v or {})
    missing = [pin for pin in topology.bias_pins if pin not in given]
    if missing:
        raise ValueError(
            f"no bias voltage for {', '.join(missing)} of {topology.name!r} in {tech.name!r}: this technology has no "
            "fixed bias voltages, so they come from the first sizing (ota.sizing.plan_sizing(...).bias_v)"
        )
    for pin, volts in given.items():
        if not tech.vss_v <= float(volts) <= tech.vdd_v:
            raise ValueError(f"bias {pin} = {volts:g} V lies outside the rails {tech.vss_v:g} to {tech.vdd_v:g} V of {tech.name!r}")
    return sorted((pin, float(given.get(pin, 0.0))) for pin in BIAS_PINS)


def standalone_netlist(
    topology_name: str,
    var: Sequence[int],
    technology: Condition | Technology | str = "generic180",
    corner: str | None = None,
    temp_c: float | None = None,
    bias_v: Mapping[str, float] | None = None,
    lengths_m: Mapping[str, float] | None = None,
) -> str:
    """A self-contained deck (models by absolute path) that ``ngspice -b`` or any SPICE tool runs
    as is; ``technology`` a ``Condition``, or a technology (name) at ``corner`` and ``temp_c``
    (None: its default corner, 27 degC)."""
    condition = resolve_condition(technology, corner, temp_c)
    return testbench_netlist(topology_name, var, condition, with_control=True, bias_v=bias_v, lengths_m=lengths_m)
