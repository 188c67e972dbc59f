"""The design space of a circuit package in one technology: one column per variable, mixed types.

pymoo sees a float vector; each column says how it maps to the variable's SI value:

| variable | column | value |
|---|---|---|
| ``step: lambda`` / ``grid`` (w, l) | integer k | k x the technology's lambda or drawn grid (as W = Var x lambda) |
| a numeric ``step`` | integer k | min + k x step |
| ``m`` | integer | the multiplier itself |
| a ``grid`` list | integer index | grid[index] |
| no step, ``scale: log`` | float | 10 ** column (log10 of the value: currents, capacitors over decades) |
| no step, ``scale: lin`` | float | the value |

A w variable of an electrical group (``Circuit.sizing``) is no column: the group's gm/ID is, a
float column named ``gm_id_<width>`` (S/A) in the variable's place, and ``sized`` finds the width
from it through the technology's tables (``circuits.gmid.group_width``) at the space's condition.

A stepped variable with ``scale: log`` is an integer column too: its step already fixes the values
a layout can draw, and an integer row keys a stored evaluation exactly. ``canonical`` (the repair
after SBX and mutation, pymoo's mixed-integer recipe) rounds integer columns and clips every
column to its bounds, so equal designs are equal rows and the run's de-duplication works.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from circuits.gmid import Sized, group_width

if TYPE_CHECKING:
    from circuits.model import Circuit, SizingGroup, Variable
    from lut.technology import Condition, Technology

EPS = 1e-9  # relative slack on a bound that is an exact multiple of a step


def _tidy(value: float) -> float:
    return float(f"{value:.12g}")


@dataclass(frozen=True)
class Column:
    """One variable as a column: ``mode`` step | index | log | lin; bounds in column units."""

    name: str
    kind: str
    mode: str
    low: float
    high: float
    origin: float = 0.0          # step: value = origin + k x step
    step: float = 1.0
    grid: tuple[float, ...] = ()

    @property
    def integer(self) -> bool:
        return self.mode in ("step", "index")

    def value(self, x: float) -> float:
        """The SI value of column value ``x`` (already canonical), to the 12 significant digits a
        deck holds (``spice_templates.spice_number``): 166 x 0.09 um is 1.494e-05, not 1.4939999999999999e-05."""
        if self.mode == "step":
            return _tidy(self.origin + int(x) * self.step)
        if self.mode == "index":
            return self.grid[int(x)]
        return _tidy(10.0 ** float(x)) if self.mode == "log" else float(x)

    def encode(self, value: float) -> int | float:
        """The column value nearest to an SI value, within bounds."""
        if self.mode == "step":
            x: float = round((value - self.origin) / self.step)
        elif self.mode == "index":
            x = min(range(len(self.grid)), key=lambda k: abs(self.grid[k] - value))
        else:
            x = math.log10(value) if self.mode == "log" else value
        return self.canonical(x)

    def canonical(self, x: float) -> int | float:
        clipped = min(max(float(x), self.low), self.high)
        return int(round(clipped)) if self.integer else clipped


def _column(variable: "Variable", tech: "Technology") -> Column:
    name, kind = variable.name, variable.kind
    if variable.grid is not None:
        return Column(name, kind, "index", 0, len(variable.grid) - 1, grid=tuple(variable.grid))
    if kind == "m":
        return Column(name, kind, "step", math.ceil(variable.min), math.floor(variable.max))
    if isinstance(variable.step, str):  # lambda or grid: multiples of the technology's unit
        step = variable.step_value(tech)
        return Column(name, kind, "step", math.ceil(variable.min / step - EPS), math.floor(variable.max / step + EPS), step=step)
    if variable.step is not None:
        return Column(name, kind, "step", 0, math.floor((variable.max - variable.min) / variable.step + EPS), origin=variable.min, step=variable.step)
    if variable.scale == "log":
        return Column(name, kind, "log", math.log10(variable.min), math.log10(variable.max))
    return Column(name, kind, "lin", variable.min, variable.max)


@dataclass(frozen=True)
class Electrical:
    """A width set by an electrical group: the group, and the w variable's own column (the step
    and range its width is snapped and clipped to)."""

    column: str  # the group's gm/ID column
    width: Column
    group: "SizingGroup" = field(compare=False, repr=False)  # holds parsed expressions: compared by the two above


@dataclass(frozen=True)
class CircuitSpace:
    """Every column of a circuit run's rows (picklable: workers decode rows with it); with
    electrical groups, the circuit and the condition whose tables size them."""

    columns: tuple[Column, ...]
    electrical: tuple[Electrical, ...] = ()
    circuit: "Circuit | None" = field(default=None, compare=False, repr=False)
    condition: "Condition | None" = field(default=None, compare=False, repr=False)
    nominal: tuple[tuple[str, float], ...] = ()  # every variable's nominal value (SI): the columns' defaults

    @property
    def n_var(self) -> int:
        return len(self.columns)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array([c.low for c in self.columns], dtype=float), np.array([c.high for c in self.columns], dtype=float)

    @property
    def integer_mask(self) -> np.ndarray:
        return np.array([c.integer for c in self.columns], dtype=bool)

    def canonical(self, row: Sequence[float]) -> list[int | float]:
        """A row with integer columns rounded and every column within bounds: the stored ``var``."""
        if len(row) != self.n_var:
            raise ValueError(f"a candidate has {self.n_var} columns ({', '.join(self.names)}); got {len(row)}")
        return [column.canonical(x) for column, x in zip(self.columns, row)]

    def decode(self, row: Sequence[float]) -> dict[str, float]:
        """The columns' values (name -> SI value, gm/ID in S/A) of a row; without electrical
        groups, the design itself (``sized`` adds their widths)."""
        return {column.name: column.value(x) for column, x in zip(self.columns, self.canonical(row))}

    def sized(self, row: Sequence[float]) -> Sized:
        """The design of a row, as a record keeps it: the columns' values and every electrical
        group's width, found from its gm/ID through the tables; ``error`` when one cannot be."""
        design = self.decode(row)
        if not self.electrical:
            return Sized(design)
        sized = Sized(design)
        values = {**dict(self.nominal), **design}
        for item in self.electrical:
            try:
                width_m, note = group_width(self.circuit, item.group, self.condition, values, item.width)
            except ValueError as exc:
                sized.error = str(exc)
                width_m, note = dict(self.nominal)[item.group.width], None
            design[item.group.width] = values[item.group.width] = width_m
            if note:
                sized.notes.append(note)
        return sized

    def bench_values(self, design: Mapping[str, float]) -> dict[str, float]:
        """The variables' values of a design (what a bench takes: no gm/ID columns)."""
        if not self.nominal:  # a space built from columns alone: every column is a variable
            return {name: float(value) for name, value in design.items()}
        return {name: float(design[name]) for name, _ in self.nominal if name in design}

    def nominal_columns(self) -> dict[str, float]:
        """Every column's nominal value by name: the variables' and the electrical groups' gm/ID."""
        nominal = dict(self.nominal)
        groups = {item.group.column: item.group.gm_id.nominal() for item in self.electrical}
        return {column.name: nominal[column.name] if column.name in nominal else groups[column.name] for column in self.columns}

    def encode(self, design: Mapping[str, float]) -> list[int | float]:
        """The row of a design given by name (every variable), snapped to the columns."""
        missing = sorted(set(self.names) - set(design))
        if missing:
            raise ValueError(f"the design gives no value for {', '.join(missing)}")
        return [column.encode(float(design[column.name])) for column in self.columns]

    def nominal_row(self, circuit: "Circuit", tech: "Technology") -> list[int | float]:
        return self.encode({**{v.name: v.nominal(tech) for v in circuit.variables}, **self.nominal_columns()})


def circuit_space(circuit: "Circuit", tech: "Technology", condition: "Condition | None" = None) -> CircuitSpace:
    """The space of ``circuit``'s variables in ``tech`` (lambda and grid steps are the technology's);
    electrical groups are sized at ``condition`` (None: the technology's default corner, 27 degC)."""
    groups = {group.width: group for group in circuit.sizing}
    columns, electrical = [], []
    for variable in circuit.variables:
        column = _column(variable, tech)
        group = groups.get(variable.name)
        if group is None:
            columns.append(column)
            continue
        electrical.append(Electrical(group.column, column, group))
        columns.append(Column(group.column, "gm_id", "lin", group.gm_id.min, group.gm_id.max))
    nominal = tuple((v.name, v.nominal(tech)) for v in circuit.variables)
    return CircuitSpace(tuple(columns), tuple(electrical), circuit, condition or tech.at(), nominal)


def seeded_rows(space: CircuitSpace, nominal: Sequence[float], count: int, spread: float, seed: int) -> np.ndarray:
    """``count`` distinct rows: the nominal row first, then copies of it with every variable moved
    as the OTA seeding moves widths (``optimizer.algorithm.seeded_population``): a positive value
    times ``exp(N(0, spread))`` (relative: small and large devices move alike), a voltage by
    ``N(0, spread)`` x half its range. Reproducible from ``seed``; after 100 x ``count`` draws that
    fall on known rows (a tiny space), the population is what was found."""
    rng = np.random.default_rng(seed)
    base = space.decode(nominal)
    rows: list[list[int | float]] = []
    seen: set[tuple] = set()

    def add(row: list[int | float]) -> None:
        if tuple(row) not in seen:
            seen.add(tuple(row))
            rows.append(row)

    add(space.canonical(nominal))
    for _ in range(100 * count):
        if len(rows) >= count:
            break
        moved = {}
        for column in space.columns:
            value, draw = base[column.name], rng.normal(0.0, spread)
            if value > 0:
                moved[column.name] = value * math.exp(draw)
            else:
                moved[column.name] = value + draw * (column.value(column.high) - column.value(column.low)) / 2
        add(space.encode(moved))
    return np.array(rows, dtype=float)


def random_rows(space: CircuitSpace, count: int, seed: int) -> np.ndarray:
    """``count`` rows drawn uniformly in every column (log columns: uniform in decades), canonical."""
    rng = np.random.default_rng(seed)
    low, high = space.bounds()
    return np.array([space.canonical(row) for row in rng.uniform(low, high, size=(count, space.n_var))], dtype=float)
