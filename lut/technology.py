"""Technologies gmopt can simulate: the embedded generic180, installed open PDKs, users' own models.

A technology names its model file, the ``.lib`` section of each corner, its supply and its two
core devices. PDK devices are often subcircuits with their own size units; ``Device`` hides
that, so templates and the LUT builder write one instance line for every technology.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from gmopt.settings import get_settings
from spice_templates import model_path

Polarity = Literal["n", "p"]
DEFAULT_TECHNOLOGY = "generic180"


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

    def instance(self, name: str, drain: str, gate: str, source: str, bulk: str, w: str, l: str) -> str:
        """An instance line; ``w`` and ``l`` are SPICE expressions in metres (``{var1*lambda}``, ``1u``).

        Plain MOSFETs get diffusion perimeters PD = PS = W (areas stay 0): with ngspice's default
        of 0, BSIM3 warns "Pd = 0 is less than W" at every analysis, which made each analysis
        about 30x slower. They also get NRD = NRS = 0: BSIM3's default of one square puts RSH
        ohms (6.5 / 7.3 in generic180) in series with source and drain whatever the width, so a
        300 um device carried 14 % less current per width than the look-up table's 10 um one and
        the sizing's Gm came out at 0.79 of plan (0.95 without them). PDK subcircuit devices
        compute their own geometry.
        """
        scale = "" if self.size_unit_m == 1.0 else f"/{self.size_unit_m:g}"
        line = f"{self.prefix}{name} {drain} {gate} {source} {bulk} {self.model} w={{({_bare(w)}){scale}}} l={{({_bare(l)}){scale}}}"
        return f"{line} pd={w} ps={w} nrd=0 nrs=0" if self.prefix == "m" else line

    def vector(self, name: str, quantity: str) -> str:
        """The ngspice vector of a device quantity (``@m1[gm]``, or ``@m.x1.inner[gm]`` in a subcircuit)."""
        if self.prefix == "m":
            return f"@m{name}[{quantity}]".lower()
        return f"@m.x{name}.{self.inner}[{quantity}]".lower()


def _bare(expression: str) -> str:
    return expression.strip().removeprefix("{").removesuffix("}")


@dataclass(frozen=True)
class Technology:
    """A registered technology: models, corners, supply and the NMOS and PMOS core devices."""

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

    def device(self, polarity: str) -> Device:
        if polarity in ("n", "nmos", "nch"):
            return self.nmos
        if polarity in ("p", "pmos", "pch"):
            return self.pmos
        raise ValueError(f"unknown device {polarity!r}: choose 'nmos' or 'pmos'")

    def check_corner(self, corner: str | None) -> str:
        corner = corner or self.default_corner
        if corner not in self.corners:
            raise UnknownTechnology(
                f"technology {self.name!r} has no corner {corner!r}; valid corners: {', '.join(self.corners)}"
            )
        return corner

    def include(self, corner: str | None = None) -> str:
        """The netlist lines that load this technology's models at a corner."""
        section = self.corners[self.check_corner(corner)]
        lines = [*self.extra_includes, f'.lib "{self.model_file}" {section}']
        return "\n".join(lines)

    def model_hash(self) -> str:
        """SHA-256 of every model file (``model_root``, else the model file's folder): results
        record which models made them."""
        return _folder_hash(self.model_root or self.model_file.parent)

    def to_json(self) -> dict:
        data = asdict(self)
        data["model_file"] = str(self.model_file)
        data["model_root"] = str(self.model_root) if self.model_root else None
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Technology":
        data = dict(data)
        data["model_file"] = Path(data["model_file"])
        data["model_root"] = Path(data["model_root"]) if data.get("model_root") else None
        data["nmos"] = Device(**data["nmos"])
        data["pmos"] = Device(**data["pmos"])
        data["extra_includes"] = tuple(data.get("extra_includes", ()))
        return cls(**data)


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
)


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
