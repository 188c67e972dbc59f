"""Circuit packages through the optimizer: short seeded NSGA-II runs of examples/miller.yaml on
generic180 (real ngspice), the mixed design space, resume, de-duplication, reproducibility, and
the CLI's optimize / evaluate / front / export for circuit runs."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from circuits import EXAMPLES_DIR
from circuits.benches import open_bench
from circuits.gmid import seed_design
from circuits.library import content_hash, from_text
from engine.batch import ngspice_binary
from gmopt.cli import app
from lut.technology import GENERIC180, get_technology, register
from optimizer.circuit_problem import FAILED_OBJECTIVE, candidate_metrics, constraint_names, constraints_of, objectives_of
from optimizer.circuit_space import circuit_space, random_rows, seeded_rows
from optimizer.file_store import FileRunStore
from optimizer.results import final_population, front_of
from optimizer.runner import _CircuitSession, run_optimization
from optimizer.evaluation import CircuitJob, CircuitLoadError
from optimizer.spec import RunSpec
from spice_templates import model_path

MILLER = EXAMPLES_DIR / "miller.yaml"


def loose_miller() -> str:
    """The Miller package with limits a 6 x 3 run on generic180 already meets (gain >= 30 dB,
    GBW >= 1 MHz, PM >= 30 deg): a short run then ends with a feasible front to check."""
    data = yaml.safe_load(MILLER.read_text())
    data["constraints"] = [
        {"measure": "gain_db", "op": ">=", "value": 30}, {"measure": "gbw_hz", "op": ">=", "value": "1meg"},
        {"measure": "phase_margin_deg", "op": ">=", "value": 30},
    ]
    return yaml.safe_dump(data, sort_keys=False)


def small_spec(**changes: object) -> RunSpec:
    return RunSpec.parse({"circuit_package": loose_miller(), "circuit": "loose miller", "pop_size": 6, "generations": 3, "seed": 4, **changes})


def trajectory(store: FileRunStore) -> list[tuple[list, list[float]]]:
    return [(record.var, record.objectives) for record in store.evaluations()]


@pytest.fixture(scope="module")
def seeded_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunSpec, FileRunStore]:
    spec = small_spec()
    store = FileRunStore(tmp_path_factory.mktemp("miller") / "run")
    summary = run_optimization(spec, store, workers=1)
    assert summary.status == "finished" and summary.evaluations == 18
    return spec, store


def test_the_space_has_lambda_grid_integer_and_log_columns() -> None:
    circuit = from_text(MILLER.read_text()).circuit
    tech = get_technology("generic180")
    space = circuit_space(circuit, tech)
    columns = {column.name: column for column in space.columns}
    # w_in: 1u..200u on lambda = 0.09 um -> Var 12..2222; l on the 10 nm grid; m_sink 1..20; ibias, cc in decades
    assert (columns["w_in"].mode, columns["w_in"].low, columns["w_in"].high) == ("step", 12, 2222)
    assert columns["w_in"].step == tech.lambda_m and columns["l"].step == tech.grid_m
    assert (columns["m_sink"].low, columns["m_sink"].high, columns["m_sink"].integer) == (1, 20, True)
    assert columns["ibias"].mode == "log" and columns["ibias"].low == pytest.approx(math.log10(5e-6))
    assert columns["cc"].high == pytest.approx(-11.0)
    row = space.nominal_row(circuit, tech)
    design = space.decode(row)
    # nominal: the defaults on the lambda grid (20u -> 222 x 0.09 um), 2 pF, 20 uA, m 4
    assert row[0] == 222 and design["w_in"] == pytest.approx(19.98e-6)
    assert design["cc"] == pytest.approx(2e-12) and design["ibias"] == pytest.approx(20e-6) and design["m_sink"] == 4
    assert space.encode(design) == pytest.approx(row)
    # the repair: integers rounded, everything clipped
    assert space.canonical([12.4, 3000, 11.6, 0, 100.5, 25.2, -3.0, -20.0]) == [12, 2222, 12, 23, 100, 20, -4.0, pytest.approx(math.log10(200e-15))]
    seeds = seeded_rows(space, row, 10, 0.3, seed=1)
    assert len({tuple(r) for r in seeds}) == 10 and list(seeds[0]) == pytest.approx(row)
    assert np.array_equal(seeds, seeded_rows(space, row, 10, 0.3, seed=1))
    drawn = random_rows(space, 10, seed=3)
    assert np.array_equal(drawn, random_rows(space, 10, seed=3)) and all(space.canonical(r) == list(r) for r in drawn)


def test_a_circuit_spec_takes_no_ota_fields(tmp_path: Path) -> None:
    text = MILLER.read_text()
    (tmp_path / "mine.yaml").write_text(text)
    (tmp_path / "spec.yaml").write_text("circuit: mine.yaml\npop_size: 8\n")  # a spec file names the package beside it
    from_file = RunSpec.from_file(tmp_path / "spec.yaml")
    assert from_file.circuit_package == text and from_file.circuit == "mine.yaml" and from_file.pop_size == 8
    for field, value in (("objectives", ["gain"]), ("constraints", {"gain_min_db": 10}), ("bias_v", {"vb": 0.5}), ("var_max", 100)):
        with pytest.raises(ValueError, match=f"{field} do not apply to a circuit run"):
            RunSpec.parse({"circuit_package": text, field: value})
    with pytest.raises(ValueError, match="exactly one of 'topology'"):
        RunSpec.parse({"circuit_package": text, "topology": "fig7"})
    with pytest.raises(ValueError, match="netlist line"):
        RunSpec.parse({"circuit_package": text.replace("  MN8 out", "  .include /etc/passwd\n  MN8 out")})
    spec = RunSpec.parse({"circuit_package": text})
    assert spec.design_name == "miller" and spec.objectives is None and RunSpec.parse(spec.model_dump(mode="json")) == spec
    assert RunSpec.parse({"topology": "fig7"}).objectives == ["rmse", "gain", "power"]  # OTA runs as before


def test_every_record_decodes_to_its_row_and_matches_a_direct_bench(seeded_run: tuple[RunSpec, FileRunStore]) -> None:
    spec, store = seeded_run
    circuit = spec.circuit_object
    tech = get_technology("generic180")
    space = circuit_space(circuit, tech)
    records = store.evaluations()
    with open_bench(circuit, tech.at(), operating_points=True) as seeding_bench:
        seeded = seed_design(circuit, space, seeding_bench).columns
    assert records[0].var == pytest.approx(space.encode(seeded))  # the seeded start begins at the gm/ID-seeded design
    for record in records:
        assert record.widths_um == [] and record.design == space.decode(record.var) and space.canonical(record.var) == record.var
        assert all(isinstance(v, int) for v, c in zip(record.var, space.columns) if c.integer)
        assert all(math.isfinite(value) for value in record.objectives + record.constraints)
    front = store.front()
    assert front and [r.index for r in front_of(final_population(store))] == [r.index for r in front]  # the last population's front
    assert all(record.feasible and record.design == space.decode(record.var) for record in front)
    bench = open_bench(circuit, tech.at("tt", 27.0))
    try:
        for record in (records[0], front[0]):
            direct = bench.evaluate(record.design)
            for measure in ("gain_db", "gbw_hz", "phase_margin_deg", "power_w"):
                assert record.metrics[measure] == pytest.approx(direct.metrics[measure], rel=1e-6), measure
            assert record.objectives == [direct.metrics["power_w"], -direct.metrics["gbw_hz"]]
            assert record.feasible == all(g <= 0 for g in constraints_of(circuit, record.metrics))
            assert record.curves["freq_hz"] == pytest.approx(direct.curves["freq_hz"])
    finally:
        bench.close()
    header = store.read_header()
    assert header is not None and header[1]["circuit"] == "miller" and header[1]["circuit_hash"] == content_hash(spec.circuit_package)
    assert header[0]["circuit_package"] == spec.circuit_package


def test_constraints_are_normalised_and_failures_finite() -> None:
    circuit = from_text(MILLER.read_text()).circuit  # gain >= 60 dB, gbw >= 10 MHz, PM >= 60 deg, saturation
    assert constraint_names(circuit) == ["gain_db >= 60", "gbw_hz >= 1e+07", "phase_margin_deg >= 60", "saturation"]
    metrics = {"converged": True, "gain_db": 30.0, "gbw_hz": 1e6, "phase_margin_deg": 90.0, "power_w": 1e-3}
    metrics |= {f"margin_v.{device}": 0.2 for device in circuit.devices} | {"margin_v.mn1": -0.05}
    # half the gain (0.5), a decade short of GBW (1.0), PM met by 30 deg (-0.5), 50 mV out of saturation (0.5)
    assert constraints_of(circuit, metrics) == pytest.approx([0.5, 1.0, -0.5, 0.5])
    assert objectives_of(circuit, metrics) == [1e-3, -1e6]
    failed = {"converged": False, "error": "timestep too small"}
    assert objectives_of(circuit, failed) == [FAILED_OBJECTIVE] * 2 and min(constraints_of(circuit, failed)) >= 1e3


def test_the_worst_case_over_conditions_follows_each_measure_s_use() -> None:
    circuit = from_text(MILLER.read_text()).circuit  # gain, gbw, PM: >= limits; power: min goal; gbw: max goal too
    typical = {"converged": True, "gain_db": 70.0, "gbw_hz": 12e6, "phase_margin_deg": 62.0, "power_w": 2e-4, "offset_v": 1e-3,
               "cmrr_db": 80.0, "margins_v": {"mn1": 0.2, "mp7": 0.1}}
    slow = typical | {"gain_db": 72.0, "gbw_hz": 9e6, "phase_margin_deg": 65.0, "power_w": 1.5e-4, "offset_v": -2e-3,
                      "cmrr_db": 60.0, "margins_v": {"mn1": 0.05, "mp7": 0.3}}
    measures = ("gain_db", "gbw_hz", "phase_margin_deg", "power_w", "offset_v", "cmrr_db")
    worst = candidate_metrics(circuit, [typical, slow], measures)
    assert (worst["gain_db"], worst["gbw_hz"], worst["phase_margin_deg"], worst["power_w"]) == (70.0, 9e6, 62.0, 2e-4)
    assert worst["offset_v"] == -2e-3 and worst["cmrr_db"] == 80.0  # the largest offset; an unused measure at the first condition
    assert (worst["margin_v.mn1"], worst["margin_v.mp7"]) == (0.05, 0.1) and worst["converged"]
    failed = candidate_metrics(circuit, [typical, {"converged": False, "error": "no convergence"}], measures)
    assert not failed["converged"] and failed["error"] == "no convergence"


def test_the_same_seed_gives_the_same_run(seeded_run: tuple[RunSpec, FileRunStore], tmp_path: Path) -> None:
    spec, store = seeded_run
    again = FileRunStore(tmp_path / "again")
    run_optimization(spec, again, workers=1)
    assert trajectory(again) == trajectory(store)
    assert [r.index for r in again.front()] == [r.index for r in store.front()]
    assert again.hypervolumes() == store.hypervolumes()


def test_a_stopped_run_resumes_to_the_uninterrupted_one(seeded_run: tuple[RunSpec, FileRunStore], tmp_path: Path) -> None:
    spec, store = seeded_run
    resumed = FileRunStore(tmp_path / "resumed")
    calls = iter(range(100))
    summary = run_optimization(spec, resumed, workers=1, should_stop=lambda: next(calls) >= 2)  # after generations 0 and 1
    assert summary.status == "cancelled" and len(resumed.evaluations()) == 12
    summary = run_optimization(spec, resumed, workers=1)
    assert summary.status == "finished" and summary.simulated == 6
    assert trajectory(resumed) == trajectory(store)
    assert [r.index for r in resumed.front()] == [r.index for r in store.front()]


def test_known_designs_are_looked_up_not_simulated(seeded_run: tuple[RunSpec, FileRunStore], tmp_path: Path) -> None:
    spec, store = seeded_run
    tech = get_technology("generic180")
    space = circuit_space(spec.circuit_object, tech)
    job = CircuitJob(spec.circuit_package, (tech.at("tt", 27.0),), space)
    simulated: list[list] = []

    def parallel(f, rows):  # the run's parallelization, counting what reaches a worker
        simulated.extend(rows)
        return [f(row) for row in rows]

    target = FileRunStore(tmp_path / "dedupe")
    target.write_header(spec.model_dump(mode="json"), {})
    target.add_evaluations(store.evaluations()[:6])
    session = _CircuitSession(spec, target, job, parallel)
    session.next_index = 6
    known = store.evaluations()[2]
    new = list(known.var)
    new[0] += 1  # one lambda wider input pair: a new design
    metrics = [record.metrics for record in session.evaluate_batch(np.array([known.var, new, new], dtype=float))]
    assert simulated == [new]  # the stored one looked up, the repeated new one simulated once
    session.finish()  # records are written behind the run: all of them once it finishes
    records = target.evaluations()[6:]
    assert [r.cached for r in records] == [True, False, True]
    assert records[0].metrics == known.metrics and records[0].design == known.design
    assert metrics[1] == metrics[2] and records[1].design["w_in"] == pytest.approx(known.design["w_in"] + tech.lambda_m)


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "process-pool"])
def test_a_package_that_cannot_load_ends_the_run_once(workers: int, tmp_path: Path) -> None:
    """generic180 with its PMOS card renamed (as a model file edited after registration): every
    bench fails to load, so the run ends at once with ngspice's words, not resumable, nothing stored."""
    text = model_path("generic180.lib").read_text().replace('"generic180.lib"', '"nopmos.lib"')
    (tmp_path / "nopmos.lib").write_text(re.sub(r"^\.model pch ", ".model pch_renamed ", text, flags=re.M))
    register(dataclasses.replace(GENERIC180, name="nopmos", model_file=tmp_path / "nopmos.lib"))
    store = FileRunStore(tmp_path / "run")
    with pytest.raises(CircuitLoadError, match="circuit miller does not load in technology 'nopmos' at corner tt") as raised:
        run_optimization(small_spec(technology="nopmos"), store, workers=workers)
    assert "could not find a valid modelname" in str(raised.value) and "not resumable" in str(raised.value)
    assert store.status() == "failed" and not store.evaluations()


def test_cli_optimize_front_export_of_a_circuit(tmp_path: Path) -> None:
    package = tmp_path / "loose_miller.yaml"
    package.write_text(loose_miller())
    out = tmp_path / "run"
    runner = CliRunner()
    result = runner.invoke(app, ["optimize", "--circuit", str(package), "--pop", "4", "--gens", "2", "--seed", "2", "--workers", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "finished: 8 evaluations" in result.output and "miller (generic180): feasible Pareto front" in result.output
    package.write_text("changed after the run")  # the run keeps the text it read: front and export never read the file
    front = runner.invoke(app, ["front", str(out), "--json"])
    assert front.exit_code == 0, front.output
    document = json.loads(front.output)
    assert document["spec"]["circuit_package"] == loose_miller() and document["front"]
    record = document["front"][0]
    assert set(record["design"]) == {"w_in", "w_load", "w_bias", "w_cs", "l", "m_sink", "ibias", "cc"}
    table = runner.invoke(app, ["front", str(out)])
    assert re.search(r"\d+(\.\d+)? pF", table.output) and re.search(r"\d+(\.\d+)? uA", table.output) and "MHz" in table.output
    deck = tmp_path / "point0.cir"
    exported = runner.invoke(app, ["export", str(out), "--out", str(deck)])
    assert exported.exit_code == 0, exported.output
    best = min(FileRunStore(out).front(), key=lambda r: (r.objectives[0], r.index))  # point 0: the lowest power
    assert f"ibias={best.design['ibias']:.12g}" in deck.read_text()
    ran = subprocess.run([ngspice_binary(), "-b", str(deck)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    measured = re.search(r"^ugf_hz\s*=\s*(\S+)", ran.stdout, re.MULTILINE)
    assert measured, ran.stdout[-2000:] + ran.stderr[-2000:]
    # to 1 %: the deck's .meas interpolates between the AC sweep's points linearly in frequency, the
    # bench in log frequency (about 0.5 % apart at 20 points per decade)
    assert float(measured[1]) == pytest.approx(best.metrics["ugf_hz"], rel=1e-2)


def test_evaluate_json_agrees_with_the_bench_and_refuses_bad_values() -> None:
    runner = CliRunner()
    values = {"w_in": 30e-6, "ibias": 15e-6, "cc": 3e-12}
    result = runner.invoke(app, ["evaluate", "--circuit", str(MILLER), "--values", "w_in=30u, ibias=15u,cc=3p", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    circuit = from_text(MILLER.read_text()).circuit
    bench = open_bench(circuit, get_technology("generic180").at("tt", 27.0))
    try:
        direct = bench.evaluate(values)
    finally:
        bench.close()
    assert data["converged"] and data["design"]["cc"] == pytest.approx(3e-12) and data["design"]["l"] == pytest.approx(1e-6)
    for measure, value in direct.metrics.items():
        assert data[measure] == pytest.approx(value, rel=1e-9, nan_ok=True), measure
    for values_text, message in (
        ("cc=1n", "cc = 1 nF lies outside its range 200 fF to 10 pF"),
        ("vth=0.4", "vth is not a variable of circuit miller"),
        ("w_in", "must look like NAME=VALUE"),
        ("ibias=abc", "is not a number"),
    ):
        refused = runner.invoke(app, ["evaluate", "--circuit", str(MILLER), "--values", values_text])
        assert refused.exit_code == 1, (values_text, refused.output)
        assert message in refused.output and "Traceback" not in refused.output


def test_the_miller_opamp_is_optimized_on_sky130_to_its_specs(installed_pdk, tmp_path: Path) -> None:
    """Issue 14's acceptance run, shortened: examples/miller.yaml as written (gain >= 60 dB, GBW >=
    10 MHz, PM >= 60 deg into 2 pF) on the real sky130 models, from the gm/ID-seeded start. Every
    stored front design meets the three limits, and a fresh ngspice process (the batch back-end,
    which loads the bench's deck anew) measures the best one as the run stored it."""
    tech = installed_pdk("sky130")
    text = MILLER.read_text()
    spec = RunSpec.parse({"circuit_package": text, "circuit": str(MILLER), "technology": "sky130", "pop_size": 8, "generations": 3, "seed": 1})
    store = FileRunStore(tmp_path / "miller-sky130")
    summary = run_optimization(spec, store, workers=1)
    front = store.front()
    assert summary.status == "finished" and front, summary
    assert store.read_header()[1]["circuit_hash"] == content_hash(text)
    for record in front:
        assert record.feasible and record.metrics["gain_db"] >= 60 and record.metrics["gbw_hz"] >= 10e6 and record.metrics["phase_margin_deg"] >= 60
    best = min(front, key=lambda record: record.metrics["power_w"])
    circuit = from_text(text).circuit
    with open_bench(circuit, tech.at(), backend="batch") as bench:
        again = bench.evaluate(best.design)
    for key in ("gain_db", "gbw_hz", "phase_margin_deg", "power_w"):
        assert again.metrics[key] == pytest.approx(best.metrics[key], rel=1e-6), key
