"""The testbench catalog: every testbench a circuit package can name, behind one protocol.

``open_bench(circuit, condition)`` loads the package's deck once in an ngspice session; each
``evaluate(values)`` changes the variables in place and returns a ``BenchResult`` with every
measure of ``circuits.model.TESTBENCH_MEASURES[circuit.testbench.name]``. docs/circuits.md
("Testbench catalog") defines each measure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from circuits.benches.base import DEFAULT_TIMEOUT_S, BenchResult, CircuitBench
from circuits.benches.opamp import OpampBench
from circuits.benches.ota_open_loop import OtaOpenLoopBench
from circuits.model import Circuit
from engine import Backend
from lut.technology import Condition

BENCHES: dict[str, type[CircuitBench]] = {"ota_open_loop": OtaOpenLoopBench, "opamp": OpampBench}


class Bench(Protocol):
    """A loaded testbench of one circuit at one condition (technology, corner, temperature)."""

    circuit: Circuit
    condition: Condition
    measures: tuple[str, ...]

    def evaluate(self, values: Mapping[str, float]) -> BenchResult:
        """One candidate: variable name -> SI value (a variable left out is nominal)."""

    def deck(self, values: Mapping[str, float]) -> str:
        """The full netlist ngspice runs at ``values``, with its analyses (for export)."""

    def close(self) -> None:
        """Release the ngspice session."""

    def __enter__(self) -> "Bench": ...

    def __exit__(self, *exc: object) -> None: ...


def open_bench(circuit: Circuit, condition: Condition, backend: Backend = "shared", timeout_s: float = DEFAULT_TIMEOUT_S) -> Bench:
    """The testbench ``circuit.testbench.name`` of the catalog, loaded for ``circuit`` at ``condition``."""
    name = circuit.testbench.name
    if name not in BENCHES:
        raise ValueError(f"testbench {name!r} is not in the catalog yet ({', '.join(BENCHES)})")
    return BENCHES[name](circuit, condition, backend=backend, timeout_s=timeout_s)


__all__ = ["BENCHES", "Bench", "BenchResult", "open_bench"]
