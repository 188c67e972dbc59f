"""The design space of a run: the widths, and optionally channel lengths and bias voltages.

Every variable is an integer, so pymoo's integer recipe (SBX and polynomial mutation, then
``RoundingRepair``) serves them all and a candidate is a row of integers that a store keys and
de-duplicates exactly: widths as Var (W = Var x lambda, as the paper), a length as a whole number
of the technology's drawn grid (a length no layout could draw is never simulated), a bias voltage
in millivolts (finer than any bias generator holds it). A row is ``widths + lengths + biases``;
a run without extra variables has rows of widths only, as before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from lut.technology import Technology
    from optimizer.spec import RunSpec
    from ota.topology import Topology

MV_PER_V = 1000.0


@dataclass(frozen=True)
class Candidate:
    """One row split into what a testbench takes: Var per width variable, L (m) per variable
    label whose length is free, and bias voltages (V) per free pin."""

    var: tuple[int, ...]
    lengths_m: tuple[tuple[str, float], ...] = ()
    bias_v: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class DesignSpace:
    """Bounds and meaning of every column of a row (picklable: workers split rows with it)."""

    width_labels: tuple[str, ...]
    var_bounds: tuple[int, int]
    grid_m: float
    length_labels: tuple[str, ...] = ()
    length_bounds_m: tuple[float, float] = (0.0, 0.0)
    bias_pins: tuple[str, ...] = ()
    bias_bounds_v: tuple[tuple[float, float], ...] = ()

    @property
    def n_var(self) -> int:
        return len(self.width_labels) + len(self.length_labels) + len(self.bias_pins)

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in designer terms: W1.., L(W1).., and the bias pins in mV."""
        return (*self.width_labels, *(f"L({label})" for label in self.length_labels), *(f"{pin}_mv" for pin in self.bias_pins))

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of every column (integers)."""
        length_steps = (math.ceil(self.length_bounds_m[0] / self.grid_m - 1e-6), math.floor(self.length_bounds_m[1] / self.grid_m + 1e-6))
        columns = [self.var_bounds] * len(self.width_labels) + [length_steps] * len(self.length_labels)
        columns += [(math.ceil(low * MV_PER_V - 1e-9), math.floor(high * MV_PER_V + 1e-9)) for low, high in self.bias_bounds_v]
        low, high = np.array(columns, dtype=int).reshape(-1, 2).T
        return low, high

    def split(self, row: Sequence[int]) -> Candidate:
        """A row as a candidate; a row of the wrong length is refused."""
        if len(row) != self.n_var:
            raise ValueError(f"a candidate has {self.n_var} columns ({', '.join(self.names)}); got {len(row)}")
        widths = len(self.width_labels)
        lengths = tuple(zip(self.length_labels, (int(k) * self.grid_m for k in row[widths:widths + len(self.length_labels)])))
        biases = tuple(zip(self.bias_pins, (int(mv) / MV_PER_V for mv in row[widths + len(self.length_labels):])))
        return Candidate(tuple(int(v) for v in row[:widths]), lengths, biases)

    def row(self, var: Sequence[int], length_m: float, bias_v: Mapping[str, float]) -> list[int]:
        """A full row from a width sizing, with every free length at ``length_m`` and every free
        pin at the run's bias (the seeds: gm/ID sizings use the technology's default L)."""
        lengths = [round(length_m / self.grid_m)] * len(self.length_labels)
        return [*(int(v) for v in var), *lengths, *(round(bias_v[pin] * MV_PER_V) for pin in self.bias_pins)]

    def describe(self, row: Sequence[int]) -> dict[str, float]:
        """The extra variables of a row in physical units (lengths in um, biases in V), for results;
        none without free lengths or biases (every record asks: splitting the row costs microseconds)."""
        if self.n_var == len(self.width_labels):
            return {}
        candidate = self.split(row)
        return {f"l_{label.lower()}_um": length * 1e6 for label, length in candidate.lengths_m} | {
            f"{pin}_v": volts for pin, volts in candidate.bias_v
        }


def design_space(spec: "RunSpec", topology: "Topology", technology: "Technology") -> DesignSpace:
    """The space of a run whose spec ``optimizer.runner.prepare_run`` resolved (bounds and biases set)."""
    free = spec.free
    low_m, high_m = free.length_range_m or (technology.lmin_m, min(technology.lmax_m, 4 * technology.length_m))
    bias_bounds = tuple(
        (max(technology.vss_v, spec.bias_v[pin] - free.bias_window_v), min(technology.vdd_v, spec.bias_v[pin] + free.bias_window_v))
        for pin in free.bias_pins
    )
    return DesignSpace(
        width_labels=tuple(v.label for v in topology.variables), var_bounds=(spec.var_min, spec.var_max),
        grid_m=technology.grid_m, length_labels=tuple(free.lengths), length_bounds_m=(low_m, high_m),
        bias_pins=tuple(free.bias_pins), bias_bounds_v=bias_bounds,
    )
