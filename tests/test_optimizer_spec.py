"""The run spec: paper defaults, JSON/YAML files, and messages that name the bad field."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gmopt import paper
from gmopt.cli import app
from optimizer.file_store import FileRunStore
from optimizer.runner import prepare_run, run_optimization
from optimizer.spec import TABLE1_GM_WINDOW_S, RunSpec


def test_defaults_are_the_papers_section_4_2_and_eq_11() -> None:
    spec = prepare_run(RunSpec(topology="fig7"))  # generic180: the paper's Var range, lambda and biases
    assert (spec.pop_size, spec.generations) == (20, 50)
    assert (spec.var_min, spec.var_max) == (40, 8000)
    assert spec.lambda_m == pytest.approx(0.09e-6)
    assert spec.bias_v == {"vb": 0.55, "vbn": 0.3}
    assert spec.objectives == ["rmse", "gain", "power"]
    limits = spec.constraints
    assert (limits.gain_min_db, limits.bandwidth_min_hz, limits.phase_margin_min_deg) == (40.0, 1e6, 55.0)
    assert limits.gm_min_s is None and limits.gm_max_s is None
    assert TABLE1_GM_WINDOW_S[0] < paper.TARGET_GM_S < TABLE1_GM_WINDOW_S[1]
    operators = spec.operators
    assert (operators.crossover_prob, operators.crossover_eta) == (0.9, 15.0)
    assert (operators.mutation_prob, operators.mutation_eta) == (0.5, 20.0)
    assert spec.conditions == [("tt", 27.0)]


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_spec_file_round_trips(tmp_path: Path, suffix: str) -> None:
    spec = RunSpec(topology="fig9", corners=["tt", "ss"], temps_c=[-40, 125], pop_size=8, seed=7)
    path = tmp_path / f"spec{suffix}"
    spec.to_file(path)
    loaded = RunSpec.from_file(path)
    assert loaded == spec
    assert loaded.conditions == [("tt", -40.0), ("tt", 125.0), ("ss", -40.0), ("ss", 125.0)]


def test_a_user_edited_yaml_overrides_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("topology: fig8\nconstraints:\n  phase_margin_min_deg: 30\n  offset_max_v: 0.2\n")
    spec = RunSpec.from_file(path)
    assert spec.constraints.phase_margin_min_deg == 30
    assert spec.constraints.offset_max_v == 0.2
    assert spec.constraints.gain_min_db == 40.0


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"topology": "fig10"}, ["topology", "fig7"]),
        ({"topology": "fig7", "pop_size": 2}, ["pop_size", "2 is outside 4 to 1000"]),
        ({"topology": "fig7", "temps_c": [200]}, ["temps_c.0", "outside -55 to 175 degC"]),
        ({"topology": "fig7", "var_min": 500, "var_max": 400}, ["var_min (500) must be below var_max (400)"]),
        ({"topology": "fig7", "corners": ["tt", "tt"]}, ["corners", "repeat"]),
        ({"topology": "fig7", "popsize": 20}, ["popsize", "Extra inputs"]),
        ({"topology": "fig7", "constraints": {"gm_min_s": 5e-3, "gm_max_s": 4e-3}}, ["gm_min_s"]),
    ],
)
def test_bad_specs_get_messages_naming_the_field(data: dict, words: list[str]) -> None:
    with pytest.raises(ValueError) as error:
        RunSpec.parse(data)
    for word in words:
        assert word in str(error.value)


def test_a_spec_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("- fig7\n")
    with pytest.raises(ValueError, match="mapping"):
        RunSpec.from_file(path)


@pytest.mark.parametrize(("options", "fix"), [
    (["--temps", "27,200"], "temps_c.1: Value error, temperature 200.0 degC is outside -55 to 175 degC"),
    (["--corners", "tt,xx"], "technology 'generic180' has no corner 'xx'; valid corners: tt, ff, ss, fs, sf"),
    (["--pop", "2"], "pop_size: Value error, 2 is outside 4 to 1000"),
])
def test_the_command_refuses_a_bad_spec_before_any_work(tmp_path: Path, options: list[str], fix: str) -> None:
    done = CliRunner().invoke(app, ["optimize", "--topology", "fig7", "--out", str(tmp_path / "run"), *options])
    assert done.exit_code == 2 and fix in " ".join(done.output.split())
    assert FileRunStore(tmp_path / "run").read_header() is None  # nothing was started


def test_a_failure_resuming_cannot_fix_says_so(tmp_path: Path) -> None:
    store = FileRunStore(tmp_path / "run")
    with pytest.raises(ValueError, match="workers must be at least 1"):
        run_optimization(RunSpec(topology="fig7", pop_size=4, generations=1, seeding="random"), store, workers=0)
    assert store.status() == "failed"
    assert store.status_message().endswith("resuming cannot fix this: correct the input and start a new run")
