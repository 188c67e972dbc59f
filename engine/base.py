"""The interface every ngspice back-end implements, and the checks on what goes into a deck.

Callers load a circuit once, change numbers in place (``set_params`` for ``.param`` values,
``alter`` for device or source values) and run named analyses; results come back as numpy
arrays keyed by ngspice's vector names (``out``, ``vdd#branch``, ``@m1[gm]``).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping

import numpy as np

from spice_templates import spice_number

Vectors = dict[str, np.ndarray]
Results = dict[str, Vectors]

DEFAULT_TIMEOUT_S = 60.0

_NAME = re.compile(r"^[A-Za-z_@][A-Za-z0-9_.#@\[\]]*$")
_ANALYSIS = re.compile(r"^(op|dc|ac|tran|noise|tf|pz|sens)(\s+[A-Za-z0-9_.+\-#@\[\]]+)*$", re.I)


def check_name(name: str) -> str:
    """Refuse anything but an identifier, so no text from outside can become a SPICE command."""
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not a valid parameter or device name")
    return name.lower()


def check_analysis(command: str) -> str:
    """Analyses are built by gmopt itself; this guards against a control command sneaking in."""
    if not _ANALYSIS.match(command.strip()):
        raise ValueError(f"{command!r} is not an ngspice analysis line")
    return command.strip()


class Engine(ABC):
    """One loaded circuit, changed in place and simulated many times."""

    def __init__(self) -> None:
        self._params: dict[str, str] = {}
        self._alters: dict[tuple[str, str], str] = {}

    @abstractmethod
    def load(self, netlist: str) -> None:
        """Load a circuit (title line first, no ``.control`` block); forgets earlier changes."""

    def set_params(self, params: Mapping[str, float]) -> None:
        """Change ``.param`` values; the circuit is re-evaluated before the next analysis."""
        self._params.update({check_name(k): spice_number(v) for k, v in params.items()})

    def alter(self, device: str, **values: float) -> None:
        """Change instance values (``w``, ``l``, ``dc``) without re-parsing the circuit."""
        for key, value in values.items():
            self._alters[(check_name(device), check_name(key))] = spice_number(value)

    def resize(self, params: Mapping[str, float], alters: Mapping[str, Mapping[str, float]]) -> None:
        """The change ``set_params(params)`` makes, made instead by the ``alter`` values the caller
        derived from ``params`` (``ota.testbench``: the instance values a re-parse would give).
        A back-end that re-parses every run anyway just sets the parameters."""
        self.set_params(params)

    def instance_value(self, instance: str, name: str) -> float | None:
        """An instance parameter of the loaded circuit (``w`` of ``m.xota.mn2``), None if it has none;
        only an in-process session can read them (``can_inspect``)."""
        raise NotImplementedError(f"{type(self).__name__} cannot read instance parameters")

    def model_limits(self, instance: str) -> dict[str, float]:
        """The bin limits (``lmin``, ``lmax``, ``wmin``, ``wmax`` in m) of the model card an instance uses."""
        raise NotImplementedError(f"{type(self).__name__} cannot read model parameters")

    can_inspect = False

    @abstractmethod
    def run(
        self, analyses: Mapping[str, str], timeout_s: float = DEFAULT_TIMEOUT_S, vectors: Mapping[str, Collection[str]] | None = None,
    ) -> Results:
        """Run each analysis in order; raise ``SimulationError`` if any fails. ``vectors``: per
        analysis key, the only vectors its result needs to hold (lower case; an analysis not
        named: all of them), which spares an in-process session reading the others."""

    def close(self) -> None:
        """Release what the back-end holds."""

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _forget_changes(self) -> None:
        self._params.clear()
        self._alters.clear()

    def _change_commands(self) -> list[str]:
        """ngspice commands that bring a freshly parsed circuit to the current numbers."""
        commands = [f"alterparam {name}={value}" for name, value in self._params.items()]
        if commands:
            commands.append("reset")
        for (device, key), value in self._alters.items():
            commands.append(f"alter {device} {key}={value}")
        return commands
