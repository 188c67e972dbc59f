"""The circuit package: one YAML or JSON file with a netlist, its pins, devices, variables,
testbench, constraints and objectives, validated by pydantic (strict, unknown keys refused).

Built-in and user circuits are the same kind of object. ``load_circuit`` reads a file and turns
any refusal into one ``CircuitError`` naming the file line, the field and what to fix.
"""

from __future__ import annotations

import math
from pathlib import Path
from collections.abc import Mapping
from typing import Annotated, Literal

import yaml
from pydantic import (
    AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, PrivateAttr, ValidationError, model_validator,
)

from circuits.parse import (
    IDENTIFIER, RESERVED, Netlist, NetlistError, Value, check_identifier, parse_expression, parse_netlist, parse_number, parse_value,
)
from lut.technology import Technology
from ota.topology import ROLES as OTA_ROLES

# Measures each testbench of the catalog (circuits.benches) reports, defined in docs/circuits.md
# ("Testbench catalog"): ota_open_loop is ota.testbench.OtaResult's; opamp the op-amp bench's.
TESTBENCH_MEASURES = {
    "ota_open_loop": (
        "gain_db", "bandwidth_hz", "ugf_hz", "phase_margin_deg", "gm_s", "rmse_a", "offset_v", "power_w", "saturation_margin_v",
    ),
    "opamp": (
        "gain_db", "gbw_hz", "ugf_hz", "phase_margin_deg", "cmrr_db", "psrr_db", "swing_v", "slew_rate_v_per_s",
        "settling_time_s", "power_w", "offset_v", "saturation_margin_v",
    ),
}
# Device roles for the first gm/ID sizing: the OTAs' own, plus an op-amp's second (gain) stage
# and bias devices (mirrors' diodes, level shifters).
ROLES = (*OTA_ROLES, "gain_stage", "bias")
MAX_FILE_BYTES = 200_000


class CircuitError(ValueError):
    """A circuit file that cannot be used; the message says where (file line, field) and what to fix."""


class FieldError(ValueError):
    """A refusal found across fields; ``location`` is the field it names, as pydantic's ``loc``."""

    def __init__(self, location: tuple[str | int, ...], reason: str) -> None:
        self.location, self.reason = location, reason
        super().__init__(f"{'.'.join(str(part) for part in location)}: {reason}")


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{value!r} is not a number")
    number = float(value) if not isinstance(value, str) else parse_number(value)
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _expression(value: object) -> Value:
    if isinstance(value, Value):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{value!r} is not a number or an expression")
    return parse_value(str(value))


def _expression_or_name(value: object) -> Value:
    """As ``_expression``, and also a bare variable name (``length: l``) or arithmetic over braced
    names (``'{ibias}/2'``): these fields are never written into a deck, only evaluated."""
    if not isinstance(value, str) or "'" in value or '"' in value:
        return _expression(value)
    if IDENTIFIER.match(value.strip().lower()):
        return parse_expression(value)
    try:
        return _expression(value)
    except ValueError:
        return parse_expression(value.replace("{", "(").replace("}", ")"))


Number = Annotated[float, BeforeValidator(_number)]
Identifier = Annotated[str, AfterValidator(lambda text: check_identifier(text, "name"))]
# A number or an expression over the circuit's variables ({ibias}, '2*vb'); names checked by Circuit.
_SERIALIZE = PlainSerializer(lambda value: value.number if value.number is not None else value.text)
Expression = Annotated[Value, BeforeValidator(_expression), _SERIALIZE]
# ... or a bare variable name, where no SPICE line is written (an electrical group's fields).
NameOrExpression = Annotated[Value, BeforeValidator(_expression_or_name), _SERIALIZE]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, arbitrary_types_allowed=True)


class Variable(_Strict):
    """One design variable: ``kind`` says what it sizes; values between ``min`` and ``max``, on
    ``step`` (a number, counted from ``min``; or ``lambda``/``grid``: multiples of the technology's
    lambda or drawn grid, as the built-in OTAs' W = Var x lambda) or on the
    listed ``grid`` values; ``scale: log`` for currents and capacitors that span decades."""

    name: Identifier
    kind: Literal["w", "l", "m", "ibias", "vbias", "c", "r"]
    min: Number
    max: Number
    step: Number | Literal["lambda", "grid"] | None = None
    grid: list[Number] | None = None
    scale: Literal["lin", "log"] = "lin"
    default: Number | None = None
    devices: list[Identifier] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> "Variable":
        where = f"variable {self.name}"
        if self.name in RESERVED:
            raise ValueError(f"{where}: the name is reserved in ngspice expressions")
        if not self.min < self.max:
            raise ValueError(f"{where}: min {self.min:g} must be below max {self.max:g}")
        if self.step is not None and self.grid is not None:
            raise ValueError(f"{where}: give step or grid, not both")
        if isinstance(self.step, float) and self.step <= 0:
            raise ValueError(f"{where}: step must be positive")
        if isinstance(self.step, str) and self.kind not in ("w", "l"):
            raise ValueError(f"{where}: step {self.step} is a length; only w and l variables take it")
        if self.grid is not None and (sorted(self.grid) != self.grid or not self.min <= self.grid[0] <= self.grid[-1] <= self.max):
            raise ValueError(f"{where}: grid values must be sorted and within [min, max]")
        if self.scale == "log" and self.min <= 0:
            raise ValueError(f"{where}: a log scale needs min > 0")
        if self.kind in ("w", "l", "m", "c", "r") and self.min <= 0:
            raise ValueError(f"{where}: a {self.kind} variable needs min > 0")
        if self.kind == "m" and not (float(self.min).is_integer() and float(self.max).is_integer() and self.step in (None, 1.0)):
            raise ValueError(f"{where}: a multiplier m takes integer min and max (step 1)")
        if self.default is not None and not self.min <= self.default <= self.max:
            raise ValueError(f"{where}: default {self.default:g} lies outside [{self.min:g}, {self.max:g}]")
        return self

    def step_value(self, tech: Technology | None = None) -> float | None:
        """The step in the variable's unit; ``lambda``/``grid`` need the technology."""
        if self.kind == "m":
            return 1.0
        if isinstance(self.step, str):
            if tech is None:
                raise ValueError(f"variable {self.name}: step {self.step} needs a technology")
            return tech.lambda_m if self.step == "lambda" else tech.grid_m
        return self.step

    def nominal(self, tech: Technology | None = None) -> float:
        """The value a rendered subcircuit holds before any candidate: ``default``, else the middle
        of the range (geometric on a log scale) on the step or grid."""
        if self.default is not None:
            return self.default
        middle = math.sqrt(self.min * self.max) if self.scale == "log" else (self.min + self.max) / 2
        if self.grid is not None:
            return min(self.grid, key=lambda value: abs(value - middle))
        if isinstance(self.step, str) and tech is not None:  # lambda or the drawn grid: multiples of it, as W = Var x lambda
            step = self.step_value(tech)
            return min(math.floor(self.max / step + 1e-9), max(math.ceil(self.min / step - 1e-9), round(middle / step))) * step
        if self.step_value() and not isinstance(self.step, str):  # a number: steps from min
            step = self.step_value()
            return min(self.max, self.min + round((middle - self.min) / step) * step)
        return middle


class BiasPin(_Strict):
    """A bias pin's source: a voltage (V, from ground) or a current (A, flowing into the pin)."""

    voltage: Expression | None = None
    current: Expression | None = None

    @model_validator(mode="after")
    def _one(self) -> "BiasPin":
        if (self.voltage is None) == (self.current is None):
            raise ValueError("a bias pin takes a voltage or a current (one of them)")
        return self

    @property
    def value(self) -> Value:
        return self.voltage if self.voltage is not None else self.current


class Pins(_Strict):
    """Which subcircuit port plays which testbench role."""

    inp: Identifier
    inn: Identifier
    out: Identifier
    vdd: Identifier
    vss: Identifier
    bias: dict[Identifier, BiasPin] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _distinct(self) -> "Pins":
        self.roles()
        return self

    def roles(self) -> dict[str, str]:
        """Port -> role (``bias`` for bias pins); ValueError when a port plays two."""
        found: dict[str, str] = {}
        pairs = [(getattr(self, role), role) for role in ("inp", "inn", "out", "vdd", "vss")] + [(port, "bias") for port in self.bias]
        for port, role in pairs:
            if port in found:
                raise ValueError(f"port {port} plays two roles ({found[port]} and {role})")
            found[port] = role
        return found


def _device(value: object) -> object:
    return {"type": value} if isinstance(value, str) else value


class DeviceBinding(_Strict):
    """A MOS instance bound to the technology's nmos or pmos; ``role`` (or ``gm_id``, S/A, which
    overrides the role's default) sets the gm/ID the seeded start sizes it for
    (``circuits.gmid``); ``saturation: false`` leaves it out of the saturation check (a triode tail)."""

    type: Literal["nmos", "pmos"]
    role: Literal[ROLES] | None = None  # type: ignore[valid-type]
    gm_id: Number | None = None
    saturation: bool = True

    @model_validator(mode="after")
    def _gm_id(self) -> "DeviceBinding":
        if self.gm_id is not None and not 1.0 <= self.gm_id <= 40.0:
            raise ValueError(f"gm_id {self.gm_id:g} S/A is not a MOSFET's (1 to 40 S/A: strong to weak inversion)")
        return self


class GmIdRange(_Strict):
    """The gm/ID (S/A) an electrical group's column spans; ``default``: its nominal (None: the
    geometric middle)."""

    min: Number
    max: Number
    default: Number | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "GmIdRange":
        if not 1.0 <= self.min < self.max <= 40.0:
            raise ValueError(f"gm_id: min {self.min:g} must be below max {self.max:g}, both within 1 to 40 S/A")
        if self.default is not None and not self.min <= self.default <= self.max:
            raise ValueError(f"gm_id: default {self.default:g} lies outside [{self.min:g}, {self.max:g}]")
        return self

    def nominal(self) -> float:
        return self.default if self.default is not None else math.sqrt(self.min * self.max)


class SizingGroup(_Strict):
    """One device group given electrically: the run optimises its gm/ID (a column named
    ``gm_id_<width>``, S/A) and the worker finds the width variable ``width`` from the technology's
    tables: W = I_D / (m (I_D/W)(gm/ID, L, VDS, VSB)), on the variable's step and within its range.

    ``current`` is each device's drain current (A, all ``m`` copies together), ``length`` its L
    (m; None: the devices' own L), ``vds`` and ``vsb`` the bias magnitudes the tables are read at
    (V; None: a quarter of the supply, a device in saturation with room above VDSAT, and 0);
    each a number or an expression over the circuit's other variables."""

    width: Identifier
    devices: list[Identifier] = Field(default_factory=list)
    gm_id: GmIdRange
    current: NameOrExpression
    length: NameOrExpression | None = None
    vds: NameOrExpression | None = None
    vsb: NameOrExpression | None = None

    @property
    def column(self) -> str:
        return f"gm_id_{self.width}"


class ModelNames(_Strict):
    """The model names the netlist uses for the technology's nmos and pmos (``nch``, a PDK's name)."""

    nmos: Identifier | None = None
    pmos: Identifier | None = None


class Testbench(_Strict):
    """A testbench of the catalog with its settings; a setting left out takes the technology's
    (supply, input common mode) or the testbench's own (load capacitance)."""

    name: Literal["ota_open_loop", "opamp"]
    load_capacitance_f: Number | None = None
    input_cm_v: Number | None = None
    supply_v: Number | None = None

    @model_validator(mode="after")
    def _positive(self) -> "Testbench":
        if (self.load_capacitance_f is not None and self.load_capacitance_f <= 0) or (self.supply_v is not None and self.supply_v <= 0):
            raise ValueError("testbench: load_capacitance_f and supply_v must be positive")
        return self


class Constraint(_Strict):
    measure: str
    op: Literal[">=", "<="]
    value: Number


class Objective(_Strict):
    measure: str
    goal: Literal["min", "max"]


class Circuit(_Strict):
    """A circuit package. ``netlist`` keeps the text (so the package round-trips and hashes as
    written); ``parsed`` is the structure the deck is rendered from."""

    name: Identifier
    description: str = ""
    variables: list[Variable] = Field(default_factory=list)
    netlist: str
    models: ModelNames = ModelNames()
    devices: dict[Identifier, Annotated[DeviceBinding, BeforeValidator(_device)]]
    pins: Pins
    testbench: Testbench
    sizing: list[SizingGroup] = Field(default_factory=list)
    constraints: list[Constraint] = Field(default_factory=list)
    objectives: list[Objective] = Field(default_factory=list)
    _parsed: Netlist = PrivateAttr()

    @property
    def parsed(self) -> Netlist:
        return self._parsed

    def nominal_values(self, tech: Technology | None = None) -> dict[str, float]:
        """Every variable's nominal value, then every .param evaluated over them."""
        return self.environment({v.name: v.nominal(tech) for v in self.variables})

    def environment(self, values: Mapping[str, float]) -> dict[str, float]:
        """The variables' ``values``, then every .param evaluated over them (what an element reads)."""
        env = dict(values)
        for name, value, line in self._parsed.params:
            try:
                env[name] = value.evaluate(env)
            except ValueError as exc:
                raise NetlistError(line, f".param {name}: {exc}") from exc
        return env

    @model_validator(mode="after")
    def _consistent(self) -> "Circuit":
        names = [v.name for v in self.variables]
        if len(set(names)) != len(names):
            raise FieldError(("variables",), "a name is declared twice")
        netlist = parse_netlist(self.netlist, names)
        self._parsed = netlist
        self._check_devices(netlist)
        self._check_pins(netlist, set(names))
        self._check_variables(netlist)
        self._check_sizing(netlist)
        measures = TESTBENCH_MEASURES[self.testbench.name]
        for where, items in (("constraints", self.constraints), ("objectives", self.objectives)):
            for index, item in enumerate(items):
                if item.measure not in measures:
                    raise FieldError((where, index, "measure"), f"{item.measure!r} is not a measure of {self.testbench.name} ({', '.join(measures)})")
        env = self.nominal_values()
        for element in netlist.elements:
            for key, value in ([("value", element.value)] if element.value else []) + list(element.params.items()):
                try:
                    number = value.evaluate(env)
                except ValueError as exc:
                    raise NetlistError(element.line, f"{element.name} {key}: {exc}") from exc
                if (key in ("w", "l", "m") or element.letter in "rcl" and key == "value") and number <= 0:
                    raise NetlistError(element.line, f"{element.name} {key} = {number:g} at the variables' nominal values; it must be positive")
        return self

    def _check_devices(self, netlist: Netlist) -> None:
        mos = {e.name: e for e in netlist.mosfets}
        for name, element in mos.items():
            if name not in self.devices:
                raise NetlistError(element.line, f"{name} has no entry in devices: map it to nmos or pmos")
            binding = self.devices[name].type
            other = "pmos" if binding == "nmos" else "nmos"
            if element.model == getattr(self.models, other) and element.model != getattr(self.models, binding):
                raise NetlistError(element.line, f"{name} uses model {element.model}, the circuit's {other}, but devices maps it to {binding}")
        extra = sorted(set(self.devices) - set(mos))
        if extra:
            raise FieldError(("devices", extra[0]), f"no MOS instance of that name in the netlist ({', '.join(mos) or 'none'})")

    def _check_pins(self, netlist: Netlist, variables: set[str]) -> None:
        roles = self.pins.roles()
        for port, role in roles.items():
            if port not in netlist.ports:
                raise FieldError(("pins", "bias", port) if role == "bias" else ("pins", role), f"{role} pin {port} is not a port of .subckt {netlist.name} ({' '.join(netlist.ports)})")
        unmapped = [port for port in netlist.ports if port not in roles]
        if unmapped:
            raise FieldError(("pins",), f"port {unmapped[0]} of .subckt {netlist.name} plays no role; map it (inp, inn, out, vdd, vss or bias)")
        for port, pin in self.pins.bias.items():
            unknown = sorted(pin.value.names - variables)
            if unknown:
                raise FieldError(("pins", "bias", port), f"{', '.join(unknown)} is not a declared variable")

    def _check_variables(self, netlist: Netlist) -> None:
        used = set().union(*(v.names for e in netlist.elements for v in e.values()), *(v.names for _, v, _ in netlist.params))
        used |= set().union(*(pin.value.names for pin in self.pins.bias.values()))
        for index, variable in enumerate(self.variables):
            if variable.name not in used:
                raise FieldError(("variables", index, "name"), f"variable {variable.name} is used nowhere in the netlist or the bias pins")
            key = {"w": "w", "l": "l", "m": "m"}.get(variable.kind, "value")
            for device in variable.devices:
                element = netlist.element(device)
                if element is None:
                    raise FieldError(("variables", index, "devices"), f"variable {variable.name}: device {device} is not in the netlist")
                value = element.params.get(key) if key != "value" else element.value
                if value is None or not self._reads(value, variable.name, netlist):
                    raise NetlistError(element.line, f"{device}'s {key} does not use variable {variable.name}, which lists it")

    def _check_sizing(self, netlist: Netlist) -> None:
        """Electrical groups: a w variable each, at most one group per variable, MOS devices of one
        type that read it, and fields over the other (free) variables only."""
        variables = {v.name: v for v in self.variables}
        electrical = [group.width for group in self.sizing]
        free = set(variables) - set(electrical)
        for index, group in enumerate(self.sizing):
            where = ("sizing", index)
            variable = variables.get(group.width)
            if variable is None or variable.kind != "w":
                found = f"a {variable.kind} variable" if variable else "not a declared variable"
                raise FieldError((*where, "width"), f"{group.width} is {found}; an electrical group sets a w variable")
            if electrical.count(group.width) > 1:
                raise FieldError((*where, "width"), f"width variable {group.width} is in two sizing groups; give each w variable one group")
            if group.column in variables:
                raise FieldError((*where, "width"), f"the group's gm/ID column {group.column} has the name of a variable: rename that variable")
            devices = group.devices or variable.devices
            if not devices:
                raise FieldError((*where, "devices"), f"list the devices whose width is {group.width} (here or in the variable's devices)")
            unknown_devices = [device for device in devices if device not in self.devices]
            if unknown_devices:
                raise FieldError((*where, "devices"), f"{unknown_devices[0]} is not a MOS device of the netlist ({', '.join(self.devices)})")
            if len({self.devices[device].type for device in devices}) > 1:
                raise FieldError((*where, "devices"), f"{', '.join(devices)} mix nmos and pmos; a group is one device type (one table)")
            for device in devices:
                element = netlist.element(device)
                if not self._reads(element.params["w"], group.width, netlist):
                    raise NetlistError(element.line, f"{device}'s w does not use variable {group.width}, which sizing group {index} sets")
            for key in ("current", "length", "vds", "vsb"):
                value = getattr(group, key)
                unknown = sorted((value.names if value is not None else set()) - free)
                if unknown:
                    why = "set by an electrical group" if set(unknown) & set(electrical) else "not a declared variable"
                    raise FieldError((*where, key), f"{', '.join(unknown)} is {why}; {key} reads the circuit's free variables")

    def group_devices(self, group: SizingGroup) -> list[str]:
        """The devices a sizing group sizes: its own list, else its width variable's devices."""
        return group.devices or next(v.devices for v in self.variables if v.name == group.width)

    @staticmethod
    def _reads(value: Value, name: str, netlist: Netlist) -> bool:
        """Whether a value reads the variable, directly or through .params."""
        names, params = set(value.names), {p: v for p, v, _ in netlist.params}
        while names:
            current = names.pop()
            if current == name:
                return True
            if current in params:
                names |= params.pop(current).names
        return False


def _yaml_line(node: yaml.Node | None, location: tuple) -> int | None:
    """The file line (from 1) of the field at ``location`` in a composed YAML/JSON document."""
    line = None
    for key in location:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((value for k, value in node.value if str(k.value).lower() == str(key).lower()), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            node = None
    return node.start_mark.line + 1 if node is not None else line


def _netlist_line(root: yaml.Node | None, netlist_line: int) -> int | None:
    """A netlist line as a file line, when the netlist is a YAML block scalar (``netlist: |``)."""
    if not isinstance(root, yaml.MappingNode):
        return None
    node = next((value for k, value in root.value if k.value == "netlist"), None)
    if node is None or node.style not in ("|", ">"):
        return None
    return node.start_mark.line + 1 + netlist_line


def _duplicates(node: yaml.Node | None) -> None:
    if isinstance(node, yaml.MappingNode):
        keys = [str(k.value).lower() for k, _ in node.value]
        for key, _ in node.value:
            if keys.count(str(key.value).lower()) > 1:
                raise CircuitError(f"line {key.start_mark.line + 1}: key {key.value!r} is given twice")
        for _, value in node.value:
            _duplicates(value)
    elif isinstance(node, yaml.SequenceNode):
        for value in node.value:
            _duplicates(value)


def circuit_from_text(text: str, source: str = "circuit") -> Circuit:
    """Validate a circuit package given as YAML or JSON text; CircuitError says where and what."""
    if len(text.encode()) > MAX_FILE_BYTES:
        raise CircuitError(f"{source}: larger than {MAX_FILE_BYTES} bytes")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        _duplicates(root)
        data = yaml.safe_load(text)
    except yaml.reader.ReaderError as exc:
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        line = text[:exc.position].count("\n") + 1
        raise CircuitError(f"{source} line {line}: character U+{code:04X} is not allowed (plain text only)") from exc
    except yaml.MarkedYAMLError as exc:
        line = f" line {exc.problem_mark.line + 1}" if exc.problem_mark else ""
        raise CircuitError(f"{source}{line}: not valid YAML or JSON ({exc.problem})") from exc
    except yaml.YAMLError as exc:
        raise CircuitError(f"{source}: not valid YAML or JSON ({exc})") from exc
    except CircuitError as exc:
        raise CircuitError(f"{source} {exc}") from exc
    if not isinstance(data, dict):
        raise CircuitError(f"{source}: a circuit package is a mapping of name, netlist, pins, devices, variables, testbench, ...")
    try:
        return Circuit.model_validate(data)
    except ValidationError as exc:
        raise CircuitError(_describe(exc, root, source)) from exc


def _describe(exc: ValidationError, root: yaml.Node | None, source: str) -> str:
    """The first error as one line: file line, netlist line or field, and pydantic's reason."""
    error = exc.errors()[0]
    cause = (error.get("ctx") or {}).get("error")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    if isinstance(cause, NetlistError) and cause.line is not None:
        line = _netlist_line(root, cause.line)
        where = f"line {line} (netlist line {cause.line})" if line else f"netlist line {cause.line}"
        return f"{source} {where}: {cause.reason}{more}"
    loc, message = (cause.location, cause.reason) if isinstance(cause, FieldError) else (error["loc"], str(cause or error["msg"]))
    location = ".".join(str(part) for part in loc)
    line = _yaml_line(root, loc) if loc else None
    place = f" line {line} ({location})" if line else f" ({location})" if location else ""
    return f"{source}{place}: {message}{more}"


def read_package(path: Path | str) -> str:
    """A circuit package file's text; CircuitError when it cannot be read as UTF-8."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CircuitError(f"cannot read circuit file {path}: {exc}") from exc


def load_circuit(path: Path | str) -> Circuit:
    """Read and validate a circuit package file (YAML or JSON)."""
    return circuit_from_text(read_package(path), str(path))
