"""Technologies gmopt can simulate: the embedded generic180, installed open PDKs, users' own models.

A technology names its model file, the ``.lib`` section of each corner (or none: a file of plain
``.model`` cards, as predictive and foundry cards are often published, is ``.include``d whole, and
each corner may name its own such file), its two core devices and
the conditions its circuits run at: rails, input common mode, bias voltages (or none: the first
sizing derives them from the tables), and the sizing grid (lambda, the default L, Var bounds and
the widest finger its models accept). PDK devices are often subcircuits with their own size
units; ``Device`` hides that, so templates and the LUT builder write one instance line for every
technology. The paper's values (gmopt.paper) belong to generic180 only.
"""

from __future__ import annotations

import functools
import math
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from gmopt import paper
from gmopt.limits import check_within, within
from gmopt.settings import get_settings
from spice_templates import model_path

Polarity = Literal["n", "p"]
DEFAULT_TECHNOLOGY = "generic180"
# Model, section, corner and pin names go into decks: only plain identifiers, never SPICE text.
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+\-]*$")
# Why -55 to 175 degC: the junction range that foundry models are qualified over (military
# -55 degC, automotive grade 0 junctions 175 degC); BSIM's temperature equations are fits
# inside it, so a result outside it would be an extrapolation reported as a measurement.
TEMPERATURE_RANGE_C = (-55.0, 175.0)


# The same limit as a pydantic field type (specs and API requests); the schema shows the range.
TemperatureC = Annotated[float, *within(*TEMPERATURE_RANGE_C, "temperature", " degC")]


def check_temperature(temp_c: float) -> float:
    """The temperature as a float; ValueError naming the range when it is outside ``TEMPERATURE_RANGE_C``."""
    return float(check_within(temp_c, *TEMPERATURE_RANGE_C, "temperature", " degC"))


class UnknownTechnology(ValueError):
    """A technology or corner name that is not registered; the message lists the valid ones."""


@dataclass(frozen=True)
class Device:
    """One MOS device kind of a technology, as an instance line and as a ``@device[...]`` path."""

    model: str
    polarity: Polarity
    prefix: Literal["m", "x"] = "m"
    inner: str = ""
    size_unit_m: float = 1.0
    max_finger_width_m: float | None = None

    def instance(self, name: str, drain: str, gate: str, source: str, bulk: str, w: str, l: str, m: str | None = None) -> str:
        """An instance line; ``w`` and ``l`` are SPICE expressions in metres (``{var1*lambda}``, ``1u``),
        ``m`` an optional multiplier (parallel devices of width ``w``; user circuits' ``m=``).

        A device wider than ``max_finger_width_m`` (the widest one finger its binned models accept:
        gf180mcu's bins end at 100 um, and a wider instance fails to load with "could not find a
        valid modelname") is written as ``m = ceil(W / max)`` parallel fingers of W / m each, in
        the netlist itself, so that a width changed by ``alterparam`` re-splits too.

        Plain MOSFETs get diffusion perimeters PD = PS = W (areas stay 0): with ngspice's default
        of 0, BSIM3 warns "Pd = 0 is less than W" at every analysis, which made each analysis
        about 30x slower. They also get NRD = NRS = 0: BSIM3's default of one square puts RSH
        ohms (6.5 / 7.3 in generic180) in series with source and drain whatever the width, so a
        300 um device carried 14 % less current per width than the look-up table's 10 um one and
        the sizing's Gm came out at 0.79 of plan (0.95 without them). PDK subcircuit devices
        compute their own geometry.
        """
        scale = "" if self.size_unit_m == 1.0 else f"/{self.size_unit_m:g}"
        width, perimeter, fingers = _bare(w), w, ""
        if self.max_finger_width_m is not None:
            count = f"ceil(({width})/{self.max_finger_width_m:g}-1e-9)"
            width = f"({width})/{count}"
            perimeter, fingers = f"{{{width}}}", f" m={{{count}}}"
        if m is not None:
            fingers = f" m={{({count})*({_bare(m)})}}" if fingers else f" m={{{_bare(m)}}}"
        line = f"{self.prefix}{name} {drain} {gate} {source} {bulk} {self.model} w={{({width}){scale}}} l={{({_bare(l)}){scale}}}{fingers}"
        return f"{line} pd={perimeter} ps={perimeter} nrd=0 nrs=0" if self.prefix == "m" else line

    def fingers(self, width_m: float) -> int:
        """How many parallel fingers ``instance`` splits a device of ``width_m`` into."""
        if self.max_finger_width_m is None:
            return 1
        return max(1, math.ceil(width_m / self.max_finger_width_m - 1e-9))

    def vector(self, name: str, quantity: str, within: str = "") -> str:
        """The ngspice vector of a device quantity: ``@m1[gm]``, ``@m.x1.inner[gm]`` for a PDK
        subcircuit device, and ``@m.xota.mn2[vds]`` for one inside subcircuit instance ``within``.
        The one place that spells ngspice's vector paths."""
        path = [within] if within else []
        path += [f"{self.prefix}{name}"] + ([self.inner] if self.prefix == "x" else [])
        if len(path) == 1:
            return f"@{path[0]}[{quantity}]".lower()
        return f"@m.{'.'.join(path)}[{quantity}]".lower()


def _bare(expression: str) -> str:
    return expression.strip().removeprefix("{").removesuffix("}")


@dataclass(frozen=True)
class Technology:
    """A registered technology: models, corners, the NMOS and PMOS core devices, and the
    conditions its circuits are sized and simulated at.

    Rails are symmetric, +-supply/2 (the paper's +-0.9 V for a 1.8 V process), so a differential
    input sits at ``input_cm_v`` (0 V: mid-supply). ``bias_v`` holds fixed OTA bias voltages by pin
    (generic180: the paper's Section 4 values); None means the first sizing derives each from the
    tables (``ota.bias``). Widths are ``Var * lambda_m`` with Var in ``var_bounds``; ``length_m``
    is the L of every OTA device unless L is a design variable.

    ``corners`` maps a corner to its ``.lib`` section, or to "" for none (the file is included
    whole); ``corner_files`` gives a corner a model file of its own. ``table_lengths_m`` is the L
    grid of the look-up tables; None derives it from lmin and lmax (``lut.build.table_lengths``),
    with ``design_lengths_m`` (the lengths designers use: a PDK's bin edges) among its points.
    """

    name: str
    description: str
    source: str
    model_file: Path
    corners: dict[str, str]
    supply_v: float
    nmos: Device
    pmos: Device
    lmin_m: float
    wmin_m: float
    default_corner: str = "tt"
    extra_includes: tuple[str, ...] = field(default_factory=tuple)
    model_root: Path | None = None
    lmax_m: float = 100e-6
    wmax_m: float = 10e-3
    grid_m: float = 5e-9
    lambda_m: float | None = None
    length_m: float | None = None
    var_bounds: tuple[int, int] | None = None
    input_cm_v: float = 0.0
    bias_v: dict[str, float] | None = None
    corner_files: dict[str, str] = field(default_factory=dict)
    table_lengths_m: tuple[float, ...] | None = None
    design_lengths_m: tuple[float, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        """Fill what a user left out with clear defaults and refuse conditions no circuit can meet:
        lambda = lmin / 2 (the scalable-CMOS rule; 0.09 um at 180 nm, the paper's value), L = 5 lmin
        on the grid, Var in [40, 8000] (widths from 20 to 4000 lmin, as the paper's range at 180 nm)
        raised so that the narrowest width is at least wmin."""
        if not (self.supply_v > 0 and 0 < self.lmin_m < self.lmax_m and 0 < self.wmin_m < self.wmax_m and self.grid_m > 0):
            raise ValueError(
                f"technology {self.name!r}: need supply_v > 0, 0 < lmin_m < lmax_m and 0 < wmin_m < wmax_m "
                f"(got supply {self.supply_v} V, L {self.lmin_m}-{self.lmax_m} m, W {self.wmin_m}-{self.wmax_m} m)"
            )
        lam = self.lambda_m or self.on_grid(self.lmin_m / 2)
        set_ = functools.partial(object.__setattr__, self)
        set_("lambda_m", lam)
        set_("length_m", self.length_m or self.on_grid(5 * self.lmin_m))
        low, high = self.var_bounds or (max(paper.VAR_BOUNDS[0], math.ceil(self.wmin_m / lam - 1e-9)), paper.VAR_BOUNDS[1])
        set_("var_bounds", (int(low), int(high)))
        if not (low < high and low * lam >= self.wmin_m * (1 - 1e-9) and high * lam <= self.wmax_m * (1 + 1e-9)):
            raise ValueError(
                f"technology {self.name!r}: Var bounds [{low}, {high}] x lambda {lam:g} m give widths outside "
                f"[{self.wmin_m:g}, {self.wmax_m:g}] m"
            )
        if not self.lmin_m * (1 - 1e-9) <= self.length_m <= self.lmax_m:
            raise ValueError(f"technology {self.name!r}: default L {self.length_m:g} m is outside [{self.lmin_m:g}, {self.lmax_m:g}] m")
        self._check_names()
        if abs(self.input_cm_v) >= self.supply_v / 2:
            raise ValueError(f"technology {self.name!r}: input common mode {self.input_cm_v:g} V lies outside the rails +-{self.supply_v / 2:g} V")

    def _check_names(self) -> None:
        """Names and paths end up in decks: refuse anything that could be read as more SPICE."""
        names = {"device": [self.nmos.model, self.pmos.model, self.nmos.inner, self.pmos.inner],
                 "corner": list(self.corners), "section": [s for s in self.corners.values() if s],
                 "bias pin": list(self.bias_v or ())}
        for kind, values in names.items():
            for value in values:
                if value and not _NAME.match(value):
                    raise ValueError(f"technology {self.name!r}: {kind} name {value!r} must be letters, digits and _ . + - only")
        for corner, path in self.corner_files.items():
            if corner not in self.corners:
                raise ValueError(f"technology {self.name!r}: model file for unknown corner {corner!r}")
        for path in (str(self.model_file), *self.corner_files.values()):
            if any(character in path for character in "\"\n\r"):
                raise ValueError(f"technology {self.name!r}: model file path {path!r} contains a quote or a line break")
        lengths = self.table_lengths_m
        if lengths is not None and (len(lengths) < 2 or list(lengths) != sorted(set(lengths))
                                    or lengths[0] < self.lmin_m * (1 - 1e-9) or lengths[-1] > self.lmax_m * (1 + 1e-9)):
            raise ValueError(f"technology {self.name!r}: table lengths {lengths} must increase within [{self.lmin_m:g}, {self.lmax_m:g}] m")

    def on_grid(self, length_m: float) -> float:
        """A length rounded up to the technology's drawn grid (m)."""
        return round(math.ceil(length_m / self.grid_m - 1e-6) * self.grid_m, 15)

    @property
    def vdd_v(self) -> float:
        return self.supply_v / 2

    @property
    def vss_v(self) -> float:
        return -self.supply_v / 2

    @property
    def width_range_m(self) -> tuple[float, float]:
        """The widths Var x lambda can take (m)."""
        return self.var_bounds[0] * self.lambda_m, self.var_bounds[1] * self.lambda_m

    def device(self, polarity: str) -> Device:
        if polarity in ("n", "nmos", "nch"):
            return self.nmos
        if polarity in ("p", "pmos", "pch"):
            return self.pmos
        raise ValueError(f"unknown device {polarity!r}: choose 'nmos' or 'pmos'")

    def at(self, corner: str | None = None, temp_c: float = 27.0) -> "Condition":
        """This technology at a corner (None: its default) and temperature (degC), checked here
        once: the ``Condition`` carries its validity down to the decks and tables, which do not
        check it again. An unknown corner lists the valid ones; a temperature outside
        ``TEMPERATURE_RANGE_C`` names the range."""
        corner = corner or self.default_corner
        if corner not in self.corners:
            raise UnknownTechnology(
                f"technology {self.name!r} has no corner {corner!r}; valid corners: {', '.join(self.corners)}"
            )
        return Condition(self, corner, check_temperature(temp_c))

    def include(self, corner: str | None = None) -> str:
        """The netlist lines that load this technology's models at a corner (hand-written decks:
        ``self.at(corner).include()``)."""
        return self.at(corner).include()

    def model_hash(self) -> str:
        """SHA-256 of every model file (``model_root``, else the model file's folder, and the
        folders of corner files elsewhere): results record which models made them."""
        folders = [self.model_root or self.model_file.parent]
        folders += sorted({Path(path).parent for path in self.corner_files.values()} - set(folders))
        if len(folders) == 1:
            return _folder_hash(folders[0])
        return hashlib.sha256("".join(_folder_hash(folder) for folder in folders).encode()).hexdigest()

    def to_json(self) -> dict:
        data = asdict(self)
        data["model_file"] = str(self.model_file)
        data["model_root"] = str(self.model_root) if self.model_root else None
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Technology":
        """Read a registered description; fields a file written by an older gmopt lacks take
        their defaults."""
        data = dict(data)
        data["model_file"] = Path(data["model_file"])
        data["model_root"] = Path(data["model_root"]) if data.get("model_root") else None
        data["nmos"] = Device(**data["nmos"])
        data["pmos"] = Device(**data["pmos"])
        data["extra_includes"] = tuple(data.get("extra_includes", ()))
        for key in ("var_bounds", "table_lengths_m", "design_lengths_m"):
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        return cls(**data)


@dataclass(frozen=True)
class Condition:
    """A technology at one corner and temperature: what a deck, a table or a sizing is made at.

    Made by ``Technology.at``, which checked the corner and the temperature; the code below the
    edge that made it (netlists, the tables' build and look-up, testbenches, the first sizing)
    takes it as it is. Pickled as names (``_condition``): a worker process, maybe on another
    machine, resolves them once against its own registry, as it did when jobs carried names.
    """

    technology: Technology
    corner: str
    temp_c: float

    @property
    def section(self) -> str:
        """The ``.lib`` section of the corner ("" when the model file is included whole)."""
        return self.technology.corners[self.corner]

    @property
    def model_file(self) -> str:
        """The model file of the corner: its own file, else the technology's."""
        return self.technology.corner_files.get(self.corner, str(self.technology.model_file))

    def include(self) -> str:
        """The netlist lines that load the technology's models at this corner."""
        path, section = self.model_file, self.section
        lines = [*self.technology.extra_includes, f'.lib "{path}" {section}' if section else f'.include "{path}"']
        return "\n".join(lines)

    def __hash__(self) -> int:  # a Technology holds dicts: hashed by what names it
        return hash((self.technology.name, self.corner, self.temp_c))

    def __reduce__(self) -> tuple:
        return _condition, (self.technology.name, self.corner, self.temp_c)


def _condition(technology: str, corner: str, temp_c: float) -> Condition:
    return get_technology(technology).at(corner, temp_c)


def resolve_condition(technology: "Condition | Technology | str | None", corner: str | None = None,
                      temp_c: float | None = None) -> Condition:
    """The edge of every public entry point that takes names (a CLI option, an API field,
    ``OtaTestbench("fig7", "sky130", "ss", 85)``): a ``Condition`` passes as it is (it was checked
    when it was made), a technology or its name is checked once at ``corner`` (None: its default)
    and ``temp_c`` (None: 27 degC)."""
    if isinstance(technology, Condition):
        if corner is not None or temp_c is not None:
            raise TypeError("a Condition already has its corner and temperature: give neither again")
        return technology
    tech = technology if isinstance(technology, Technology) else get_technology(technology)
    return tech.at(corner, 27.0 if temp_c is None else temp_c)


@functools.cache
def _folder_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


GENERIC180 = Technology(
    name="generic180",
    description="Embedded default: 180 nm CMOS, 1.8 V, BSIM3v3 (MOSIS TSMC 0.18 um run T16X parameters)",
    source="MOSIS parametric test results, run T16X (TSMC SCN018), BSIM3 version 3.1 parameters, Sep 5 2001",
    model_file=model_path("generic180.lib"),
    corners={corner: corner for corner in ("tt", "ff", "ss", "fs", "sf")},
    supply_v=1.8,
    nmos=Device("nch", "n"),
    pmos=Device("pch", "p"),
    lmin_m=0.18e-6,
    wmin_m=0.27e-6,
    grid_m=0.01e-6,
    # The tables' L grid from before lengths were derived per technology: its cached tables and
    # figures depend on it (denser where VTH rolls off).
    table_lengths_m=(0.18e-6, 0.22e-6, 0.27e-6, 0.33e-6, 0.4e-6, 0.5e-6, 0.65e-6, 0.8e-6, 1e-6, 1.4e-6, 2e-6),
    # The paper's conditions (gmopt.paper, Section 4 and Tables 1-4): they must not drift.
    lambda_m=paper.LAMBDA_M,
    length_m=paper.OTA_LENGTH_M,
    var_bounds=paper.VAR_BOUNDS,
    bias_v=dict(paper.BIAS_V),
)
assert GENERIC180.supply_v / 2 == paper.SUPPLY_V, "generic180's rails are the paper's +-0.9 V"


def registry_dir() -> Path:
    return get_settings().technologies_dir


def register(technology: Technology) -> Path:
    """Store a technology description in the user data directory; returns the file written."""
    if technology.name == GENERIC180.name:
        raise ValueError(f"{GENERIC180.name!r} is built in and cannot be replaced")
    if not technology.model_file.is_file():
        raise FileNotFoundError(f"model file {technology.model_file} does not exist")
    folder = registry_dir() / technology.name
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "technology.json"
    target.write_text(json.dumps(technology.to_json(), indent=2))
    return target


def list_technologies() -> list[Technology]:
    """The built-in technology first, then every registered one, by name."""
    found = [GENERIC180]
    folder = registry_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*/technology.json")):
            found.append(Technology.from_json(json.loads(path.read_text())))
    return found


def get_technology(name: str | None = None) -> Technology:
    """A technology by name (the default when None); an unknown name lists the valid ones."""
    name = name or DEFAULT_TECHNOLOGY
    technologies = {tech.name: tech for tech in list_technologies()}
    if name not in technologies:
        hint = " (install one with 'gmopt tech install sky130|gf180mcu' or add your own with 'gmopt tech add')"
        raise UnknownTechnology(f"unknown technology {name!r}; valid technologies: {', '.join(technologies)}{hint}")
    return technologies[name]
