"""The one exception family that every simulation failure raises, carrying ngspice's own words."""

from __future__ import annotations


class SimulationError(RuntimeError):
    """ngspice could not finish a simulation (no convergence, a netlist error, a missing model file).

    ``log`` keeps ngspice's error lines so that the caller can show the designer what to fix.
    """

    def __init__(self, message: str, log: list[str] | None = None) -> None:
        self.log = list(log or [])
        detail = "\n".join(self.log[-12:])
        super().__init__(f"{message}\n{detail}" if detail else message)


class SimulationTimeout(SimulationError):
    """A simulation ran longer than its time-out and was halted."""


class EngineUnavailable(SimulationError):
    """ngspice (binary or shared library) is not installed where we look for it."""
