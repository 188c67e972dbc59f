"""The ngspice engine: every simulation in gmopt goes through ``open_engine``.

``shared`` keeps one circuit loaded in an in-process libngspice session (fast: numbers change in
place); ``batch`` starts ``ngspice -b`` per run (slow, but needs only the program).
"""

from __future__ import annotations

import functools
import re
import subprocess
from typing import Literal

from engine.base import DEFAULT_TIMEOUT_S, Engine, Results, Vectors
from engine.batch import BatchEngine, ngspice_binary
from engine.errors import EngineUnavailable, SimulationError, SimulationTimeout
from engine.shared import SharedEngine

Backend = Literal["shared", "batch"]

__all__ = [
    "DEFAULT_TIMEOUT_S", "Backend", "BatchEngine", "Engine", "EngineUnavailable", "Results",
    "SharedEngine", "SimulationError", "SimulationTimeout", "Vectors", "ngspice_version", "open_engine",
]


def open_engine(backend: Backend = "shared") -> Engine:
    """A new engine of the chosen back-end."""
    if backend == "shared":
        return SharedEngine()
    if backend == "batch":
        return BatchEngine()
    raise ValueError(f"unknown ngspice back-end {backend!r}: choose 'shared' or 'batch'")


@functools.cache
def ngspice_version() -> str:
    """The installed ngspice's version (``39``), recorded with every result for reproducibility."""
    try:
        banner = subprocess.run([ngspice_binary(), "--version"], capture_output=True, text=True, timeout=10).stdout
    except EngineUnavailable:
        return "unknown"
    match = re.search(r"ngspice-(\S+)", banner)
    return match.group(1) if match else "unknown"
