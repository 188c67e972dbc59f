"""A run's per-generation checkpoint: its algorithm state pickled, each pymoo population as whole arrays.

Why: the runner pickles its NSGA-II algorithm after every generation, in the serial step during
which the simulation workers wait. Plain pickle writes a population of 100 individuals as 100
objects of 11 numpy arrays, a set and two dicts each: 1.6 ms and 46 kB of a 100 x 100 fig7 run's
2.2 ms and 66 kB. Here each attribute is gathered over a population's individuals instead: one
stacked array where every individual holds an array of the same shape and dtype, a list
otherwise. Loading gives individuals equal in every attribute to what plain pickle gives back
(``tests/test_optimizer_checkpoint.py``), so a resumed run continues with the very numbers.

``loads`` is ``pickle.loads``: a checkpoint written by plain pickle (an older run's) loads as it
always did.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np
from pymoo.core.individual import Individual
from pymoo.core.population import Population

_STACKED, _LISTED = 0, 1


def dumps(state: Any) -> bytes:
    """``state`` pickled, its populations in columns."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    """A checkpoint's state, written by ``dumps`` or by plain pickle."""
    return pickle.loads(data)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is Population:
            columns = _columns(obj)
            if columns is not None:
                return _population, (len(obj), columns)
        return NotImplemented


def _columns(population: Population) -> list[tuple[str, int, Any]] | None:
    """(attribute, kind, values) per attribute of the individuals; None where plain pickle must do
    (an empty population, an individual of a subclass, individuals with different attributes)."""
    if not len(population) or any(type(individual) is not Individual for individual in population):
        return None
    states = [vars(individual) for individual in population]
    names = list(states[0])
    if any(list(state) != names for state in states):
        return None
    columns = []
    for name in names:
        values = [state[name] for state in states]
        first = values[0]
        same_array = all(
            type(value) is np.ndarray and value.dtype == first.dtype and value.shape == first.shape for value in values
        ) and first.dtype != object
        columns.append((name, _STACKED, np.stack(values)) if same_array else (name, _LISTED, values))
    return columns


def _population(length: int, columns: list[tuple[str, int, Any]]) -> Population:
    """The population ``_columns`` described; each individual owns copies of its rows."""
    states: list[dict[str, Any]] = [{} for _ in range(length)]
    for name, kind, values in columns:
        for state, value in zip(states, values):
            state[name] = value.copy() if kind == _STACKED else value
    individuals = []
    for state in states:
        individual = Individual.__new__(Individual)
        individual.__dict__.update(state)
        individuals.append(individual)
    return Population(individuals)
