"""gmopt's own low-offset OTA designs (``reference_designs.yaml``), one per topology.

The emulator is a memristor only if its OTA is a good transconductor: i = Gm(VB) v with no
current at v = 0. The paper's Table 7 widths are not that in generic180 (offsets of a few hundred
mV), so the emulator and neuron can use a design from our own optimizer instead. The data file
holds each design's provenance (command, spec, chosen front point, measured metrics).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from ota.topology import get_topology

DATA_FILE = Path(__file__).with_name("reference_designs.yaml")


@dataclass(frozen=True)
class ReferenceDesign:
    topology: str
    var: tuple[int, ...]
    chosen: str
    constraints: dict[str, float]
    metrics: dict[str, float]
    technology: str
    corner: str
    temp_c: float


@cache
def reference_designs() -> dict[str, ReferenceDesign]:
    data = yaml.safe_load(DATA_FILE.read_text())
    return {
        name: ReferenceDesign(
            topology=name, var=tuple(get_topology(name).check_var(entry["var"])), chosen=entry["chosen"],
            constraints=entry["constraints"], metrics=entry["metrics"], technology=data["technology"],
            corner=data["corner"], temp_c=float(data["temp_c"]),
        )
        for name, entry in data["designs"].items()
    }


def reference_var(topology: str) -> list[int]:
    """Our low-offset design's widths (integer multiples of lambda) for ``topology``."""
    designs = reference_designs()
    if topology not in designs:
        raise ValueError(f"no gmopt reference design for OTA {topology!r}; there are: {', '.join(designs)}")
    return list(designs[topology].var)
