"""The dashboard with circuit runs (a circuit package's own measures, objectives, limits and
variables) in Debian's headless Chromium, against a real ``gmopt serve`` on 127.0.0.1.

The runs are written through the SQL store as the runner writes them: each design of the Miller
op-amp (circuits/examples/miller.yaml) simulated by its real opamp bench in ngspice, scored by the
package's objectives and constraints. What the page shows is read back with the test's own
engineering-notation parser (tests/test_app_web.py) and checked against the API's numbers and
against verdicts computed here by hand from the package's limits.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from app.db import open_database, session_scope
from app.models import Run
from app.sql_store import SqlRunStore
from circuits.benches import open_bench
from circuits.model import TESTBENCH_MEASURES
from gmopt.settings import get_settings
from lut.technology import get_technology
from optimizer import circuit_problem
from optimizer.circuit_space import circuit_space
from optimizer.problem import is_feasible
from optimizer.results import circuit_design_deck, front_of
from optimizer.spec import RunSpec
from optimizer.store import EvaluationRecord
from tests.service import api_server, service_env
from tests.test_app_web import ECHARTS, PREFIX_EXPONENT, assert_no_problem_shown, browser_page, shown_value  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]
MILLER = Path(__file__).resolve().parents[1] / "circuits" / "examples" / "miller.yaml"
# Changes from the package's defaults (w 20/10/10/80 um, l 1 um, m 4, 20 uA, Cc 2 pF), each a
# design on generic180: the defaults miss PM >= 60 deg (49.6 deg); a wider, stronger second stage
# meets every limit at two powers (12.5 MHz at 364 uW, 14.6 MHz at 544 uW); a third spends more
# power for less GBW (dominated).
DESIGNS = [{}, {"cc": 2.5e-12, "m_sink": 8, "w_cs": 160e-6}, {"cc": 3e-12, "m_sink": 8, "w_cs": 160e-6, "ibias": 30e-6},
           {"cc": 4e-12, "m_sink": 10, "w_cs": 200e-6, "ibias": 40e-6}]
# The unit each opamp measure is shown in; the slew rate in V/us, as datasheets give it.
UNITS = {"gain_db": ("dB", 1), "gbw_hz": ("Hz", 1), "ugf_hz": ("Hz", 1), "phase_margin_deg": ("°", 1), "cmrr_db": ("dB", 1),
         "psrr_db": ("dB", 1), "swing_v": ("V", 1), "slew_rate_v_per_s": ("V/µs", 1e-6), "settling_time_s": ("s", 1),
         "power_w": ("W", 1), "offset_v": ("V", 1), "saturation_margin_v": ("V", 1)}
KIND_UNITS = {"w": "m", "l": "m", "ibias": "A", "c": "F", "m": ""}


def shown(text: str, unit: str) -> float:
    """The page's text read back, a bare count ("8") included."""
    return float(text) if unit == "" else shown_value(text, unit)


def stored_circuit_run(designs: list[dict[str, float]], corner: str = "tt") -> int:
    """A finished one-generation circuit run of the Miller op-amp holding these designs, scored as the runner scores them."""
    package = MILLER.read_text()
    spec = RunSpec(circuit=str(MILLER), circuit_package=package, technology="generic180", pop_size=4, generations=1,
                   seeding="random", corners=[corner])
    circuit, technology = spec.circuit_object, get_technology("generic180")
    space = circuit_space(circuit, technology)
    engine = open_database(get_settings())
    with session_scope(engine) as session:
        run = Run(status="queued", topology=spec.design_name, technology=spec.technology, spec=spec.model_dump(mode="json"),
                  seed=spec.seed, pop_size=spec.pop_size, generations=spec.generations, owner="anonymous")
        session.add(run)
        session.flush()
        run_id = run.id
    store = SqlRunStore(engine, run_id)
    nominal = {v.name: v.nominal(technology) for v in circuit.variables}
    bench = open_bench(circuit, technology.at(corner, 27.0))
    records = []
    try:
        for index, change in enumerate(designs):
            row = space.encode({**nominal, **change})
            design = space.decode(row)
            result = bench.evaluate(design).to_dict()
            metrics = circuit_problem.candidate_metrics(circuit, [result], TESTBENCH_MEASURES["opamp"])
            constraints = circuit_problem.constraints_of(circuit, metrics)
            records.append(EvaluationRecord(
                index=index, generation=0, var=row, widths_um=[], metrics=metrics,
                curves={key: value for key, value in result.items() if isinstance(value, list)},
                objectives=circuit_problem.objectives_of(circuit, metrics), constraints=constraints,
                feasible=is_feasible(constraints), converged=bool(metrics["converged"]), error=metrics["error"],
                wall_time_s=result["sim_time_s"], design=design,
            ))
    finally:
        bench.close()
    store.add_evaluations(records)
    store.complete_generation(0, b"-", 0.5, [record.index for record in front_of(records)])
    store.set_status("finished", "stored by the page test")
    return run_id


def screenshot(page: Page, tmp_path: Path, name: str) -> None:
    """Full-page screenshots to look at: under GMOPT_SCREENSHOTS when set, else the test's tmp dir."""
    folder = Path(os.environ.get("GMOPT_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=folder / f"{name}.png", full_page=True)


def test_a_circuit_run_in_the_list_the_run_view_the_point_view_and_compare(data_dir: Path, tmp_path: Path, browser_page: Page) -> None:
    page = browser_page
    first = stored_circuit_run(DESIGNS)
    second = stored_circuit_run(DESIGNS[1:3], corner="ss")
    with api_server(service_env(), tmp_path / "api.log") as url:
        run = httpx.get(f"{url}/runs/{first}").json()
        api_front = httpx.get(f"{url}/runs/{first}/front").json()
        assert run["circuit"]["name"] == "miller" and run["circuit"]["testbench"] == "opamp"
        assert run["constraint_names"] == ["gain_db >= 60", "gbw_hz >= 1e+07", "phase_margin_deg >= 60", "saturation"]
        assert sorted(p["index"] for p in api_front["data"]) == [1, 2]  # by hand: design 3 is dominated, design 0 misses PM
        assert api_front["objectives"] == ["power_w (min)", "gbw_hz (max)"]

        # the list: the circuit's name, tagged as a package run, with technology and corner
        page.goto(f"{url}/#/runs")
        row = page.locator(f"#runs tr[data-run='{first}']")
        row.wait_for()
        cells = row.locator("td")
        assert re.fullmatch(r"miller\s*circuit · opamp", cells.nth(2).inner_text())
        assert cells.nth(3).inner_text() == "generic180" and cells.nth(4).inner_text().startswith("tt ·")
        assert page.locator(f"#runs tr[data-run='{second}'] td").nth(4).inner_text().startswith("ss ·")

        # the run: the package's objectives on the axes, its limits in the facts, its front in a table
        page.goto(f"{url}/#/runs/{first}")
        page.wait_for_selector("#front tbody tr[data-index]")
        assert page.inner_text("#run-title") == f"Run #{first}: miller (circuit package) in generic180"
        assert (page.input_value("#scatter-x"), page.input_value("#scatter-y")) == ("power_w", "gbw_hz")
        scatter = page.evaluate(f"{ECHARTS.format('scatter')}")
        assert scatter["xAxis"][0]["name"] == "Power (µW), lower is better"
        assert scatter["yAxis"][0]["name"] == "Gain-bandwidth GBW (MHz), higher is better"
        assert len(next(s for s in scatter["series"] if s["id"] == "front")["data"]) == api_front["count"]
        assert_no_problem_shown(page)
        facts = page.inner_text("#run-facts")
        assert "minimise Power, maximise Gain-bandwidth GBW" in facts
        assert "DC gain ≥ 60.00 dB; Gain-bandwidth GBW ≥ 10 MHz; Phase margin ≥ 60.00°; every checked device saturated" in facts
        header = [cell.inner_text() for cell in page.locator("#front thead th").all()]
        assert header[:6] == ["Design", "Gen.", "Power", "Gain-bandwidth GBW", "DC gain", "Phase margin"]
        rows = page.locator("#front tbody tr[data-index]").all()
        assert [int(r.get_attribute("data-index")) for r in rows] == [1, 2]  # best power first
        by_index = {p["index"]: p for p in api_front["data"]}
        for r in rows:
            point = by_index[int(r.get_attribute("data-index"))]
            for name, (unit, scale) in UNITS.items():
                text = r.locator(f"td[data-column={name}]").inner_text()
                tolerance = {"abs": 0.005} if unit in ("dB", "°") else {"rel": 5e-4}
                assert shown(text, unit) == pytest.approx(point["metrics"][name] * scale, **tolerance), name
            for variable in run["circuit"]["variables"]:
                text = r.locator(f"td[data-column='design.{variable['name']}']").inner_text()
                assert shown(text, KIND_UNITS[variable["kind"]]) == pytest.approx(point["design"][variable["name"]], rel=5e-4)
        parallel = page.evaluate(f"{ECHARTS.format('parallel')}")
        expected = [f"{v['name']} ({', '.join(v['devices'])})" if v["devices"] else v["name"] for v in run["circuit"]["variables"]]
        assert [axis["name"].split("\n")[0] for axis in parallel["parallelAxis"]] == [*expected, "Power", "Gain-bandwidth GBW"]
        assert expected[0] == "w_in (mn1, mn2)"  # SPICE names are case-insensitive: the package's parser keeps them lower-case
        assert_no_problem_shown(page)
        screenshot(page, tmp_path, "circuit-run")

        # the point: the package defaults, which miss the phase margin (verdicts computed here)
        page.goto(f"{url}/#/runs/{first}/points/0")
        page.wait_for_selector("#point-metrics tbody tr[data-metric=gbw_hz]")
        api = httpx.get(f"{url}/runs/{first}/evaluations/0").json()
        m = api["metrics"]
        by_hand = {"gain_db": m["gain_db"] >= 60, "gbw_hz": m["gbw_hz"] >= 10e6, "phase_margin_deg": m["phase_margin_deg"] >= 60,
                   "saturation_margin_v": m["saturation_margin_v"] >= 0}
        assert by_hand == {"gain_db": True, "gbw_hz": True, "phase_margin_deg": False, "saturation_margin_v": True}
        for name, (unit, scale) in UNITS.items():
            metric_row = page.locator(f"#point-metrics tbody tr[data-metric={name}]")
            value = shown(metric_row.locator("td").first.inner_text(), unit)
            assert value == pytest.approx(m[name] * scale, **({"abs": 0.005} if unit in ("dB", "°") else {"rel": 5e-4})), name
            verdict = metric_row.locator("td").nth(2).inner_text()
            assert verdict == ("" if name not in by_hand else "✓ pass" if by_hand[name] else "✗ fail"), name
        assert page.inner_text("#point-metrics tbody tr[data-metric=power_w] td >> nth=1") == "minimised"
        assert page.inner_text("#point-feasible") == "infeasible"
        design_rows = {r.get_attribute("data-variable"): r.locator("td").nth(2).inner_text() for r in page.locator("#point-sizes tbody tr").all()}
        # the package's nominal values in a designer's units; a width on generic180's 90 nm lambda (20 um: 222 lambda)
        assert {name: design_rows[name] for name in ("w_in", "l", "m_sink", "ibias", "cc")} == {
            "w_in": "19.98 µm", "l": "1 µm", "m_sink": "4", "ibias": "20 µA", "cc": "2 pF"}
        for variable in run["circuit"]["variables"]:
            value = shown(design_rows[variable["name"]], KIND_UNITS[variable["kind"]])
            assert value == pytest.approx(api["design"][variable["name"]], rel=5e-4), variable["name"]
        assert page.locator("#point-neuro").is_hidden()
        assert page.inner_text("#point-netlist") == "Download deck"

        # Bode: every stored AC point, the UGF marked, the phase margin's point at -180 + PM
        bode = page.evaluate(f"{ECHARTS.format('bode')}")
        magnitude, phase = bode["series"]
        assert len(magnitude["data"]) == len(api["curves"]["freq_hz"]) == 101
        assert [line["xAxis"] for line in magnitude["markLine"]["data"] if "xAxis" in line] == [m["ugf_hz"]]
        assert phase["markPoint"]["data"][0]["coord"] == pytest.approx([m["ugf_hz"], m["phase_margin_deg"] - 180.0])
        # the step: the stored transient in the axis's own prefix, the settling time marked
        step = page.evaluate(f"{ECHARTS.format('transfer')}")
        time_unit = re.search(r"\((\w?)s\)", step["xAxis"][0]["name"])[1]
        drawn = step["series"][0]["data"]
        assert len(drawn) == len(api["curves"]["tran_time_s"]) > 10
        factor = 10.0 ** PREFIX_EXPONENT[time_unit]
        assert [t * factor for t, _ in drawn] == pytest.approx(api["curves"]["tran_time_s"], rel=1e-9, abs=1e-18)
        assert step["series"][0]["markLine"]["data"][0]["xAxis"] * factor == pytest.approx(m["settling_time_s"], rel=1e-9)
        assert math.isfinite(m["settling_time_s"]) and m["slew_rate_v_per_s"] > 0

        # the download is the deck the bench ran, with this design's values
        deck = httpx.get(f"{url}{page.get_attribute('#point-netlist', 'href')}")
        assert deck.status_code == 200 and "attachment" in deck.headers["content-disposition"]
        spec = RunSpec.model_validate(run["spec"])
        assert deck.text == circuit_design_deck(spec, api["design"])
        assert_no_problem_shown(page)
        screenshot(page, tmp_path, "circuit-point")

        # compare: both runs' fronts on the package's objectives, labelled by circuit, technology and corner
        page.goto(f"{url}/#/compare/{first},{second}")
        page.wait_for_function(f"{ECHARTS.format('compare-fronts')}?.series.length === 2")
        assert (page.input_value("#compare-x"), page.input_value("#compare-y")) == ("power_w", "gbw_hz")
        series = page.evaluate(f"{ECHARTS.format('compare-fronts')}.series.map(s => [s.name, s.data.length])")
        fronts = [httpx.get(f"{url}/runs/{run_id}/front").json()["count"] for run_id in (first, second)]
        assert [length for _, length in series] == fronts
        assert series[0][0].startswith(f"#{first} miller · generic180 · tt") and series[1][0].startswith(f"#{second} miller · generic180 · ss")
        assert_no_problem_shown(page)
        screenshot(page, tmp_path, "circuit-compare")


def test_the_new_run_form_starts_a_run_of_a_stored_circuit(tmp_path: Path, browser_page: Page) -> None:
    page = browser_page
    token = "page-circuit-token"
    with api_server(service_env(api_token=token), tmp_path / "api.log") as url:
        added = httpx.post(f"{url}/circuits", json={"text": MILLER.read_text()}, headers={"Authorization": f"Bearer {token}"})
        assert added.status_code == 201, added.text
        page.goto(f"{url}/#/new")
        page.wait_for_selector("#field-topology option[value='circuit:miller']", state="attached")
        page.fill("#token", token)
        page.dispatch_event("#token", "change")
        assert page.locator("#run-form fieldset[data-legend=Constraints]").is_visible()
        screenshot(page, tmp_path, "ota-form")
        page.select_option("#field-topology", "circuit:miller")
        # the package brings its objectives and limits: the OTA's fields go, and the hint says why
        assert page.locator("#run-form fieldset[data-legend=Constraints]").is_hidden()
        assert page.locator('#run-form .field[data-field="objectives"]').is_hidden()
        assert page.locator('#run-form .field[data-field="screen_dc"]').is_hidden()  # an OTA testbench's DC screen
        assert "its objectives, constraints and variables come from the package" in page.inner_text("#field-topology-hint")
        assert page.inner_text("#field-seeding option[value=gmid]") == "the package's nominal values and copies around them"
        page.fill("#field-pop_size", "4")
        page.fill("#field-generations", "1")
        page.click("#run-form button[type=submit]")
        page.wait_for_url(re.compile(r".*#/runs/\d+$"))
        run = httpx.get(f"{url}/runs/{int(page.url.rsplit('/', 1)[1])}").json()
        assert (run["topology"], run["circuit_id"], run["circuit_hash"]) == ("miller", added.json()["id"], added.json()["content_hash"])
        assert run["spec"]["circuit_package"] == MILLER.read_text()  # the exact stored text, as the run keeps it
        assert (run["spec"]["pop_size"], run["spec"]["generations"], run["spec"]["topology"]) == (4, 1, None)
        assert run["circuit"]["objectives"] == [{"measure": "power_w", "goal": "min"}, {"measure": "gbw_hz", "goal": "max"}]
        page.wait_for_selector("#run-title")
        assert page.inner_text("#run-title").endswith("miller (circuit package) in generic180")
        screenshot(page, tmp_path, "circuit-queued")
        page.goto(f"{url}/#/new")
        page.select_option("#field-topology", "circuit:miller")
        screenshot(page, tmp_path, "circuit-form")
