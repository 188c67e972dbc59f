"""Reader for ngspice's binary raw files, the output of the batch back-end's ``write`` command."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from engine.base import Vectors

_VOLTAGE = re.compile(r"^v\((.*)\)$")
_CURRENT = re.compile(r"^i\((.*)\)$")


def vector_name(raw_name: str) -> str:
    """Raw files write ``v(out)`` and ``i(vdd)``; the session calls them ``out`` and ``vdd#branch``."""
    name = raw_name.lower()
    if match := _VOLTAGE.match(name):
        return match.group(1)
    if match := _CURRENT.match(name):
        inner = match.group(1)
        return inner if inner.startswith("@") else f"{inner}#branch"
    return name


def read_raw(path: Path) -> Vectors:
    """Read the single plot of a binary raw file written by ``write FILE all``."""
    blob = path.read_bytes()
    marker = blob.find(b"Binary:\n")
    if marker < 0:
        raise ValueError(f"{path} is not a binary ngspice raw file")
    header = blob[:marker].decode("latin-1").splitlines()
    fields: dict[str, str] = {}
    names: list[str] = []
    in_variables = False
    for line in header:
        if in_variables:
            parts = line.split()
            names.append(vector_name(parts[1]))
            continue
        key, _, value = line.partition(":")
        fields[key.strip().lower()] = value.strip()
        in_variables = key.strip().lower() == "variables"
    points = int(fields["no. points"])
    dtype = np.complex128 if "complex" in fields.get("flags", "") else np.float64
    data = np.frombuffer(blob, dtype=dtype, offset=marker + len(b"Binary:\n"), count=points * len(names))
    table = data.reshape(points, len(names))
    return {name: np.array(table[:, column]) for column, name in enumerate(names)}
