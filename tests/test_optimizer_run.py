"""Real NSGA-II runs on the fig7 testbench (tiny populations): recording, reproducibility across
back-ends, corners, kill-and-resume of the command, front, plot and netlist export."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from engine import ngspice_version  # noqa: F401  (fails early when ngspice is missing)
from engine.batch import ngspice_binary
from gmopt.cli import app
from optimizer.file_store import FileRunStore
from optimizer.problem import constraints_of, is_feasible, objectives_of, worst_case
from optimizer.results import front_of, hypervolume
from optimizer.runner import run_optimization
from optimizer.spec import RunSpec
from ota.sizing import first_sizing
from ota.testbench import OtaTestbench

# Loose limits so that a 6 x 3 run already has a feasible front to look at.
LOOSE = {
    "phase_margin_min_deg": 0.0, "offset_max_v": 0.5, "rmse_max_a": 1e-3, "gm_min_s": 1e-4,
    "gm_max_s": 0.05, "require_saturation": False, "gain_min_db": 20.0,
}


def small_spec(**changes: object) -> RunSpec:
    return RunSpec.parse({"topology": "fig7", "pop_size": 6, "generations": 3, "seed": 3, "constraints": LOOSE, **changes})


def trajectory(store: FileRunStore) -> list[tuple[list[int], list[float]]]:
    return [(record.var, record.objectives) for record in store.evaluations()]


@pytest.fixture(scope="module")
def fig7_first_sizing() -> list[int]:
    return first_sizing("fig7")


@pytest.fixture(scope="module")
def seeded_run(tmp_path_factory: pytest.TempPathFactory, fig7_first_sizing: list[int]) -> tuple[RunSpec, FileRunStore]:
    spec = small_spec()
    store = FileRunStore(tmp_path_factory.mktemp("seeded") / "run")
    summary = run_optimization(spec, store, workers=1)
    assert summary.status == "finished" and summary.evaluations == 18
    assert store.evaluations()[0].var == fig7_first_sizing
    return spec, store


def test_every_candidate_is_recorded_and_matches_a_direct_simulation(seeded_run: tuple[RunSpec, FileRunStore]) -> None:
    spec, store = seeded_run
    records = store.evaluations()
    assert [r.index for r in records] == list(range(18))
    assert [r.generation for r in records] == [0] * 6 + [1] * 6 + [2] * 6
    with OtaTestbench("fig7") as testbench:
        for record in (records[0], records[-1]):
            direct = testbench.evaluate(record.var).to_dict()
            for key in ("gain_db", "rmse_a", "power_w", "gm_s", "phase_margin_deg"):
                assert record.metrics[key] == pytest.approx(direct[key], rel=1e-6), key
            assert record.curves["iout_a"] == pytest.approx(direct["iout_a"], rel=1e-6, abs=1e-12)
            assert record.objectives == [direct["rmse_a"], -direct["gain_db"], direct["power_w"]]
            assert record.feasible == is_feasible(constraints_of(direct, spec))
    header = store.read_header()
    assert header is not None and header[1]["seed"] == 3 and len(header[1]["model_hash"]) == 64


def test_front_and_hypervolume_agree_with_the_stored_evaluations(seeded_run: tuple[RunSpec, FileRunStore]) -> None:
    spec, store = seeded_run
    front = store.front()
    assert front and all(record.feasible for record in front)
    for a in front:  # nobody on the front is dominated by any feasible evaluation
        for b in (r for r in store.evaluations() if r.feasible):
            assert not (np.all(np.array(b.objectives) <= a.objectives) and np.any(np.array(b.objectives) < a.objectives))
    generations = store.hypervolumes()
    assert [g for g, _ in generations] == [0, 1, 2]
    assert generations[-1][1] == pytest.approx(hypervolume(np.array([r.objectives for r in front]), spec))
    assert 0 < generations[-1][1] <= 1.1**3
    # the population's front is the archive's front whenever no better design fell out of the population
    assert {r.index for r in front} <= {r.index for r in store.evaluations()}
    assert len(front_of(store.evaluations())) >= 1


@pytest.mark.slow
def test_same_seed_same_run_on_every_back_end(seeded_run: tuple[RunSpec, FileRunStore], tmp_path: Path) -> None:
    spec, reference = seeded_run
    pool = FileRunStore(tmp_path / "pool")
    run_optimization(spec, pool, workers=2)
    dask = FileRunStore(tmp_path / "dask")
    run_optimization(spec, dask, workers=2, dask_address="local")
    assert trajectory(pool) == trajectory(reference)
    assert trajectory(dask) == trajectory(reference)


def test_random_start_differs_from_the_seeded_start(tmp_path: Path, fig7_first_sizing: list[int]) -> None:
    spec = small_spec(seeding="random", generations=1)
    store = FileRunStore(tmp_path / "random")
    run_optimization(spec, store, workers=1)
    assert fig7_first_sizing not in [r.var for r in store.evaluations()]


def test_corners_optimize_the_worst_case(tmp_path: Path) -> None:
    spec = small_spec(corners=["tt", "ss"], temps_c=[27.0, 100.0], pop_size=4, generations=1)
    store = FileRunStore(tmp_path / "corners")
    run_optimization(spec, store, workers=1)
    record = store.evaluations()[1]
    direct = []
    for corner, temp_c in spec.conditions:
        with OtaTestbench("fig7", corner=corner, temp_c=temp_c) as testbench:
            direct.append(testbench.evaluate(record.var).to_dict())
    assert record.metrics["rmse_a"] == pytest.approx(max(d["rmse_a"] for d in direct), rel=1e-6)
    assert record.metrics["gain_db"] == pytest.approx(min(d["gain_db"] for d in direct), rel=1e-6)
    assert record.metrics["power_w"] == pytest.approx(max(d["power_w"] for d in direct), rel=1e-6)
    assert record.objectives == pytest.approx(objectives_of(worst_case(direct), spec), rel=1e-6)


def _wait_for_generations(process: subprocess.Popen, generations: Path, count: int, timeout_s: float = 120) -> None:
    """Until the run ``process`` makes has stored ``count`` generations; it must still be running."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        if generations.exists() and generations.read_text().count("\n") >= count:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before it could be stopped"


@pytest.mark.slow
def test_a_killed_command_resumes_to_the_uninterrupted_front(tmp_path: Path) -> None:
    spec = small_spec(generations=8)
    spec_file = tmp_path / "spec.json"
    spec.to_file(spec_file)
    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "gmopt.cli", "optimize", "--spec", str(spec_file), "--workers", "1", "--out", str(killed)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    generations = killed / "generations.jsonl"
    _wait_for_generations(process, generations, 2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = len(FileRunStore(killed).hypervolumes())
    assert done_before < 8
    resumed = subprocess.run(
        [*command[:4], "--resume", *command[6:]], capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "250"},
    )
    assert resumed.returncode == 0, resumed.stderr
    simulated, looked_up = map(int, re.search(r"\((\d+) simulated, (\d+) from earlier", resumed.stdout).groups())
    assert simulated + looked_up == (8 - done_before) * 6

    uninterrupted = FileRunStore(tmp_path / "uninterrupted")
    run_optimization(spec, uninterrupted, workers=1)
    resumed_store = FileRunStore(killed)
    lines = (killed / "evaluations.jsonl").read_text().splitlines()
    assert len({json.loads(line)["index"] for line in lines}) == len(lines) == 48
    assert trajectory(resumed_store) == trajectory(uninterrupted)
    assert [r.var for r in resumed_store.front()] == [r.var for r in uninterrupted.front()]
    assert resumed_store.hypervolumes() == uninterrupted.hypervolumes()
    assert resumed_store.status() == "finished"


@pytest.mark.slow
def test_ctrl_c_stops_a_run_whose_main_process_simulates_and_leaves_it_resumable(tmp_path: Path) -> None:
    """Ctrl-C during a 2-worker run (this process simulates too: most signals land in an ngspice
    analysis, whose output callbacks once swallowed the KeyboardInterrupt) ends it within seconds,
    with exit code 130, the resume hint and a cancelled, resumable run."""
    spec_file, out = tmp_path / "spec.json", tmp_path / "run"
    small_spec(pop_size=20, generations=400).to_file(spec_file)
    process = subprocess.Popen(
        [sys.executable, "-m", "gmopt.cli", "optimize", "--spec", str(spec_file), "--workers", "2", "--out", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a background job's shell ignores it
    )
    _wait_for_generations(process, out / "generations.jsonl", 3)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "interrupted: continue with" in stderr
    store = FileRunStore(out)
    assert store.status() == "cancelled" and len(store.hypervolumes()) < 400


def test_resuming_with_another_spec_is_refused(seeded_run: tuple[RunSpec, FileRunStore]) -> None:
    spec, store = seeded_run
    with pytest.raises(ValueError, match="pop_size"):
        run_optimization(spec.model_copy(update={"pop_size": 8}), store, workers=1)
    with pytest.raises(ValueError, match="already holds a run"):
        run_optimization(spec, store, workers=1, resume=False)


def test_front_command_prints_json_csv_and_draws_the_plot(seeded_run: tuple[RunSpec, FileRunStore], tmp_path: Path) -> None:
    _, store = seeded_run
    runner = CliRunner()
    as_json = runner.invoke(app, ["front", str(store.folder), "--json"])
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.stdout)
    assert [r["index"] for r in document["front"]] == [r.index for r in store.front()]
    best = min(store.front(), key=lambda r: r.metrics["rmse_a"])
    assert document["best_linearity_index"] == best.index
    as_csv = runner.invoke(app, ["front", str(store.folder), "--csv", "--plot", str(tmp_path / "front.png")])
    assert as_csv.exit_code == 0, as_csv.output
    header, first = as_csv.stdout.splitlines()[:2]
    assert header.startswith("index,generation,feasible,gain_db") and first.startswith(f"{best.index},")
    assert (tmp_path / "front.png").stat().st_size > 20_000
    missing = runner.invoke(app, ["front", str(tmp_path / "nothing")])
    assert missing.exit_code == 2 and "holds no optimization run" in missing.output


def test_an_exported_design_runs_in_ngspice_with_the_stored_gain_and_gm(seeded_run: tuple[RunSpec, FileRunStore], tmp_path: Path) -> None:
    _, store = seeded_run
    netlist = tmp_path / "ota.cir"
    result = CliRunner().invoke(app, ["export", str(store.folder), "--point", "0", "--out", str(netlist)])
    assert result.exit_code == 0, result.output
    best = min(store.front(), key=lambda r: r.metrics["rmse_a"])
    # As written: ngspice -b runs it and measures the DC gain.
    done = subprocess.run([ngspice_binary(), "-b", str(netlist)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    gain_db = float(re.search(r"dc_gain_db\s*=\s*(\S+)", done.stdout).group(1))
    assert gain_db == pytest.approx(best.metrics["gain_db"], abs=0.05)
    # Gm: the same deck with two measurements added after its DC sweep (central difference at +-10 mV).
    text = netlist.read_text()
    sweep = re.search(r"^dc vid .*$", text, re.M).group(0)
    measured = tmp_path / "ota_gm.cir"
    measured.write_text(text.replace(sweep, f"{sweep}\nmeas dc ip find i(vhold) at=0.01\nmeas dc im find i(vhold) at=-0.01"))
    done = subprocess.run([ngspice_binary(), "-b", str(measured)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    currents = {name: float(value) for name, value in re.findall(r"^(ip|im)\s*=\s*(\S+)", done.stdout, re.M)}
    gm_s = abs(currents["ip"] - currents["im"]) / 0.02
    assert gm_s == pytest.approx(abs(best.metrics["gm_s"]), rel=0.02)
