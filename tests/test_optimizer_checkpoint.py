"""The per-generation checkpoint (optimizer/checkpoint.py) against plain pickle, the independent
reference: the same algorithm state back, to the last bit, from a real fig7 run."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from pymoo.core.individual import Individual
from pymoo.core.population import Population

from optimizer import checkpoint
from optimizer.file_store import FileRunStore
from optimizer.runner import run_optimization
from optimizer.spec import RunSpec


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The last checkpoint of a 10 x 3 fig7 run on generic180."""
    store = FileRunStore(tmp_path_factory.mktemp("checkpoint") / "run")
    run_optimization(RunSpec(topology="fig7", pop_size=10, generations=3, seed=4), store, workers=1)
    return checkpoint.loads(store.last_checkpoint()[1])


def _assert_same_individuals(got: Population, expected: Population) -> None:
    assert type(got) is type(expected) and len(got) == len(expected)
    for mine, theirs in zip(got, expected):
        assert type(mine) is Individual and list(vars(mine)) == list(vars(theirs))
        for name, value in vars(theirs).items():
            other = vars(mine)[name]
            if isinstance(value, np.ndarray):
                assert type(other) is np.ndarray and other.dtype == value.dtype and other.shape == value.shape, name
                assert np.array_equal(other, value, equal_nan=True) and other.flags.owndata and other.flags.writeable, name
            else:
                assert other == value, name


def test_a_runs_state_comes_back_as_plain_pickle_gives_it(state: dict) -> None:
    mine, plain = checkpoint.loads(checkpoint.dumps(state)), pickle.loads(pickle.dumps(state))
    assert mine["next_index"] == plain["next_index"] and mine["format"] == plain["format"]
    ours, theirs = mine["algorithm"], plain["algorithm"]
    for name in ("pop", "opt"):
        _assert_same_individuals(getattr(ours, name), getattr(theirs, name))
    assert ours.random_state.bit_generator.state == theirs.random_state.bit_generator.state
    assert ours.n_iter == theirs.n_iter and set(vars(ours)) == set(vars(theirs))
    # the rows are each individual's own: changing one changes no other
    ours.pop[0].X[0] += 1
    assert ours.pop[1].X[0] == theirs.pop[1].X[0]


def test_the_state_goes_on_as_plain_pickle_gives_it(state: dict) -> None:
    """The next generation's offspring from both loads: the same rows (the mating reads the
    population's ranks, crowding and constraint violations, and draws from the random state)."""
    mine, plain = checkpoint.loads(checkpoint.dumps(state))["algorithm"], pickle.loads(pickle.dumps(state))["algorithm"]
    assert np.array_equal(mine.ask().get("X"), plain.ask().get("X"))


def test_what_columns_cannot_hold_is_pickled_as_it_is() -> None:
    """An empty population, or individuals with different attributes, go through plain pickle."""
    odd = Individual(X=np.array([1.0, 2.0]))
    odd.extra = "kept"
    for population in (Population(), Population([Individual(X=np.array([3.0])), odd])):
        back = checkpoint.loads(checkpoint.dumps({"pop": population}))["pop"]
        assert len(back) == len(population)
        for mine, theirs in zip(back, population):
            assert vars(mine).keys() == vars(theirs).keys() and np.array_equal(mine.X, theirs.X)
