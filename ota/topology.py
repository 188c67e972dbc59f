"""The OTA topologies, read from ``spice_templates/ota/topologies.yaml``.

Topologies are data so that a new OTA is one template plus one entry: this module only parses
and checks the entries (every device named once, polarity agreeing with the MN/MP name).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import yaml

from gmopt import paper
from lut.technology import GENERIC180, Technology
from spice_templates import TEMPLATES_DIR

DATA_FILE = TEMPLATES_DIR / "ota" / "topologies.yaml"
PORTS = ("inp", "inn", "out", "vdd", "vss", "vb", "vbn", "vb1", "vb2", "vb3", "vbp")
BIAS_PINS = PORTS[5:]
ROLES = ("input_pair", "tail", "mirror", "cascode", "load")


@dataclass(frozen=True)
class Variable:
    """One design variable: the devices that share the width ``var * lambda``."""

    name: str
    label: str
    devices: tuple[str, ...]
    polarity: str
    role: str
    current: str
    stacked_on: str | None = None
    gate: str | None = None
    fed_by: str | None = None


@dataclass(frozen=True)
class FixedDevice:
    """A device the paper sizes once for all candidates (MN1 16.6/1 um)."""

    device: str
    polarity: str
    role: str
    saturation: bool = True
    width_m: float = paper.MN1_WIDTH_M


@dataclass(frozen=True)
class BiasRule:
    """How the first sizing derives one bias pin (see topologies.yaml): ``kind`` is tail, stack,
    cascode or leg; ``variable`` the cascode (or stacked cascode) label, ``over`` the variable
    under a cascode, ``gm_id`` a tail leg's gm/ID (S/A)."""

    pin: str
    kind: str
    variable: str | None = None
    over: str | None = None
    gm_id: float | None = None


@dataclass(frozen=True)
class Topology:
    name: str
    title: str
    bias_pins: tuple[str, ...]
    variables: tuple[Variable, ...]
    fixed: tuple[FixedDevice, ...]
    reference_widths_um: tuple[float, ...]
    bias_rules: tuple[BiasRule, ...] = ()

    @property
    def template(self) -> str:
        return f"ota/{self.name}.cir.j2"

    @property
    def n_vars(self) -> int:
        return len(self.variables)

    @property
    def devices(self) -> tuple[str, ...]:
        """Every device, fixed ones first, in the order of the data entry."""
        return tuple(f.device for f in self.fixed) + tuple(d for v in self.variables for d in v.devices)

    @property
    def saturation_devices(self) -> tuple[str, ...]:
        """Devices that must be saturated (all but fixed ones marked ``saturation: false``)."""
        exempt = {f.device for f in self.fixed if not f.saturation}
        return tuple(d for d in self.devices if d not in exempt)

    def polarity(self, device: str) -> str:
        return self._lookup(device)[0]

    def width_expression(self, device: str) -> str:
        """The SPICE width of a device: ``{varK*lambda}`` or the fixed width in metres."""
        return self._lookup(device)[1]

    def _lookup(self, device: str) -> tuple[str, str]:
        for fixed in self.fixed:
            if fixed.device == device:
                return fixed.polarity, f"{fixed.width_m:.6g}"
        for variable in self.variables:
            if device in variable.devices:
                return variable.polarity, f"{{{variable.name}*lambda}}"
        raise ValueError(f"topology {self.name!r} has no device {device!r}; devices: {', '.join(self.devices)}")

    def check_var(self, var: list[int] | tuple[int, ...], tech: Technology = GENERIC180) -> list[int]:
        """Integer widths in multiples of the technology's lambda, as the paper's Var, within its
        Var bounds; anything else is refused."""
        low, high = tech.var_bounds
        expected = f"{self.n_vars} integers ({', '.join(v.label for v in self.variables)}) in [{low}, {high}]"
        values = list(var)
        if len(values) != self.n_vars:
            raise ValueError(f"topology {self.name!r} takes {expected}; got {len(values)} values")
        checked = []
        for variable, value in zip(self.variables, values):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{variable.label} = {value!r} is not an integer; {self.name!r} takes {expected}")
            if not low <= value <= high:
                raise ValueError(f"{variable.label} = {value} is out of range; {self.name!r} takes {expected}")
            checked.append(int(value))
        return checked

    def var_from_um(self, widths_um: list[float] | tuple[float, ...], tech: Technology = GENERIC180) -> list[int]:
        """Micrometres (as the paper's tables give them) rounded to the nearest multiple of lambda."""
        lambda_um = tech.lambda_m * 1e6
        return self.check_var([int(round(float(w) / lambda_um)) for w in widths_um], tech)

    def reference_var(self, tech: Technology) -> list[int]:
        """The reference widths (Table 5) in the technology's lambda, clipped to its Var bounds:
        the widths a testbench is loaded with before the first candidate."""
        low, high = tech.var_bounds
        return [min(high, max(low, int(round(w / (tech.lambda_m * 1e6))))) for w in self.reference_widths_um]


def _parse(name: str, entry: dict) -> Topology:
    variables = tuple(
        Variable(
            name=f"var{index}", label=item["label"], devices=tuple(item["devices"]),
            polarity=item["polarity"], role=item["role"], current=str(item["current"]),
            stacked_on=item.get("stacked_on"), gate=item.get("gate"), fed_by=item.get("fed_by"),
        )
        for index, item in enumerate(entry["variables"], start=1)
    )
    fixed = tuple(
        FixedDevice(device=item["device"], polarity=item["polarity"], role=item["role"], saturation=item.get("saturation", True))
        for item in entry["fixed"]
    )
    reference = entry.get("reference_widths_um") or paper.TABLE5_WIDTHS_UM[name]
    topology = Topology(
        name=name, title=entry["title"], bias_pins=tuple(entry["bias_pins"]),
        variables=variables, fixed=fixed, reference_widths_um=tuple(float(w) for w in reference),
        bias_rules=tuple(_bias_rule(pin, rule) for pin, rule in entry.get("bias", {}).items()),
    )
    _check(topology)
    return topology


def _bias_rule(pin: str, rule: str | dict) -> BiasRule:
    if rule == "tail":
        return BiasRule(pin, "tail")
    if isinstance(rule, dict) and set(rule) == {"stack"}:
        return BiasRule(pin, "stack", variable=rule["stack"])
    if isinstance(rule, dict) and set(rule) == {"cascode", "over"}:
        return BiasRule(pin, "cascode", variable=rule["cascode"], over=rule["over"])
    if isinstance(rule, dict) and set(rule) == {"leg_gm_id"}:
        return BiasRule(pin, "leg", gm_id=float(rule["leg_gm_id"]))
    raise ValueError(f"bias rule of {pin} must be tail, {{stack: W}}, {{cascode: W, over: V}} or {{leg_gm_id: G}}; got {rule!r}")


def _check(topology: Topology) -> None:
    """Catch a mistyped entry when the data file is read, not deep inside a simulation."""
    devices = topology.devices
    if len(set(devices)) != len(devices):
        raise ValueError(f"topology {topology.name!r} names a device twice: {devices}")
    for device in devices:
        expected = {"MN": "n", "MP": "p"}.get(device[:2])
        if expected != topology.polarity(device):
            raise ValueError(f"topology {topology.name!r}: {device} polarity does not match its name")
    unknown_pins = set(topology.bias_pins) - set(BIAS_PINS)
    unknown_roles = {v.role for v in topology.variables} | {f.role for f in topology.fixed}
    if unknown_pins or unknown_roles - set(ROLES):
        raise ValueError(f"topology {topology.name!r}: unknown pins {unknown_pins} or roles {unknown_roles - set(ROLES)}")
    labels = [v.label for v in topology.variables]
    for variable in topology.variables:
        if (variable.stacked_on is None) != (variable.gate is None):
            raise ValueError(f"topology {topology.name!r}: {variable.label} needs both stacked_on and gate, or neither")
        if variable.stacked_on is not None and (
            variable.stacked_on not in labels[:labels.index(variable.label)] or variable.gate not in topology.bias_pins
        ):
            raise ValueError(f"topology {topology.name!r}: {variable.label} must stack on an earlier variable and use one of its bias pins")
        if variable.stacked_on is not None and {variable.current, topology.variables[labels.index(variable.stacked_on)].current} != {"B"}:
            raise ValueError(f"topology {topology.name!r}: {variable.label} and the diode it stacks on must carry the ratio B")
        if variable.fed_by is not None and (variable.stacked_on is None or variable.fed_by not in labels):
            raise ValueError(f"topology {topology.name!r}: {variable.label} fed_by needs stacked_on and a variable label")
    if sum(v.fed_by is not None for v in topology.variables) > 1:
        raise ValueError(f"topology {topology.name!r}: the output sums one mirrored side, so at most one fed_by")
    labels_set = set(labels)
    for rule in topology.bias_rules:
        if rule.pin not in topology.bias_pins or {rule.variable, rule.over} - {None} - labels_set:
            raise ValueError(f"topology {topology.name!r}: bias rule of {rule.pin} names an unknown pin or variable")
    if topology.bias_rules and {rule.pin for rule in topology.bias_rules} != set(topology.bias_pins):
        raise ValueError(f"topology {topology.name!r}: give a bias rule for every one of its bias pins {topology.bias_pins}")
    if len(topology.reference_widths_um) != topology.n_vars:
        raise ValueError(f"topology {topology.name!r}: reference widths do not match its {topology.n_vars} variables")


@functools.cache
def _load() -> dict[str, Topology]:
    data = yaml.safe_load(DATA_FILE.read_text())
    return {name: _parse(name, entry) for name, entry in data.items()}


TOPOLOGIES: tuple[str, ...] = tuple(_load())


def get_topology(name: str) -> Topology:
    """A topology by name; an unknown name lists the valid ones."""
    topologies = _load()
    if name not in topologies:
        raise ValueError(f"unknown OTA topology {name!r}; valid topologies: {', '.join(topologies)}")
    return topologies[name]
