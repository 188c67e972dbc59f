"""A circuit package rendered for one technology: the ``.subckt`` text ngspice runs.

Built from the parsed structure only (``circuits.parse``): MOS instances become the technology's
``Device.instance`` lines (its model or PDK subcircuit, size unit and fingers), so one circuit
file renders for generic180, sky130 and gf180mcu; every other element goes through the
``spice_templates/circuits/subckt.cir.j2`` template with its numbers and checked expressions.
"""

from __future__ import annotations

from circuits.model import Circuit
from circuits.parse import Element, NetlistError
from lut.technology import Technology
from spice_templates import render

LIMIT_SLACK = 1e-9  # relative: a width exactly at the technology's limit is inside it


def _um(length_m: float) -> str:
    return f"{length_m * 1e6:.6g} um"


def _check_sizes(circuit: Circuit, tech: Technology, element: Element, env: dict[str, float]) -> None:
    """W and L at the variables' nominal values within the technology's limits: a size pasted in a
    PDK's micrometres (sky130's W=1) would otherwise be one metre."""
    for key, low, high in (("w", tech.wmin_m, tech.wmax_m), ("l", tech.lmin_m, tech.lmax_m)):
        size = element.params[key].evaluate(env)
        if not low * (1 - LIMIT_SLACK) <= size <= high * (1 + LIMIT_SLACK):
            raise NetlistError(
                element.line,
                f"{element.name}: {key.upper()} = {size:g} m at the variables' nominal values is outside {tech.name}'s "
                f"{_um(low)} to {_um(high)} (sizes are in metres: 10u = 10 um)",
            )


def _check_variable_ranges(circuit: Circuit, tech: Technology) -> None:
    for variable in circuit.variables:
        limits = {"w": (tech.wmin_m, tech.wmax_m), "l": (tech.lmin_m, tech.lmax_m)}.get(variable.kind)
        if limits and not (limits[0] * (1 - LIMIT_SLACK) <= variable.min and variable.max <= limits[1] * (1 + LIMIT_SLACK)):
            raise ValueError(
                f"variable {variable.name}: [{_um(variable.min)}, {_um(variable.max)}] is outside {tech.name}'s "
                f"{variable.kind.upper()} range {_um(limits[0])} to {_um(limits[1])}"
            )


def mos_line(circuit: Circuit, tech: Technology, element: Element) -> str:
    """The technology's instance line of one MOS element; its model must be the circuit's declared
    name for that device type or the technology's own device name."""
    kind = circuit.devices[element.name].type
    device = tech.device(kind)
    accepted = {name for name in (getattr(circuit.models, kind), device.model) if name}
    if element.model not in accepted:
        raise NetlistError(
            element.line,
            f"{element.name}: model {element.model} is neither the circuit's {kind} name ({getattr(circuit.models, kind) or 'none declared in models'}) "
            f"nor {tech.name}'s {kind} ({device.model})",
        )
    nodes = element.nodes
    multiplier = element.params.get("m")
    return device.instance(
        element.name[1:], *nodes, w=element.params["w"].spice(), l=element.params["l"].spice(),
        m=multiplier.spice() if multiplier is not None and multiplier.number != 1 else None,
    )


def device_vector(circuit: Circuit, tech: Technology, device: str, quantity: str, within: str = "") -> str:
    """ngspice's vector of a MOS element's quantity in ``tech`` (``@m.xota.mn2[vds]``, or the PDK
    subcircuit's inner device), inside subcircuit instance ``within``."""
    element = circuit.parsed.element(device.lower())
    if element is None or not element.is_mos:
        raise ValueError(f"{device} is not a MOS device of circuit {circuit.name}")
    return tech.device(circuit.devices[element.name].type).vector(element.name[1:], quantity, within=within)


def render_subckt(circuit: Circuit, tech: Technology) -> str:
    """The ``.subckt NAME PORTS params: VAR=nominal ... .ends`` text of ``circuit`` in ``tech``.

    Variables are subcircuit parameters (their nominal value as default), so a testbench instance
    passes ``name={name}`` from top-level ``.param`` lines that ``alterparam`` changes per candidate.
    """
    netlist = circuit.parsed
    _check_variable_ranges(circuit, tech)
    env = circuit.nominal_values(tech)
    mosfets = []
    bound: dict[str, str] = {}
    for element in netlist.mosfets:
        _check_sizes(circuit, tech, element, env)
        line = mos_line(circuit, tech, element)
        instance = line.split()[0]
        if instance in bound:
            raise NetlistError(element.line, f"{element.name} and {bound[instance]} both become instance {instance} in {tech.name}: rename one")
        bound[instance] = element.name
        mosfets.append(line)
    others = [
        {"name": e.name, "letter": e.letter, "nodes": e.nodes, "value": e.value.spice(), "ac": [e.params[k].spice() for k in ("ac", "acphase") if k in e.params],
         "params": [(k, v.spice()) for k, v in e.params.items() if k not in ("ac", "acphase")]}
        for e in netlist.elements if not e.is_mos
    ]
    return render(
        "circuits/subckt.cir.j2", subckt=netlist.name, tech=tech.name, ports=netlist.ports,
        variables=[(v.name, v.nominal(tech)) for v in circuit.variables],
        params=[(name, value.spice()) for name, value, _ in netlist.params], mosfets=mosfets, elements=others,
    )
