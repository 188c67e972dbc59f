"""A technology's corner and temperature are checked once, where names enter (``Technology.at``),
and the ``Condition`` it makes is taken as it is by the decks, tables, testbench, sizing and run."""

from __future__ import annotations

import pickle
from collections import Counter

import pytest

from lut.technology import GENERIC180, Condition, Technology, UnknownTechnology, resolve_condition
from optimizer.file_store import FileRunStore
from optimizer.runner import run_optimization
from optimizer.spec import RunSpec
from ota.testbench import OtaTestbench


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Every ``Technology.at`` call, counted by (corner, temperature) as the caller gave them."""
    counted: Counter = Counter()
    at = Technology.at

    def counting(self: Technology, corner: str | None = None, temp_c: float = 27.0) -> Condition:
        counted[(corner or self.default_corner, float(temp_c))] += 1
        return at(self, corner, temp_c)

    monkeypatch.setattr(Technology, "at", counting)
    return counted


def test_at_applies_the_default_corner_and_keeps_todays_messages() -> None:
    condition = GENERIC180.at()
    assert (condition.corner, condition.temp_c, condition.section) == ("tt", 27.0, "tt")
    assert isinstance(GENERIC180.at("ss", 85).temp_c, float)  # 85 and 85.0 must give one cache key
    assert condition.include() == GENERIC180.include("tt")
    with pytest.raises(UnknownTechnology, match="technology 'generic180' has no corner 'typ'; valid corners: tt, ff, ss, fs, sf"):
        GENERIC180.at("typ")
    with pytest.raises(ValueError, match="temperature"):
        GENERIC180.at("tt", 500.0)
    with pytest.raises(TypeError, match="already has its corner"):
        resolve_condition(condition, "ss")
    assert pickle.loads(pickle.dumps(condition)) == condition  # travels to workers as names


def test_a_testbench_checks_its_condition_once(checks: Counter) -> None:
    with OtaTestbench("fig7") as bench:
        result = bench.evaluate([100, 200, 300, 400, 500, 600][: len(bench.topology.variables)])
    assert result.converged and result.corner == "tt" and result.temp_c == 27.0
    assert checks == Counter({("tt", 27.0): 1})
    checks.clear()
    with OtaTestbench("fig7", GENERIC180.at("ss", 85.0)) as bench:  # an edge made it: nothing to check again
        assert bench.evaluate(result.var).corner == "ss"
    assert checks == Counter({("ss", 85.0): 1})


def test_a_runs_setup_checks_each_condition_once(checks: Counter, tmp_path) -> None:
    """Two corners x two temperatures, one generation of four: the spec check, the first sizing
    of the seeds, the job and its in-process testbenches share one check per condition."""
    spec = RunSpec.parse({
        "topology": "fig7", "pop_size": 4, "generations": 1, "seed": 1, "corners": ["tt", "ss"], "temps_c": [27.0, 85.0],
    })
    summary = run_optimization(spec, FileRunStore(tmp_path / "run"), workers=1)
    assert summary.status == "finished" and summary.evaluations == 4
    assert checks == Counter({condition: 1 for condition in [("tt", 27.0), ("tt", 85.0), ("ss", 27.0), ("ss", 85.0)]})
